package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"uswap/bench"
)

// bench swapin: seed 000's microbenchmark (package bench, Swapin).

func swapinCmd() *cobra.Command {
	o := bench.DefaultSwapinOptions()
	var (
		size    int64
		path    string
		rounds  int
		jsonOut string
		fx      fixFlags
	)
	cmd := &cobra.Command{
		Use:   "swapin [--size 256M] [--threads N] [--path bypass|cache] [--fix swapcache=VARIANT]",
		Short: "seed 000's swap-in microbenchmark: push a working set out to zram, time reading it back",
		Long: `Fill a working set, push all of it out to a compressed RAM device (zram)
with MADV_PAGEOUT, then read every page back once, timing only the
read-back: what seed 000's thread measured ("swapin 10G from 32G zram")
to price its fix. --threads N readers each read every page in the same
order, so that with two they fault on the same pages at once and the
variant's racers (--fix swapcache=VARIANT; uswap explore --list) pay what
they pay. --path cache clears the device's SWP_SYNCHRONOUS_IO, so that
swap-ins go through the swap cache with readahead (the commit's "Cached"
figure); --path bypass leaves the choice to the variant.

--rounds R reads back R times, each on a fresh machine, and prints the
median. Output: pages/s and CPU time (user and system, the whole process)
per page of the read-back.

It touches nothing on the host but its memory; no root needed.

Exit status: 0 done, 1 a page came back wrong, 2 a bad flag, 3 any other
error, 130 interrupted (between two rounds: the rounds done are printed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if size%mib != 0 {
				return usagef("--size %s: must be a whole number of MiB", formatSize(size))
			}
			o.SizeMiB = uint64(size / mib)
			switch path {
			case "bypass":
			case "cache":
				o.Cache = true
			default:
				return usagef("--path %q: want bypass or cache", path)
			}
			if rounds < 1 || rounds > 100 {
				return usagef("--rounds %d: want 1 to 100", rounds)
			}
			var err error
			if o.Fixes, err = fx.set(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return usagef("bench swapin: %v", err)
			}
			if err := checkRAM("size", formatSize(size), 2*size+64*mib, "the working set and its compressed copy"); err != nil {
				return err
			}
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			text := !jsonOnly(jsonOut)
			var rs []*bench.SwapinResult
			for range rounds {
				if ctx.Err() != nil {
					break
				}
				r, err := bench.Swapin(o)
				if err != nil {
					return err
				}
				rs = append(rs, r)
				if text {
					fmt.Fprintln(out, r)
				}
			}
			med := bench.MedianSwapin(rs)
			if text && len(rs) > 1 {
				fmt.Fprintf(out, "median of %d: %.0f pages/s, %.2f µs CPU/page\n", len(rs), med.PagesPerS, med.CPUPerPage.Seconds()*1e6)
			}
			if err := emitJSON(out, jsonOut, "bench swapin", struct {
				Rounds      []*bench.SwapinResult `json:"rounds"`
				Median      *bench.SwapinResult   `json:"median"`
				Interrupted bool                  `json:"interrupted,omitempty"`
			}{rs, med, len(rs) < rounds}); err != nil {
				return err
			}
			for _, r := range rs {
				if r.Corrupt > 0 {
					return failedf("bench swapin: %d pages came back wrong", r.Corrupt)
				}
			}
			if len(rs) < rounds {
				return errInterrupted
			}
			return nil
		},
	}
	fl := cmd.Flags()
	sizeFlag(fl, &size, "size", "", int64(o.SizeMiB)*mib, "working set, a whole number of MiB")
	fl.IntVarP(&o.Threads, "threads", "t", o.Threads, "readers, each reading every page, 1 to 64")
	fl.StringVar(&path, "path", "bypass", "bypass (SWP_SYNCHRONOUS_IO: the swapcache variant decides) or cache (through the swap cache with readahead)")
	fl.StringVarP(&o.Comp, "comp", "c", o.Comp, "compressor: lz4 or zstd")
	fl.StringVarP(&o.Pattern, "pattern", "P", o.Pattern, "page content: mixed, zero or random")
	fl.IntVar(&o.PageCluster, "page-cluster", o.PageCluster, "readahead of --path cache: 2^N pages, 0 to 10; -1 keeps the default (3)")
	fl.IntVar(&rounds, "rounds", 1, "read-backs, each on a fresh machine, 1 to 100")
	addJSONFlag(cmd, &jsonOut)
	fx.register(fl)
	return cmd
}
