package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"uswap/bench"
	"uswap/design"
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
		designs string
	)
	cmd := &cobra.Command{
		Use:   "swapin [--size 256M] [--threads N] [--path sync|cache] [--design classic|table|both] [--fix swapcache=VARIANT]",
		Short: "seed 000's swap-in microbenchmark: push a working set out to zram, time reading it back",
		Long: `Fill a working set, push all of it out to a compressed RAM device (zram)
with MADV_PAGEOUT, then read every page back once, timing only the
read-back: what seed 000's thread measured ("swapin 10G from 32G zram")
to price its fix. --threads N readers each read every page in the same
order, so that with two they fault on the same pages at once and the
variant's racers (--fix swapcache=VARIANT; uswap explore --list) pay what
they pay. --path sync (the default) keeps the device SWP_SYNCHRONOUS_IO:
in the classic design the swapcache variant decides (the bypass, or
no-bypass's swap cache); in the table design, which has no bypass, the
swap-ins go through the swap cache without readahead (swapin_sync).
--path cache clears SWP_SYNCHRONOUS_IO, so that swap-ins go through the
swap cache with readahead (the commit's "Cached" figure), in either
design. --path bypass is sync's old name, for the classic design only:
with the table design it is refused (there is no bypass to take).

--design runs the machine in one design of the swap core or in both
(docs/swap-table.md); with both, every round runs each design in turn,
alternating which goes first (as bench compare-designs), and the median
is per design. A --fix variant whose code only the classic design has
(uswap explore --list marks them) is refused with the table design.

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
			ds, err := parseDesigns(designs)
			if err != nil {
				return err
			}
			switch path {
			case "sync":
			case "bypass":
				if slices.Contains(ds, design.Table) {
					return usagef("--path bypass: the table design has no bypass (every swap-in goes through the swap cache; docs/swap-table.md); --path sync reads its synchronous device through the swap cache without readahead (swapin_sync), and takes the bypass in the classic design")
				}
			case "cache":
				o.Cache = true
			default:
				return usagef("--path %q: want sync, cache or (classic design only) bypass", path)
			}
			if rounds < 1 || rounds > 100 {
				return usagef("--rounds %d: want 1 to 100", rounds)
			}
			if o.Fixes, err = fx.set(); err != nil {
				return err
			}
			if err := checkDesignFixes(o.Fixes, ds...); err != nil {
				return err
			}
			for _, d := range ds {
				o.Design = d
				if err := o.Validate(); err != nil {
					return usagef("bench swapin: %v", err)
				}
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
			perDesign := make(map[design.Design][]*bench.SwapinResult)
		rounds:
			for r := range rounds {
				for _, d := range bench.DesignOrder(ds, r) {
					if ctx.Err() != nil {
						break rounds
					}
					o.Design = d
					res, err := bench.Swapin(o)
					if err != nil {
						return err
					}
					rs = append(rs, res)
					perDesign[d] = append(perDesign[d], res)
					if text {
						fmt.Fprintln(out, res)
					}
				}
			}
			// The median per design, in --design's order.
			var meds []*bench.SwapinResult
			for _, d := range ds {
				med := bench.MedianSwapin(perDesign[d])
				if med == nil {
					continue
				}
				meds = append(meds, med)
				if text && (len(perDesign[d]) > 1 || len(ds) > 1) {
					fmt.Fprintf(out, "median of %d, %s design: %.0f pages/s, %.2f µs CPU/page\n", len(perDesign[d]), d, med.PagesPerS, med.CPUPerPage.Seconds()*1e6)
				}
			}
			var med *bench.SwapinResult // one design: its median, as before --design
			if len(ds) == 1 {
				med = bench.MedianSwapin(rs)
			}
			interrupted := len(rs) < rounds*len(ds)
			if err := emitJSON(out, jsonOut, "bench swapin", struct {
				Rounds      []*bench.SwapinResult `json:"rounds"`
				Median      *bench.SwapinResult   `json:"median,omitempty"`
				Medians     []*bench.SwapinResult `json:"medians"`
				Interrupted bool                  `json:"interrupted,omitempty"`
			}{rs, med, meds, interrupted}); err != nil {
				return err
			}
			for _, r := range rs {
				if r.Corrupt > 0 {
					return failedf("bench swapin: %d pages came back wrong", r.Corrupt)
				}
			}
			if interrupted {
				return errInterrupted
			}
			return nil
		},
	}
	fl := cmd.Flags()
	sizeFlag(fl, &size, "size", "", int64(o.SizeMiB)*mib, "working set, a whole number of MiB")
	fl.IntVarP(&o.Threads, "threads", "t", o.Threads, "readers, each reading every page, 1 to 64")
	fl.StringVar(&path, "path", "sync", "sync (SWP_SYNCHRONOUS_IO: classic, the swapcache variant decides; table, the swap cache without readahead), cache (the swap cache with readahead), or bypass (sync's old name; classic design only)")
	fl.StringVarP(&o.Comp, "comp", "c", o.Comp, "compressor: lz4 or zstd")
	fl.StringVarP(&o.Pattern, "pattern", "P", o.Pattern, "page content: mixed, zero or random")
	fl.IntVar(&o.PageCluster, "page-cluster", o.PageCluster, "readahead of --path cache: 2^N pages, 0 to 10; -1 keeps the default (3)")
	fl.IntVar(&rounds, "rounds", 1, "read-backs, each on a fresh machine, 1 to 100 (per design)")
	addDesignFlag(fl, &designs, true)
	addJSONFlag(cmd, &jsonOut)
	fx.register(fl)
	return cmd
}
