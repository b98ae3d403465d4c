package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"uswap/bench"
	"uswap/swapdev"
)

// bench usemem and bench compare: usemem's work (../shared/bench) on
// uswap's swap and on the kernel's, side by side.

// benchFlags are the flags common to usemem and compare.
type benchFlags struct {
	opts        bench.Options
	size, limit int64 // bytes
	jsonOut     string
	plotFile    string
	cpuProf     string
	design      string
}

func (f *benchFlags) register(cmd *cobra.Command, withEngine bool) {
	f.opts = bench.DefaultOptions()
	fl := cmd.Flags()
	sizeFlag(fl, &f.size, "size", "s", int64(f.opts.SizeMiB)*mib, "working set (usemem -s), a whole number of MiB")
	sizeFlag(fl, &f.limit, "limit", "l", int64(f.opts.LimitMiB)*mib, "memory limit: at most this much resident, the rest swapped; a whole number of MiB")
	fl.IntVarP(&f.opts.Passes, "passes", "p", f.opts.Passes, "passes over all pages (usemem -p), at least 1")
	fl.IntVarP(&f.opts.Threads, "threads", "t", f.opts.Threads, "threads splitting each pass (usemem -t), 1 to 64")
	fl.BoolVarP(&f.opts.Random, "random", "r", false, "visit pages in usemem's random order (Fisher-Yates, splitmix64 seed 42)")
	fl.BoolVarP(&f.opts.Write, "write", "w", false, "flip bit 0 of byte 8 of every visited page")
	fl.StringVarP(&f.opts.Pattern, "pattern", "P", f.opts.Pattern, "page content: mixed, zero or random")
	fl.StringVarP(&f.opts.Comp, "comp", "c", f.opts.Comp, "compressor of the RAM device: lz4 or zstd for uswap; what the kernel's zram offers for the kernel engine")
	fl.StringVar(&f.opts.Device, "device", f.opts.Device, "swap device: ram (compressed RAM; zram for the kernel) or file")
	fl.StringVar(&f.opts.DevicePath, "swapfile", "", "the swap file with --device file: a path that does not exist yet (made, then removed) or a swap area uswap made (reused, kept); default: one in a private temporary directory")
	fl.BoolVar(&f.opts.BlockDevice, "block-device", false, "let --swapfile be a block device holding zeros or a swap area uswap made: its content is overwritten")
	fl.IntVar(&f.opts.PageCluster, "page-cluster", -1, "swap readahead of 2^N pages, 0 to 10 (vm.page-cluster for the kernel engine, restored after); -1 keeps the default")
	fl.BoolVar(&f.opts.ShareSwap, "share-swap", false, "kernel engine: run even while the host has other swap active (the bench's device goes first; see the help)")
	addJSONFlag(cmd, &f.jsonOut)
	fl.StringVar(&f.plotFile, "plot", "", "draw pages/s per pass and the fault-latency distribution into this PNG file")
	fl.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the run (go tool pprof) into this file")
	addDesignFlag(fl, &f.design, false)
	if withEngine {
		fl.StringVar(&f.opts.Engine, "engine", "uswap", "uswap (embedded, no root) or kernel (anonymous memory in a memory cgroup, a zram device of its own as swap; needs root)")
	}
}

// options checks every flag into bench.Options before any work: usage
// errors (status 2) name the flag and what it accepts. engines are the
// engines that will run.
func (f *benchFlags) options(cmd *cobra.Command, engines ...string) (bench.Options, error) {
	o := f.opts
	if f.size%mib != 0 || f.limit%mib != 0 {
		return o, usagef("--size %s and --limit %s: must be whole numbers of MiB", formatSize(f.size), formatSize(f.limit))
	}
	o.SizeMiB, o.LimitMiB = uint64(f.size/mib), uint64(f.limit/mib)
	if o.Device != bench.DeviceFile && (o.DevicePath != "" || o.BlockDevice) {
		return o, usagef("--swapfile and --block-device go with --device file")
	}
	d, err := parseDesign(f.design)
	if err != nil {
		return o, err
	}
	o.Design = d
	o.Progress = showProgress(cmd, f.jsonOut)
	for _, e := range engines {
		o.Engine = e
		if err := o.Validate(); err != nil {
			return o, usagef("bench: %s", strings.TrimPrefix(err.Error(), bench.ErrOption.Error()+": "))
		}
	}
	if err := bench.CheckSwapFile(o); err != nil {
		return o, usagef("--swapfile: %v", err)
	}
	if err := checkBenchMemory(o); err != nil {
		return o, err
	}
	for _, c := range []struct{ flag, path string }{{"plot", f.plotFile}, {"cpuprofile", f.cpuProf}} {
		if err := checkOutput(c.flag, c.path); err != nil {
			return o, err
		}
	}
	if err := checkJSONFlag(f.jsonOut); err != nil {
		return o, err
	}
	if o.LimitMiB >= o.SizeMiB {
		fmt.Fprintf(cmd.ErrOrStderr(), "uswap bench: warning: --limit %d MiB is not below --size %d MiB: nothing will swap\n", o.LimitMiB, o.SizeMiB)
	}
	return o, nil
}

// compressedShare is about how much of a page the RAM device keeps, per
// pattern (same-filled zero pages keep almost nothing, random pages do
// not compress).
var compressedShare = map[string]float64{"zero": 0.02, "mixed": 0.3, "random": 1.05}

// checkBenchMemory checks that the working set fits this machine: the
// limit (resident pages, plus the uswap engine's slack) and the
// compressed swap in RAM, or the swap file on its filesystem.
func checkBenchMemory(o bench.Options) error {
	size, limit := int64(o.SizeMiB)*mib, int64(o.LimitMiB)*mib
	need := limit + limit/8 + 64*mib
	what := "the limit"
	if o.Device == bench.DeviceRAM {
		need += int64(float64(size) * compressedShare[o.Pattern])
		what = fmt.Sprintf("the limit plus the compressed swap of %s pages", o.Pattern)
	} else {
		dir := os.TempDir()
		if o.DevicePath != "" {
			dir = filepath.Dir(o.DevicePath)
		}
		if err := checkDisk("size", formatSize(size), dir, size+32*mib); err != nil {
			return err
		}
	}
	return checkRAM("size", fmt.Sprintf("%s (with --limit %s)", formatSize(size), formatSize(limit)), need, what)
}

// showProgress is true when standard output and standard error are both
// terminals, and output is not JSON.
func showProgress(cmd *cobra.Command, jsonOut string) bool {
	if jsonOnly(jsonOut) {
		return false
	}
	return cmd.OutOrStdout() == os.Stdout && term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stderr.Fd()))
}

// kernelChild is the command the kernel engine re-executes in its
// memory cgroup.
func kernelChild() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: finding this executable for the kernel engine's child: %w", err)
	}
	return []string{exe, "bench", "usemem", "--child"}, nil
}

// checkKernel is what must hold before the kernel engine starts: root,
// zram, a memory cgroup, and no other swap unless --share-swap.
func checkKernel(o bench.Options) error {
	if err := bench.KernelAvailable(); err != nil {
		return err
	}
	return bench.CheckOtherSwap(o.ShareSwap)
}

// runEngine runs one engine on o. A second interrupt undoes what it
// set up on the host (o.Undo) before the process exits.
func runEngine(ctx context.Context, name string, o bench.Options) (*bench.Report, error) {
	child, err := kernelChild()
	if err != nil {
		return nil, err
	}
	e, err := bench.NewEngine(name, child)
	if err != nil {
		return nil, usagef("bench: %v", err)
	}
	o.Engine = name
	o.Undo = new(bench.Undo)
	defer onForcedStop(ctx, func() {
		if err := o.Undo.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "uswap: %v\n", err)
		}
	})()
	var progress bench.Progress
	if o.Progress && name != "kernel" { // the kernel engine's child draws its own
		progress = bench.NewBar(os.Stderr)
	}
	rep, err := bench.Run(ctx, e, o, progress)
	if errors.Is(err, bench.ErrOption) {
		return rep, usagef("bench: %v", err)
	}
	return rep, err
}

const benchHostHelp = `
What it touches on the host: the uswap engine, nothing but its own
memory and, with --device file, its swap file (see --swapfile). The kernel
engine needs root and adds a zram device of its own (hot_add, removed with
hot_remove after) or swaps on its swap file, at priority 32767; makes a
memory cgroup uswap-bench-PID (v1 or v2) and removes it; with
--page-cluster sets vm.page-cluster and writes the old value back. It never
touches a zram device or swap area it did not add. While other swap is
active it refuses to run (the kernel would spread the workload over it),
unless --share-swap: then its device goes first, the host's own swap-outs
during the run may land on it, and swapping it off at the end moves them
back to RAM. Everything is undone on every way out: success, an error, a
panic, Ctrl-C (stops at a clean point and prints what ran, exit 130) and a
second Ctrl-C (undoes at once and exits 130); only a SIGKILL of uswap
leaves them (the README says how to remove them by hand).

Exit status: 0 done, 1 a page came back wrong (corrupt>0), 2 a bad flag,
3 any other error, 130 interrupted.`

func init() { addCommand(newBenchCmd) }

func newBenchCmd() *cobra.Command {
	benchCmd := &cobra.Command{
		Use:   "bench",
		Short: "usemem's work on uswap and on the kernel's swap, side by side",
		Long: `Benchmarks with the work of ../shared/bench/usemem.c: --size of anonymous
pages filled with a deterministic pattern, at most --limit resident, then
passes that read (or write) one word per page and check it. The last line of
every run has the form of usemem's result line.`,
	}
	benchCmd.AddCommand(useMemCmd(), compareCmd(), compareDesignsCmd())
	return benchCmd
}

func useMemCmd() *cobra.Command {
	var f benchFlags
	var child bool
	cmd := &cobra.Command{
		Use:   "usemem",
		Short: "run usemem's work on one engine (uswap, or kernel: needs root)",
		Long: `Run usemem's work on one engine: uswap (embedded, no root, no set-up) or,
with --engine kernel, the Linux kernel's own swap (needs root).
` + benchHostHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if child {
				return bench.ServeChild(cmd.Context(), os.Stdin, os.Stdout, bench.NewBar(os.Stderr))
			}
			o, err := f.options(cmd, f.opts.Engine)
			if err != nil {
				return err
			}
			if o.Engine == "kernel" {
				if err := checkKernel(o); err != nil {
					return err
				}
			}
			return runBench(cmd, f, "bench usemem", func(ctx context.Context) ([]*bench.Report, error) {
				rep, err := runEngine(ctx, o.Engine, o)
				return []*bench.Report{rep}, err
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&child, "child", false, "internal: serve the kernel engine as its child in the memory cgroup")
	_ = cmd.Flags().MarkHidden("child")
	return cmd
}

func compareCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "run usemem's work on the kernel engine, then on uswap, and print the ratio (needs root)",
		Long: `Run usemem's work on the kernel engine (needs root), then on uswap, with the
same flags, and print both reports and the ratio of uswap's pages/s to the
kernel's.
` + benchHostHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd, "kernel", "uswap")
			if err != nil {
				return err
			}
			if err := checkKernel(o); err != nil { // before the long kernel run
				return fmt.Errorf("bench compare: %w", err)
			}
			return runBench(cmd, f, "bench compare", func(ctx context.Context) ([]*bench.Report, error) {
				k, err := runEngine(ctx, "kernel", o)
				if err != nil || k.Interrupted {
					return []*bench.Report{k}, err
				}
				u, err := runEngine(ctx, "uswap", o)
				return []*bench.Report{k, u}, err
			})
		},
	}
	f.register(cmd, false)
	return cmd
}

// runBench runs the engines under a CPU profile, then prints the reports
// (the ones that ran, when interrupted), writes the plot and the JSON,
// and returns the exit status's error.
func runBench(cmd *cobra.Command, f benchFlags, name string, run func(context.Context) ([]*bench.Report, error)) error {
	stop, err := startCPUProfile(f.cpuProf)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	reps, err := run(ctx)
	if perr := stop(); err == nil {
		err = perr
	}
	var done []*bench.Report
	for _, r := range reps {
		if r != nil {
			done = append(done, r)
		}
	}
	if len(done) > 0 {
		if perr := printReports(cmd.OutOrStdout(), f, name, done...); err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	var corrupt uint64
	for _, r := range done {
		corrupt += r.Corrupt
	}
	if corrupt > 0 {
		return failedf("bench: corrupt pages: %d visits read a wrong index", corrupt)
	}
	if done[len(done)-1].Interrupted || ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// compareJSON is compare's --json output.
type compareJSON struct {
	Kernel      *bench.Report `json:"kernel"`
	Uswap       *bench.Report `json:"uswap,omitempty"`
	Ratio       float64       `json:"ratio_uswap_kernel"`
	Interrupted bool          `json:"interrupted,omitempty"`
}

// printReports prints one report (usemem) or the kernel's and uswap's
// with their ratio (compare), as text or JSON, and draws the plot.
func printReports(w io.Writer, f benchFlags, name string, reps ...*bench.Report) error {
	if f.plotFile != "" {
		if err := writeOutput(f.plotFile, func(w io.Writer) error { return bench.Plot(w, reps...) }); err != nil {
			return err
		}
	}
	var v any = reps[0]
	if name == "bench compare" {
		c := compareJSON{Kernel: reps[0], Interrupted: reps[len(reps)-1].Interrupted || len(reps) < 2}
		if len(reps) == 2 {
			c.Uswap, c.Ratio = reps[1], ratioOf(reps[1], reps[0])
		}
		v = c
	}
	if err := emitJSON(w, f.jsonOut, name, v); err != nil || jsonOnly(f.jsonOut) {
		return err
	}
	for i, r := range reps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := r.WriteText(w); err != nil {
			return err
		}
	}
	if len(reps) == 2 {
		_, err := fmt.Fprintf(w, "\nratio uswap/kernel=%.2f\n", ratioOf(reps[1], reps[0]))
		return err
	}
	if name == "bench compare" {
		_, err := fmt.Fprintln(w, "\ninterrupted: the uswap engine did not run")
		return err
	}
	return nil
}

func ratioOf(a, b *bench.Report) float64 {
	if b.PagesPerS == 0 {
		return 0
	}
	return a.PagesPerS / b.PagesPerS
}

// startCPUProfile starts a CPU profile into path, if one is asked for, and
// returns the function that stops it and puts the file in place.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	p, err := createOutput(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(p); err != nil {
		p.Abort()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return p.Commit()
	}, nil
}

// compressorNames are the compressors the RAM devices know, for
// completion: uswap's and, where readable, the kernel's zram's.
func compressorNames() []string {
	names := append([]string(nil), swapdev.Compressors...)
	for _, c := range bench.KernelCompressors() {
		if !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	return names
}

// designRowSets are compare-designs' --rows: which of bench.DesignRows.
var designRowSets = map[string]func(all []bench.DesignRow) []bench.DesignRow{
	"all":    func(all []bench.DesignRow) []bench.DesignRow { return all },
	"usemem": func(all []bench.DesignRow) []bench.DesignRow { return all[:4] },
	"swapin": func(all []bench.DesignRow) []bench.DesignRow { return all[4:] },
}

// designsFlags are compare-designs' flags.
type designsFlags struct {
	opts        bench.Options
	size, limit int64 // bytes
	rounds      int
	rows        string
	jsonOut     string
}

func compareDesignsCmd() *cobra.Command {
	f := designsFlags{opts: bench.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "compare-designs",
		Short: "run usemem's rows and the swap-in benchmark on uswap in both swap core designs, side by side",
		Long: `compare-designs runs, on the uswap engine, usemem's four rows (sequential
and random, one and two threads, --size in --limit) and the swap-in
benchmark's two (sequential and random, a 16 MiB working set in a 4 MiB
cgroup, one thread: BenchmarkSwapin's set-up), each in the classic and the
table design of the swap core (docs/swap-table.md), --rounds times,
alternating which design runs first. It prints per row and design the
median pages/s (and the table design's as a ratio to the classic one's),
the CPU time per page visited, the fault latency percentiles, and the swap
core's metadata bytes per free and per used slot.

What it touches on the host: nothing but its own memory and, with
--device file, its swap file (as bench usemem's uswap engine). Ctrl-C stops
at a clean point and prints the rows that ran whole.

Exit status: 0 done, 1 a page came back wrong (corrupt>0), 2 a bad flag,
3 any other error, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCompareDesigns(cmd, f) },
	}
	fl := cmd.Flags()
	o := &f.opts
	sizeFlag(fl, &f.size, "size", "s", int64(o.SizeMiB)*mib, "usemem rows' working set, a whole number of MiB")
	sizeFlag(fl, &f.limit, "limit", "l", int64(o.LimitMiB)*mib, "usemem rows' memory limit, a whole number of MiB")
	fl.IntVarP(&o.Passes, "passes", "p", o.Passes, "passes over all pages per run, at least 1")
	fl.StringVarP(&o.Pattern, "pattern", "P", o.Pattern, "page content: mixed, zero or random")
	fl.StringVarP(&o.Comp, "comp", "c", o.Comp, "compressor of the RAM device: lz4 or zstd")
	fl.StringVar(&o.Device, "device", o.Device, "swap device: ram (compressed RAM) or file")
	fl.StringVar(&o.DevicePath, "swapfile", "", "the swap file with --device file: a path that does not exist yet (made, then removed, by each run) or a swap area uswap made; default: one in a private temporary directory")
	fl.IntVar(&o.PageCluster, "page-cluster", -1, "swap readahead of 2^N pages, 0 to 10; -1 keeps the default")
	fl.IntVar(&f.rounds, "rounds", 2, "rounds of each row in each design, 1 to 100, alternating which design runs first")
	fl.StringVar(&f.rows, "rows", "all", "which rows: usemem, swapin or all")
	addJSONFlag(cmd, &f.jsonOut)
	return cmd
}

// check validates every flag into the rows to run.
func (f designsFlags) check() ([]bench.DesignRow, error) {
	o := f.opts
	if f.size%mib != 0 || f.limit%mib != 0 {
		return nil, usagef("--size %s and --limit %s: must be whole numbers of MiB", formatSize(f.size), formatSize(f.limit))
	}
	o.SizeMiB, o.LimitMiB, o.Engine = uint64(f.size/mib), uint64(f.limit/mib), "uswap"
	if o.Device != bench.DeviceFile && o.DevicePath != "" {
		return nil, usagef("--swapfile goes with --device file")
	}
	if f.rounds < 1 || f.rounds > 100 {
		return nil, usagef("--rounds %d: must be 1 to 100", f.rounds)
	}
	pick, ok := designRowSets[f.rows]
	if !ok {
		return nil, usagef("--rows %q: want usemem, swapin or all", f.rows)
	}
	rows := pick(bench.DesignRows(o))
	for _, row := range rows {
		if err := row.Options.Validate(); err != nil {
			return nil, usagef("bench: %s", strings.TrimPrefix(err.Error(), bench.ErrOption.Error()+": "))
		}
		if err := checkBenchMemory(row.Options); err != nil {
			return nil, err
		}
	}
	if err := bench.CheckSwapFile(o); err != nil {
		return nil, usagef("--swapfile: %v", err)
	}
	return rows, checkJSONFlag(f.jsonOut)
}

func runCompareDesigns(cmd *cobra.Command, f designsFlags) error {
	rows, err := f.check()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	text := !jsonOnly(f.jsonOut)
	var log io.Writer
	if text {
		log = cmd.ErrOrStderr()
	}
	cmp, err := bench.CompareDesigns(cmd.Context(), rows, f.rounds, func(ctx context.Context, o bench.Options) (*bench.Report, error) {
		return runEngine(ctx, "uswap", o)
	}, log)
	if err != nil {
		return err
	}
	if text {
		if err := cmp.WriteText(out); err != nil {
			return err
		}
		if cmp.Interrupted {
			fmt.Fprintf(out, "interrupted: %d of %d rows ran whole\n", len(cmp.Rows), len(rows))
		}
	}
	if err := emitJSON(out, f.jsonOut, "bench compare-designs", cmp); err != nil {
		return err
	}
	if n := cmp.Corrupt(); n > 0 {
		return failedf("bench: corrupt pages: %d visits read a wrong index", n)
	}
	if cmp.Interrupted {
		return errInterrupted
	}
	return nil
}
