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
	"uswap/fixes"
	"uswap/swapdev"
	"uswap/workload"
)

// bench usemem and bench compare: usemem's work (../shared/bench) on
// uswap's swap and on the kernel's, side by side.

// benchFlags are the flags common to usemem and compare.
type benchFlags struct {
	opts        bench.Options
	fixes       fixFlags
	size, limit int64 // bytes
	jsonOut     string
	plotFile    string
	cpuProf     string
	design      string
	bgReclaim   string // on, off, or (compare) both
	rounds      int    // compare
}

// bgReclaimWords are --memcg-bg-reclaim's values.
var bgReclaimWords = map[string][]bool{"on": {true}, "off": {false}, "both": {true, false}}

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
	fl.StringVarP(&f.opts.Comp, "comp", "c", f.opts.Comp, "compressor of the RAM device: "+strings.Join(swapdev.Compressors, ", ")+" for uswap (`uswap bench comp` measures them); what the kernel's zram offers for the kernel engine")
	fl.StringVar(&f.opts.Device, "device", f.opts.Device, "swap device: ram (compressed RAM; zram for the kernel) or file")
	fl.StringVar(&f.opts.DevicePath, "swapfile", "", "the swap file with --device file: a path that does not exist yet (made, then removed) or a swap area uswap made (reused, kept); default: one in a private temporary directory")
	fl.BoolVar(&f.opts.BlockDevice, "block-device", false, "let --swapfile be a block device holding zeros or a swap area uswap made: its content is overwritten")
	fl.IntVar(&f.opts.PageCluster, "page-cluster", -1, "swap readahead of 2^N pages, 0 to 10 (vm.page-cluster for the kernel engine, restored after); -1 keeps the default")
	fl.BoolVar(&f.opts.ShareSwap, "share-swap", false, "kernel engine: run even while the host has other swap active (the bench's device goes first; see the help)")
	addJSONFlag(cmd, &f.jsonOut)
	fl.StringVar(&f.plotFile, "plot", "", "draw pages/s per pass and the fault-latency distribution into this PNG file")
	fl.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the run (go tool pprof) into this file")
	addDesignFlag(fl, &f.design, false)
	f.fixes.register(fl)
	if withEngine {
		fl.StringVar(&f.opts.Engine, "engine", "uswap", "uswap (embedded, no root), kernel (anonymous memory in a memory cgroup, a zram device of its own as swap; needs root) or realmem (real memory paged by uswap through a userfaultfd; needs userfaultfd)")
		fl.StringVar(&f.bgReclaim, "memcg-bg-reclaim", "on", "uswap's background memcg reclaim near the limit, on or off (off: the faulting task reclaims, as in the kernel); the kernel engine ignores it")
	} else {
		fl.StringVar(&f.bgReclaim, "memcg-bg-reclaim", "both", "uswap's background memcg reclaim near the limit: on, off, or both (each round runs uswap with it on and with it off)")
		fl.IntVar(&f.rounds, "rounds", 5, "rounds, each running every engine in turn (kernel, uswap, kernel, uswap, ...), 1 to 100")
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
	bg, ok := bgReclaimWords[f.bgReclaim]
	if !ok || (len(bg) > 1 && cmd.Flags().Lookup("rounds") == nil) {
		want := "on or off"
		if cmd.Flags().Lookup("rounds") != nil {
			want = "on, off or both"
		}
		return o, usagef("--memcg-bg-reclaim %q: want %s", f.bgReclaim, want)
	}
	o.MemcgBgReclaim = bg[0]
	if fl := cmd.Flags().Lookup("rounds"); fl != nil && (f.rounds < 1 || f.rounds > 100) {
		return o, usagef("--rounds %d: want 1 to 100", f.rounds)
	}
	if o.Fixes, err = f.fixes.set(); err != nil {
		return o, err
	}
	if o.Fixes != (fixes.Set{}) && slices.Contains(engines, "kernel") && !slices.Contains(engines, "uswap") {
		return o, usagef("--fix and --revert choose uswap's code; the kernel engine runs the kernel's")
	}
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
memory cgroup uswap-bench-PID (v1 or v2; with v1 also a cpuacct cgroup of
the same name, to read its CPU time) and removes it; with
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
	benchCmd.AddCommand(useMemCmd(), compareCmd(), compareDesignsCmd(), compCmd(), swapinCmd())
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
			switch o.Engine {
			case "kernel":
				if err := checkKernel(o); err != nil {
					return err
				}
			case "realmem":
				if err := bench.RealmemAvailable(); err != nil {
					return err
				}
			}
			return runBench(cmd, f, "bench usemem", func(ctx context.Context) ([]*bench.Report, error) {
				w := bench.WatchMachine(bench.OwnThreads(o))
				rep, err := runEngine(ctx, o.Engine, o)
				m := w.Stop()
				if rep != nil {
					rep.Machine = &m
				}
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
		Short: "run usemem's work on the kernel engine, uswap and realmem in alternate rounds, and print the figures and ratios (needs root)",
		Long: `Run usemem's work on the kernel engine (needs root) and on uswap, with the
same flags, in --rounds rounds: each round runs the kernel engine, then
uswap (with --memcg-bg-reclaim both, uswap with its background memcg
reclaim on, then off), then realmem (real memory paged by uswap through a
userfaultfd; left out, saying why, where userfaultfd is missing), so that a change in the machine's speed hits every
engine alike. It prints a line per run, the compressor's own cost on the
same pages, the machine (CPU, cores, kernel, load before, during and
after, and whether the figures are to be trusted), and for each engine
the median pages/s with its range, CPU time per page (user and system),
the fraction of the compressor's bound reached, and the median of the
per-round ratios of uswap's pages/s to the kernel's, with its range.
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
			variants := []bench.Variant{{Engine: "kernel"}}
			for _, bg := range bgReclaimWords[f.bgReclaim] {
				variants = append(variants, bench.Variant{Engine: "uswap", MemcgBgReclaim: bg})
			}
			if rerr := bench.RealmemAvailable(); rerr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "uswap bench compare: realmem left out: %v\n", rerr)
			} else {
				variants = append(variants, bench.Variant{Engine: "realmem"})
			}
			return runCompare(cmd, f, o, variants)
		},
	}
	f.register(cmd, false)
	return cmd
}

// runCompare runs the comparison under a CPU profile, prints it (what
// ran, when interrupted), writes the plot (of the last round) and the
// JSON, and returns the exit status's error.
func runCompare(cmd *cobra.Command, f benchFlags, o bench.Options, variants []bench.Variant) error {
	stop, err := startCPUProfile(f.cpuProf)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	w := cmd.OutOrStdout()
	// The text goes out as the runs end: a comparison takes minutes.
	var onRun func(string)
	if !jsonOnly(f.jsonOut) {
		fmt.Fprintln(w, bench.HeaderLine(o, f.rounds))
		onRun = func(line string) { fmt.Fprintln(w, line) }
	}
	c, err := bench.Compare(ctx, o, f.rounds, variants, runEngine, onRun)
	if perr := stop(); err == nil {
		err = perr
	}
	if c != nil && len(c.Runs) > 0 {
		if perr := printComparison(w, f, c, len(variants)); err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	if n := c.Corrupt(); n > 0 {
		return failedf("bench: corrupt pages: %d visits read a wrong index", n)
	}
	if c.Interrupt || ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// printComparison prints the comparison as text or JSON and draws the
// last round's runs.
func printComparison(w io.Writer, f benchFlags, c *bench.Comparison, perRound int) error {
	if f.plotFile != "" {
		last := c.Runs[max(len(c.Runs)-perRound, 0):]
		if err := writeOutput(f.plotFile, func(w io.Writer) error { return bench.Plot(w, last...) }); err != nil {
			return err
		}
	}
	if err := emitJSON(w, f.jsonOut, "bench compare", c); err != nil || jsonOnly(f.jsonOut) {
		return err
	}
	return c.WriteTail(w) // the header and the runs' lines went out as they ran
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

// printReports prints usemem's report as text or JSON, and draws the
// plot.
func printReports(w io.Writer, f benchFlags, name string, reps ...*bench.Report) error {
	if f.plotFile != "" {
		if err := writeOutput(f.plotFile, func(w io.Writer) error { return bench.Plot(w, reps...) }); err != nil {
			return err
		}
	}
	if err := emitJSON(w, f.jsonOut, name, reps[0]); err != nil || jsonOnly(f.jsonOut) {
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
	return nil
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

func compCmd() *cobra.Command {
	var (
		size    int64
		pattern string
		jsonOut string
	)
	cmd := &cobra.Command{
		Use:   "comp",
		Short: "measure every compressor of uswap's RAM device on usemem's pages: ratio, compress and decompress CPU time per page",
		Long: `Measure each compressor uswap's RAM device offers (--comp) on a sample of
usemem's pages (2048 pages spread over --size, with --pattern's content),
with the code the device runs, in the measuring thread's CPU time (the
median of five rounds): the compression ratio, and the compress and
decompress time per page. The lz4 row is the bound bench reports set
their figures beside. It needs nothing and touches nothing on the host.

Exit status: 0 done, 2 a bad flag, 3 any other error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if size <= 0 || size%mib != 0 {
				return usagef("--size %s: a whole number of MiB, at least 1", formatSize(size))
			}
			if _, err := workload.ParsePattern(pattern); err != nil {
				return usagef("--pattern %q: want mixed, zero or random", pattern)
			}
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			pages := uint64(size) / bench.PageSize
			var out compJSON
			for _, c := range swapdev.Compressors {
				cc, err := bench.MeasureCompCost(c, pattern, pages)
				if err != nil {
					return err
				}
				out.Compressors = append(out.Compressors, cc)
			}
			out.Pattern, out.SizeMiB = pattern, uint64(size/mib)
			w := cmd.OutOrStdout()
			if err := emitJSON(w, jsonOut, "bench comp", out); err != nil || jsonOnly(jsonOut) {
				return err
			}
			for _, cc := range out.Compressors {
				per := (cc.CompressNs + cc.DecompressNs) / 1e3
				fmt.Fprintf(w, "comp=%-9s ratio=%5.2f compress_us=%6.3f decompress_us=%6.3f per_page_us=%6.3f compress_mb_s=%5.0f decompress_mb_s=%5.0f impl=%q\n",
					cc.Comp, cc.Ratio, cc.CompressNs/1e3, cc.DecompressNs/1e3, per,
					mbPerS(cc.CompressNs), mbPerS(cc.DecompressNs), cc.Impl)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	sizeFlag(fl, &size, "size", "s", 1024*mib, "working set the sample pages are spread over (usemem -s)")
	fl.StringVarP(&pattern, "pattern", "P", "mixed", "page content: mixed, zero or random")
	addJSONFlag(cmd, &jsonOut)
	return cmd
}

// compJSON is bench comp's --json output.
type compJSON struct {
	Pattern     string           `json:"pattern"`
	SizeMiB     uint64           `json:"size_mib"`
	Compressors []bench.CompCost `json:"compressors"`
}

// mbPerS is MB/s (10^6 bytes) of pages handled at ns per page.
func mbPerS(ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	return bench.PageSize / ns * 1e3
}
