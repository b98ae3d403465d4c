package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mm"
	"uswap/swapdev"
	"uswap/system"
	"uswap/workload"
)

// demo: a short tour of the engine (packages system and mm), the way a
// program uses it: make a machine, map memory, store into it under a
// memory cgroup limit (reclaim pushes pages out), push the rest out with
// madvise(MADV_PAGEOUT), load every page back and check it, then print
// the swap counters and the audit.

func init() { addCommand(newDemoCmd) }

// demoReport is what the tour saw, step by step.
type demoReport struct {
	Size        int64      `json:"size"`
	Limit       int64      `json:"limit"`
	Frames      int        `json:"frames"`
	Device      string     `json:"device"`
	Comp        string     `json:"comp"`
	Pattern     string     `json:"pattern"`
	Steps       []demoStep `json:"steps"`
	Bad         int64      `json:"bad_pages"`
	MMStat      demoMMStat `json:"mm_stat"`
	Audit       []string   `json:"audit"`
	Interrupted bool       `json:"interrupted,omitempty"`
}

// demoMMStat is the swap device's mm_stat at the end.
type demoMMStat struct {
	OrigDataSize  uint64 `json:"orig_data_size"`
	ComprDataSize uint64 `json:"compr_data_size"`
	MemUsedTotal  uint64 `json:"mem_used_total"`
	SamePages     uint64 `json:"same_pages"`
	HugePages     uint64 `json:"huge_pages"`
}

// demoStep is the counters after one step of the tour.
type demoStep struct {
	Step       string `json:"step"`
	Pages      int64  `json:"pages"`
	Resident   int64  `json:"resident"`
	PgFault    uint64 `json:"pgfault"`
	PgMajFault uint64 `json:"pgmajfault"`
	Pswpin     uint64 `json:"pswpin"`
	Pswpout    uint64 `json:"pswpout"`
}

func newDemoCmd() *cobra.Command {
	var (
		size, limit            int64
		comp, pattern, jsonOut string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "a short tour of the engine: map, store, swap out, load back, check, audit",
		Long: `A short tour of uswap's engine, as a program uses it (packages system and
mm): make a machine whose memory cgroup is limited to --limit, with a
zram-like compressed swap device (--comp); map --size of anonymous memory
and store a pattern into every page (reclaim swaps pages out as the
cgroup reaches its limit); push every page still resident out with
madvise(MADV_PAGEOUT); load every page back (each load faults and swaps
in) and check all its bytes; then print the swap counters after each step,
the device's mm_stat and the audit of the whole machine.

It touches nothing on the host and needs no root. Ctrl-C stops between two
pages and prints the counters and the audit so far.

Exit status: 0 every page came back and the audit is clean, 1 a page came
back wrong or the audit found something, 2 a bad flag, 3 any other error,
130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if size < 64*kib || size%pageSize != 0 {
				return usagef("--size %s: must be a whole number of 4 KiB pages, at least 64K", formatSize(size))
			}
			if limit < 64*kib || limit%pageSize != 0 || limit > size {
				return usagef("--limit %s: must be a whole number of 4 KiB pages, 64K to --size (%s)", formatSize(limit), formatSize(size))
			}
			if !slices.Contains(swapdev.Compressors, comp) {
				return usagef("--comp %q: want one of %v", comp, swapdev.Compressors)
			}
			p, err := workload.ParsePattern(pattern)
			if err != nil {
				return usagef("--pattern %q: want mixed, zero or random", pattern)
			}
			if err := checkRAM("size", formatSize(size), limit+size*11/10+64*mib, "the limit plus the swap device"); err != nil {
				return err
			}
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var text io.Writer = out
			if jsonOnly(jsonOut) {
				text = io.Discard
			}
			rep, err := runDemo(cmd.Context(), text, size, limit, comp, p)
			if err != nil {
				return err
			}
			if err := emitJSON(out, jsonOut, "demo", rep); err != nil {
				return err
			}
			if rep.Bad > 0 || len(rep.Audit) > 0 {
				return failedf("demo: %d pages came back wrong, %d audit findings", rep.Bad, len(rep.Audit))
			}
			if rep.Interrupted {
				return errInterrupted
			}
			return nil
		},
	}
	fl := cmd.Flags()
	sizeFlag(fl, &size, "size", "", 64*mib, "anonymous memory to map and fill")
	sizeFlag(fl, &limit, "limit", "", 16*mib, "the memory cgroup's limit")
	fl.StringVar(&comp, "comp", "lz4", "compressor of the swap device: lz4 or zstd")
	fl.StringVar(&pattern, "pattern", "mixed", "page content: mixed, zero or random")
	addJSONFlag(cmd, &jsonOut)
	return cmd
}

// runDemo is the tour; w gets its narration.
func runDemo(ctx context.Context, w io.Writer, size, limit int64, comp string, pattern workload.Pattern) (*demoReport, error) {
	t := ksync.NewTask("demo", 0)
	pages, limitPages := size/pageSize, limit/pageSize
	cfg := system.Config{
		Frames:      int(limitPages + max(limitPages/8, 256)),
		Devices:     []system.DeviceConfig{{Kind: "ram", Pages: uint64(pages) + 1024, Comp: comp}},
		MemcgLimit:  limitPages,
		Fixes:       fixes.Default(),
		PageCluster: 3,
	}
	sys, err := system.New(t, cfg)
	if err != nil {
		return nil, err
	}
	dev := sys.Devices()[0].(*swapdev.RAM)
	rep := &demoReport{Size: size, Limit: limit, Frames: cfg.Frames, Device: dev.Name(), Comp: comp, Pattern: pattern.String()}
	fmt.Fprintf(w, "machine: %d frames of RAM, memory cgroup %q limited to %s, swap on %s (%s, %d pages)\n",
		cfg.Frames, sys.Workload().Path(), formatSize(limit), dev.Name(), comp, dev.Pages())
	m := sys.NewMM(t)
	base, err := m.Mmap(t, uint64(size), mm.ProtRead|mm.ProtWrite)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "mmap:    %s of anonymous memory at %#x\n", formatSize(size), base)
	step := func(name string, n int64) {
		s := demoStep{Step: name, Pages: n, Resident: sys.Workload().Memory().Read(t),
			PgFault: sys.Node().Stat.PgFault.Sum(), PgMajFault: sys.Node().Stat.PgMajFault.Sum(),
			Pswpin: sys.Core().Stats.PswpIn.Sum(), Pswpout: sys.Core().Stats.PswpOut.Sum()}
		rep.Steps = append(rep.Steps, s)
		fmt.Fprintf(w, "%-8s %d pages; resident=%d pgfault=%d pgmajfault=%d pswpin=%d pswpout=%d\n",
			name+":", n, s.Resident, s.PgFault, s.PgMajFault, s.Pswpin, s.Pswpout)
	}
	page, got := make([]byte, pageSize), make([]byte, pageSize)
	// each visits every page with fn until done or ctx is done, and
	// returns the pages visited.
	each := func(fn func(i int64, addr uint64) error) (int64, error) {
		for i := int64(0); i < pages; i++ {
			if i%64 == 0 && ctx.Err() != nil {
				rep.Interrupted = true
				return i, nil
			}
			if err := fn(i, base+uint64(i)*pageSize); err != nil {
				return i, err
			}
		}
		return pages, nil
	}
	n, err := each(func(i int64, addr uint64) error {
		workload.FillPage(page, uint64(i), pattern)
		return m.Store(t, addr, page)
	})
	if err != nil {
		return nil, err
	}
	step("store", n)
	if !rep.Interrupted {
		if err := m.MadvisePageout(t, base, uint64(size)); err != nil {
			return nil, err
		}
		step("pageout", pages)
		n, err = each(func(i int64, addr uint64) error {
			if err := m.Load(t, addr, got); err != nil {
				return err
			}
			workload.FillPage(page, uint64(i), pattern)
			if !bytes.Equal(got, page) {
				rep.Bad++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		step("load", n)
	}
	s := dev.MMStat()
	rep.MMStat = demoMMStat{s.OrigDataSize, s.ComprDataSize, s.MemUsedTotal, s.SamePages, s.HugePages}
	fmt.Fprintf(w, "check:   %d pages came back wrong\n", rep.Bad)
	fmt.Fprintf(w, "mm_stat: orig_data_size=%d compr_data_size=%d mem_used_total=%d same_pages=%d\n",
		s.OrigDataSize, s.ComprDataSize, s.MemUsedTotal, s.SamePages)
	for _, v := range sys.Audit(t) {
		rep.Audit = append(rep.Audit, v.String())
	}
	m.Exit(t)
	for _, v := range sys.AuditEmpty(t) {
		rep.Audit = append(rep.Audit, "after exit: "+v.String())
	}
	if err := sys.Shutdown(t); err != nil {
		rep.Audit = append(rep.Audit, "shutdown: "+err.Error())
	}
	fmt.Fprintf(w, "audit:   %d findings\n", len(rep.Audit))
	for _, a := range rep.Audit {
		fmt.Fprintf(w, "  %s\n", a)
	}
	if rep.Interrupted {
		fmt.Fprintln(w, "interrupted: the tour stopped early; the counters and the audit are of what ran")
	}
	return rep, nil
}
