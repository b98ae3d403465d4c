package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"uswap/bench"
)

// bench usemem and bench compare: usemem's work (../shared/bench) on
// uswap's swap and on the kernel's, side by side.

// benchFlags are the flags common to usemem and compare.
type benchFlags struct {
	opts     bench.Options
	swapfile string
	jsonOut  bool
	plotFile string
	cpuProf  string
}

func (f *benchFlags) register(cmd *cobra.Command, withEngine bool) {
	f.opts = bench.DefaultOptions()
	fl := cmd.Flags()
	fl.Uint64VarP(&f.opts.SizeMiB, "size", "s", f.opts.SizeMiB, "working set in MiB (usemem -s)")
	fl.Uint64VarP(&f.opts.LimitMiB, "limit", "l", f.opts.LimitMiB, "memory limit in MiB: at most this much resident, the rest swapped")
	fl.IntVarP(&f.opts.Passes, "passes", "p", f.opts.Passes, "passes over all pages (usemem -p)")
	fl.IntVarP(&f.opts.Threads, "threads", "t", f.opts.Threads, "threads splitting each pass (usemem -t, 1-64)")
	fl.BoolVarP(&f.opts.Random, "random", "r", false, "visit pages in usemem's random order (Fisher-Yates, splitmix64 seed 42)")
	fl.BoolVarP(&f.opts.Write, "write", "w", false, "flip bit 0 of byte 8 of every visited page")
	fl.StringVarP(&f.opts.Pattern, "pattern", "P", f.opts.Pattern, "page content: mixed, zero or random")
	fl.StringVarP(&f.opts.Comp, "comp", "c", f.opts.Comp, "compressor of the RAM device: lz4 or zstd")
	fl.StringVar(&f.opts.Device, "device", f.opts.Device, "swap device: ram (compressed RAM, zram for the kernel) or file")
	fl.StringVar(&f.swapfile, "swapfile", "uswap-bench.swap", "the swap file with --device file (made and removed by the bench)")
	fl.IntVar(&f.opts.PageCluster, "page-cluster", -1, "swap readahead: 2^N pages (vm.page-cluster); -1 keeps the default")
	fl.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fl.StringVar(&f.plotFile, "plot", "", "draw pages/s per pass and the fault-latency distribution into this PNG file")
	fl.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the run (go tool pprof) into this file")
	if withEngine {
		fl.StringVar(&f.opts.Engine, "engine", "uswap", "uswap (embedded, no root) or kernel (anonymous memory in a memory cgroup, zram as swap; needs root)")
	}
}

// options validates the flags into bench.Options.
func (f *benchFlags) options(cmd *cobra.Command) (bench.Options, error) {
	o := f.opts
	if o.Device == bench.DeviceFile {
		o.DevicePath = f.swapfile
	}
	o.Progress = showProgress(cmd)
	if err := o.Validate(); err != nil {
		return o, usagef("bench: %v", err)
	}
	if o.LimitMiB >= o.SizeMiB {
		fmt.Fprintf(cmd.ErrOrStderr(), "uswap bench: warning: limit %d MiB is not below size %d MiB: nothing will swap\n", o.LimitMiB, o.SizeMiB)
	}
	return o, nil
}

// showProgress is true when standard output and standard error are both
// terminals, and output is not JSON.
func showProgress(cmd *cobra.Command) bool {
	if j, _ := cmd.Flags().GetBool("json"); j {
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

// runEngine runs one engine on o.
func runEngine(name string, o bench.Options) (*bench.Report, error) {
	child, err := kernelChild()
	if err != nil {
		return nil, err
	}
	e, err := bench.NewEngine(name, child)
	if err != nil {
		return nil, usagef("bench: %v", err)
	}
	o.Engine = name
	var progress bench.Progress
	if o.Progress && name != "kernel" { // the kernel engine's child draws its own
		progress = bench.NewBar(os.Stderr)
	}
	return bench.Run(e, o, progress)
}

// errCorrupt makes the exit status 1 when a check failed, like usemem.
var errCorrupt = errors.New("bench: corrupt pages: some visits read a wrong index")

func init() {
	benchCmd := &cobra.Command{
		Use:   "bench",
		Short: "usemem's work on uswap and on the kernel's swap, side by side",
		Long: `Benchmarks with the work of ../shared/bench/usemem.c: SIZE MiB of anonymous
pages filled with a deterministic pattern, at most LIMIT MiB resident, then
passes that read (or write) one word per page and check it. The last line of
every run has the form of usemem's result line.`,
	}
	rootCmd.AddCommand(benchCmd)
	benchCmd.AddCommand(useMemCmd(), compareCmd())
}

func useMemCmd() *cobra.Command {
	var f benchFlags
	var child bool
	cmd := &cobra.Command{
		Use:   "usemem",
		Short: "run usemem's work on one engine (uswap or kernel)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if child {
				return bench.ServeChild(os.Stdin, os.Stdout, bench.NewBar(os.Stderr))
			}
			o, err := f.options(cmd)
			if err != nil {
				return err
			}
			stop, err := startCPUProfile(f.cpuProf)
			if err != nil {
				return err
			}
			rep, err := runEngine(o.Engine, o)
			stop()
			if err != nil {
				return err
			}
			if err := printReports(cmd.OutOrStdout(), f, rep); err != nil {
				return err
			}
			if rep.Corrupt > 0 {
				return errCorrupt
			}
			return nil
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
		Short: "run usemem's work on the kernel engine, then on uswap, and print the ratio",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd)
			if err != nil {
				return err
			}
			if err := bench.UswapAvailable(); err != nil { // fail before the long kernel run
				return fmt.Errorf("bench compare: %w", err)
			}
			if err := bench.KernelAvailable(); err != nil {
				return fmt.Errorf("bench compare: %w", err)
			}
			k, err := runEngine("kernel", o)
			if err != nil {
				return fmt.Errorf("bench compare: kernel engine: %w", err)
			}
			u, err := runEngine("uswap", o)
			if err != nil {
				return fmt.Errorf("bench compare: uswap engine: %w", err)
			}
			if err := printReports(cmd.OutOrStdout(), f, k, u); err != nil {
				return err
			}
			if k.Corrupt+u.Corrupt > 0 {
				return errCorrupt
			}
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

// compareJSON is compare's --json output.
type compareJSON struct {
	Kernel *bench.Report `json:"kernel"`
	Uswap  *bench.Report `json:"uswap"`
	Ratio  float64       `json:"ratio_uswap_kernel"`
}

// printReports prints one report (usemem) or the kernel's and uswap's
// with their ratio (compare), as text or JSON, and draws the plot.
func printReports(w io.Writer, f benchFlags, reps ...*bench.Report) error {
	if f.plotFile != "" {
		if err := bench.Plot(f.plotFile, reps...); err != nil {
			return err
		}
	}
	if f.jsonOut {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(reps) == 1 {
			return enc.Encode(reps[0])
		}
		return enc.Encode(compareJSON{reps[0], reps[1], ratioOf(reps[1], reps[0])})
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
	return nil
}

func ratioOf(a, b *bench.Report) float64 {
	if b.PagesPerS == 0 {
		return 0
	}
	return a.PagesPerS / b.PagesPerS
}

// startCPUProfile starts a CPU profile into path, if one is asked for, and
// returns the function that stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
