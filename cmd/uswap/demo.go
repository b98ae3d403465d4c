package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swap"
	"uswap/swapdev"
	"uswap/workload"
)

// demo: swap a working set through a compressed device with the swap core
// alone. The mm layer (page tables, faults, reclaim) does not exist yet, so
// this file plays its part by hand, through the core's real API, the way
// vmscan.c's reclaim and memory.c's do_swap_page will:
//
//	populate  do_anonymous_page: a fresh frame, filled, mapped
//	reclaim   shrink_folio_list on the oldest resident page (a FIFO):
//	          add_to_swap, try_to_unmap, pageout, __remove_mapping
//	swap-in   do_swap_page on a synchronous device (the bypass path):
//	          get_swap_device, swapcache_prepare, alloc, swap_read_folio,
//	          swap_free, swapcache_clear, put_swap_device
//	teardown  exit_mmap's zap_pte_range: free_swap_and_cache per entry
//
// The "page table" is one entry per page: a present frame or a swap
// entry, each guarded by its own lock (the split PTE lock).

func init() { rootCmd.AddCommand(newDemoCmd()) }

// demoConfig is the parsed command line.
type demoConfig struct {
	Size    int64  `json:"size"`   // bytes of working set
	RAM     int64  `json:"ram"`    // bytes of RAM asked for
	Pages   int    `json:"pages"`  // working set pages
	Frames  int    `json:"frames"` // frames in the pool
	Comp    string `json:"comp"`
	Pattern string `json:"pattern"`
	Device  string `json:"device"` // "ram" or a swap file's path
	Threads int    `json:"threads"`
	Passes  int    `json:"passes"`
	Fixes   string `json:"fixes"`

	pattern workload.Pattern
}

// demoMinFrames is the smallest RAM the demo runs in.
const demoMinFrames = 4

// demoSpare is the slots the device has beyond the working set.
const demoSpare = 64

func newDemoCmd() *cobra.Command {
	var (
		size, ram, comp, pattern, device string
		threads, passes                  int
		asJSON                           bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "swap a working set through a compressed device and check every page",
		Long: `Fill a working set of --size bytes in a RAM of --ram bytes, swapping the
oldest resident page out whenever RAM is full, then read every page back
--passes times (swapping in, and out again), checking each against what was
written. The device is a zram-like compressed RAM device (--comp lz4 or
zstd), or with --device FILE a swap file created there (an existing file is
overwritten only if it already is a swap area; write ./ram for a file
named ram). Sizes take K, M, G or T suffixes.

Prints the pages per second of each pass, the swap counters, the device's
mm_stat and compression ratio, and the swap core's audit after swapoff;
exits with status 1 if any page came back wrong or the audit fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := parseDemoConfig(size, ram, comp, pattern, device, threads, passes)
			if err != nil {
				return err
			}
			rep, err := runDemo(cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				rep.print(out)
			}
			return rep.failure()
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := cmd.Flags()
	f.StringVar(&size, "size", "64M", "working set size (a multiple of 4096)")
	f.StringVar(&ram, "ram", "16M", "RAM size (a multiple of 4096, at least 4 pages)")
	f.StringVar(&comp, "comp", "lz4", "compressor of the RAM device: lz4 or zstd")
	f.StringVar(&pattern, "pattern", "mixed", "page content: mixed, zero or random")
	f.StringVar(&device, "device", "ram", "ram, or the path of a swap file to create")
	f.IntVar(&threads, "threads", 1, "goroutines that swap in, each its own task and CPU")
	f.IntVar(&passes, "passes", 2, "passes over the working set")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// parseDemoConfig checks the flags; every error is a usage error.
func parseDemoConfig(size, ram, comp, pattern, device string, threads, passes int) (demoConfig, error) {
	cfg := demoConfig{Comp: comp, Pattern: pattern, Device: device, Threads: threads, Passes: passes}
	var err error
	if cfg.Size, err = parsePageMultiple("--size", size); err != nil {
		return cfg, err
	}
	if cfg.RAM, err = parsePageMultiple("--ram", ram); err != nil {
		return cfg, err
	}
	if n := cfg.RAM / mem.PageSize; n < demoMinFrames {
		return cfg, usagef("demo: --ram %s is %d pages; at least %d are needed", ram, n, demoMinFrames)
	}
	if comp != "lz4" && comp != "zstd" {
		return cfg, usagef("demo: unknown compressor %q (want lz4 or zstd)", comp)
	}
	if cfg.pattern, err = workload.ParsePattern(pattern); err != nil {
		return cfg, usagef("demo: unknown pattern %q (want mixed, zero or random)", pattern)
	}
	if device == "" {
		return cfg, usagef("demo: --device is empty (want ram or a file path)")
	}
	if threads < 1 {
		return cfg, usagef("demo: --threads %d: want at least 1", threads)
	}
	if passes < 1 {
		return cfg, usagef("demo: --passes %d: want at least 1", passes)
	}
	cfg.Pages = int(cfg.Size / mem.PageSize)
	// Frames beyond the working set and one in flight per thread can
	// never be used: don't allocate them.
	cfg.Frames = int(min(cfg.RAM/mem.PageSize, int64(cfg.Pages+threads)))
	cfg.Frames = max(cfg.Frames, demoMinFrames)
	cfg.Fixes = "all"
	if r := fixes.Default().Changed(); len(r) > 0 {
		cfg.Fixes = "all but " + fixes.Default().String()
	}
	return cfg, nil
}

// parsePageMultiple is parseSize (mkswap's parser) plus the demo's rule:
// a positive multiple of the page size.
func parsePageMultiple(flag, s string) (int64, error) {
	v, err := parseSize(s)
	if err != nil {
		return 0, usagef("demo: %s: %v", flag, err)
	}
	if v%mem.PageSize != 0 {
		return 0, usagef("demo: %s %s is %d bytes, not a multiple of %d", flag, s, v, mem.PageSize)
	}
	if v/mem.PageSize > 1<<32 {
		return 0, usagef("demo: %s %s is too large", flag, s)
	}
	return v, nil
}

// demo is one run: the RAM, the swap core, the device and the page table.
type demo struct {
	cfg  demoConfig
	pool *mem.Pool
	core *swap.Core
	dev  swapdev.Device
	si   *swap.SwapInfo

	// The page table: page i is present in frame[i], or swapped out at
	// pte[i], and ptl[i] guards both.
	ptl   []sync.Mutex
	frame []*mem.Folio
	pte   []mem.SwpEntry

	// lru is the FIFO of resident pages, oldest first: a ring of page
	// indexes, as many as there are frames. Guarded by lruMu.
	lruMu   sync.Mutex
	lru     []int
	lruHead int
	lruLen  int

	faults  atomic.Int64 // swap-ins in the current pass
	corrupt atomic.Int64 // pages that came back wrong in the current pass
}

// demoPass is one timed pass over the working set.
type demoPass struct {
	Name      string  `json:"name"`
	Seconds   float64 `json:"seconds"`
	PagesPerS float64 `json:"pages_per_s"`
	Faults    int64   `json:"faults"`
	Corrupt   int64   `json:"corrupt"`
}

// demoMMStat is the part of mm_stat the demo reports.
type demoMMStat struct {
	Orig       uint64  `json:"orig_data_size"`
	Compressed uint64  `json:"compr_data_size"`
	MemUsed    uint64  `json:"mem_used_total"`
	SamePages  uint64  `json:"same_pages"`
	HugePages  uint64  `json:"huge_pages"`
	Ratio      float64 `json:"ratio"` // orig / compressed, 0 if nothing is compressed
}

// demoReport is what the demo prints.
type demoReport struct {
	Config    demoConfig  `json:"config"`
	Device    string      `json:"device"`
	Populate  demoPass    `json:"populate"`
	Passes    []demoPass  `json:"passes"`
	PswpIn    uint64      `json:"pswpin"`
	PswpOut   uint64      `json:"pswpout"`
	MMStat    *demoMMStat `json:"mm_stat,omitempty"`
	Discards  uint64      `json:"discards,omitempty"` // swap files only
	Audit     []string    `json:"audit"`
	Clean     bool        `json:"audit_clean"`
	PagesPerS float64     `json:"pages_per_s"` // median pass
	Pages     int         `json:"pages"`
	Corrupt   int64       `json:"corrupt"`
}

// runDemo sets up, runs the passes, tears down and audits. An error is a
// failure of the run itself (a device or a swap core call failed); wrong
// pages and audit violations are in the report.
func runDemo(cfg demoConfig) (*demoReport, error) {
	t := ksync.NewTask("demo", 0)
	d, err := newDemo(t, cfg)
	if err != nil {
		return nil, err
	}
	defer d.dev.Close()
	rep := &demoReport{Config: cfg, Device: d.describeDevice(), Pages: cfg.Pages, Audit: []string{}}

	rep.Populate, err = d.pass("populate", d.populate)
	if err != nil {
		return nil, err
	}
	for p := 1; p <= cfg.Passes; p++ {
		full := p == 1 // the first pass compares whole pages
		pr, err := d.pass(fmt.Sprintf("pass %d", p), func(t *ksync.Task, i int, buf []byte) error {
			return d.touch(t, i, buf, full)
		})
		if err != nil {
			return nil, err
		}
		rep.Passes = append(rep.Passes, pr)
		rep.Corrupt += pr.Corrupt
	}
	rep.PagesPerS = medianRate(rep.Passes)
	rep.PswpIn = d.core.Stats.PswpIn.Sum()
	rep.PswpOut = d.core.Stats.PswpOut.Sum()
	switch dev := d.dev.(type) {
	case *swapdev.RAM:
		rep.MMStat = mmStatOf(dev.MMStat())
	case *swapdev.File:
		rep.Discards = dev.Discards()
	}
	rep.Audit = append(rep.Audit, d.teardown(t)...)
	rep.Clean = len(rep.Audit) == 0
	return rep, nil
}

// newDemo builds the RAM, the swap core with every fix on, and the device,
// formatted and swapped on.
func newDemo(t *ksync.Task, cfg demoConfig) (*demo, error) {
	pool, err := mem.NewPool(cfg.Frames)
	if err != nil {
		return nil, err
	}
	d := &demo{
		cfg:   cfg,
		pool:  pool,
		core:  swap.NewCore(swap.Config{Fixes: fixes.Default()}),
		ptl:   make([]sync.Mutex, cfg.Pages),
		frame: make([]*mem.Folio, cfg.Pages),
		pte:   make([]mem.SwpEntry, cfg.Pages),
		lru:   make([]int, cfg.Frames),
	}
	devPages := uint64(cfg.Pages) + demoSpare
	if cfg.Device == "ram" {
		d.dev, err = newDemoRAM(t, devPages, cfg.Comp)
	} else {
		d.dev, err = newDemoFile(cfg.Device, devPages)
	}
	if err != nil {
		return nil, err
	}
	d.si, err = d.core.Swapon(t, d.dev, swap.SwaponOptions{})
	if err != nil {
		d.dev.Close()
		return nil, err
	}
	return d, nil
}

// newDemoRAM is `zramctl --size ... --algorithm comp` then `mkswap /dev/zram0`.
func newDemoRAM(t *ksync.Task, pages uint64, comp string) (*swapdev.RAM, error) {
	z, err := swapdev.NewRAM("zram0", pages, comp)
	if err != nil {
		return nil, err
	}
	if _, err := swapdev.MkswapDevice(t, z, swapdev.MkswapOptions{Label: "uswap-demo"}); err != nil {
		z.Close()
		return nil, err
	}
	return z, nil
}

// newDemoFile is `mkswap FILE` then opening it for swapon. A file that
// exists must already be a swap area: anything else is not ours to
// overwrite.
func newDemoFile(path string, pages uint64) (*swapdev.File, error) {
	if _, err := os.Lstat(path); err == nil {
		if _, herr := swapdev.ReadHeaderFile(path); herr != nil {
			return nil, fmt.Errorf("demo: refusing to overwrite %s, which exists and is not a swap area (%v)", path, herr)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := swapdev.Mkswap(path, int64(pages)*swapdev.PageSize, swapdev.MkswapOptions{Label: "uswap-demo"}); err != nil {
		return nil, err
	}
	return swapdev.OpenFile(path)
}

func (d *demo) describeDevice() string {
	if z, ok := d.dev.(*swapdev.RAM); ok {
		return fmt.Sprintf("%s (%s, %d pages)", z.Name(), z.Compressor(), z.Pages())
	}
	return fmt.Sprintf("file %s (%d pages)", d.dev.Name(), d.dev.Pages())
}

// pass runs visit on every page, split into --threads contiguous ranges,
// each on its own goroutine with its own task and CPU, and times it.
func (d *demo) pass(name string, visit func(t *ksync.Task, i int, buf []byte) error) (demoPass, error) {
	d.faults.Store(0)
	d.corrupt.Store(0)
	n, nt := d.cfg.Pages, d.cfg.Threads
	errs := make([]error, nt)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range nt {
		wg.Go(func() {
			t := ksync.NewTask(fmt.Sprintf("demo/%d", k), k)
			buf := make([]byte, mem.PageSize)
			for i := k * n / nt; i < (k+1)*n/nt; i++ {
				if err := visit(t, i, buf); err != nil {
					errs[k] = fmt.Errorf("demo: %s, page %d: %w", name, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return demoPass{}, err
	}
	return demoPass{
		Name:      name,
		Seconds:   secs,
		PagesPerS: float64(n) / max(secs, 1e-9),
		Faults:    d.faults.Load(),
		Corrupt:   d.corrupt.Load(),
	}, nil
}

// populate is do_anonymous_page for page i: a fresh frame, filled with
// the page's content and mapped.
func (d *demo) populate(t *ksync.Task, i int, _ []byte) error {
	d.ptl[i].Lock()
	defer d.ptl[i].Unlock()
	f, err := d.allocFrame(t)
	if err != nil {
		return err
	}
	workload.FillPage(f.Data(), uint64(i), d.cfg.pattern)
	f.Flags.Set(t, mem.PGSwapBacked)
	f.Flags.Set(t, mem.PGUptodate)
	f.Flags.Set(t, mem.PGDirty)
	d.mapFrame(t, i, f)
	return nil
}

// touch is one access to page i: a plain read if it is present, the swap-in
// fault otherwise. Either way its content is checked.
func (d *demo) touch(t *ksync.Task, i int, buf []byte, full bool) error {
	d.ptl[i].Lock()
	defer d.ptl[i].Unlock()
	if f := d.frame[i]; f != nil {
		d.check(i, f.Data(), buf, full)
		return nil
	}
	d.faults.Add(1)
	return d.swapIn(t, i, buf, full)
}

// check counts page i as corrupt unless data is what populate wrote: the
// index in the first 8 bytes and, if full, the whole page.
func (d *demo) check(i int, data, buf []byte, full bool) {
	ok := binary.LittleEndian.Uint64(data) == uint64(i)
	if ok && full {
		workload.FillPage(buf, uint64(i), d.cfg.pattern)
		ok = bytes.Equal(data, buf)
	}
	if !ok {
		d.corrupt.Add(1)
	}
}

// swapIn is do_swap_page() on the synchronous-device path that skips the
// swap cache (seed 000's fix): pin the entry, read it into a new frame,
// map it, and let go of the slot. ptl[i] is held and pte[i] is a swap entry.
func (d *demo) swapIn(t *ksync.Task, i int, buf []byte, full bool) error {
	entry := d.pte[i]
	// get_swap_device: keep the device from being swapped off (seed 003).
	si := d.core.GetSwapDevice(t, entry)
	if si == nil {
		return fmt.Errorf("swap-in of %v: no such swap device", entry)
	}
	defer d.core.PutSwapDevice(t, si)
	// swapcache_prepare: SWAP_HAS_CACHE as a pin. Every page belongs to one
	// thread in a pass, so nobody else can hold it; the kernel would wait on
	// swapcache_wq and refault instead.
	if err := d.core.SwapcachePrepare(t, entry); err != nil {
		return fmt.Errorf("swapcache_prepare(%v): %w", entry, err)
	}
	f, err := d.allocFrame(t)
	if err != nil {
		d.core.SwapcacheClear(t, si, entry)
		return err
	}
	// swap_read_folio: the synchronous read.
	if err := si.ReadPage(t, entry, f.Data()); err != nil {
		f.Put(t)
		d.core.SwapcacheClear(t, si, entry)
		return err
	}
	d.check(i, f.Data(), buf, full)
	f.Flags.Set(t, mem.PGSwapBacked)
	f.Flags.Set(t, mem.PGUptodate)
	// set_pte_at, then swap_free: the PTE's reference to the slot goes.
	d.pte[i] = 0
	d.mapFrame(t, i, f)
	d.core.SwapFree(t, entry)
	// swapcache_clear drops the pin and, with it, the slot; waiters wake.
	d.core.SwapcacheClear(t, si, entry)
	d.core.WakeSwapcacheWaiters(t)
	return nil
}

// mapFrame maps frame f at page i (folio_add_new_anon_rmap, set_pte_at)
// and puts it at the young end of the FIFO. ptl[i] is held.
func (d *demo) mapFrame(t *ksync.Task, i int, f *mem.Folio) {
	f.AddMap(t)
	d.frame[i] = f
	d.pushYoung(i)
}

// pushYoung puts resident page i at the young end of the FIFO.
func (d *demo) pushYoung(i int) {
	d.lruMu.Lock()
	d.lru[(d.lruHead+d.lruLen)%len(d.lru)] = i
	d.lruLen++
	d.lruMu.Unlock()
}

// popOldest takes the oldest resident page off the FIFO (isolate_lru_folios).
func (d *demo) popOldest() (int, bool) {
	d.lruMu.Lock()
	defer d.lruMu.Unlock()
	if d.lruLen == 0 {
		return 0, false
	}
	i := d.lru[d.lruHead]
	d.lruHead = (d.lruHead + 1) % len(d.lru)
	d.lruLen--
	return i, true
}

// allocFrame is the page allocator under pressure: when RAM is full, direct
// reclaim swaps out the oldest resident page and the allocation retries.
// The caller holds the lock of the page it is filling, never one that is
// on the FIFO, so reclaim's ptl never waits for a thread that waits for it.
func (d *demo) allocFrame(t *ksync.Task) (*mem.Folio, error) {
	for {
		if f := d.pool.Alloc(t); f != nil {
			return f, nil
		}
		victim, ok := d.popOldest()
		if !ok {
			// Every frame is between the pool and the FIFO in another
			// thread's hands; it will be mapped in a moment.
			runtime.Gosched()
			continue
		}
		switch err := d.swapOut(t, victim); {
		case errors.Is(err, errKeepResident):
			d.pushYoung(victim)
			runtime.Gosched()
		case err != nil:
			return nil, err
		}
	}
}

// errKeepResident: swapOut could not get a slot although swap is not
// full; the page stays resident.
var errKeepResident = errors.New("demo: no slot to be had right now; page kept")

// swapOut is shrink_folio_list() for the anonymous page i, which was just
// taken off the FIFO: add_to_swap, try_to_unmap, pageout and
// __remove_mapping, after which its frame is free.
func (d *demo) swapOut(t *ksync.Task, i int) error {
	d.ptl[i].Lock()
	defer d.ptl[i].Unlock()
	f := d.frame[i]
	f.Lock(t)
	// add_to_swap: a slot, and the folio in the swap cache under it.
	entry, err := d.core.FolioAllocSwap(t, f, nil)
	if err != nil {
		f.Unlock(t)
		if errors.Is(err, swap.ErrNoSwap) && d.core.NrSwapPages(t) > 0 {
			// Slots are free, but in clusters another CPU had
			// isolated at that moment: like shrink_folio_list's
			// activate_locked, keep the page and try another.
			return errKeepResident
		}
		return fmt.Errorf("add_to_swap: %w", err)
	}
	// try_to_unmap: the PTE now holds the swap entry, and the slot counts it.
	if err := d.core.SwapDuplicate(t, entry); err != nil {
		f.Unlock(t)
		return fmt.Errorf("swap_duplicate(%v): %w", entry, err)
	}
	f.RemoveMap(t)
	d.frame[i], d.pte[i] = nil, entry
	// pageout: swap_writepage's synchronous write of the clean copy.
	f.Flags.Clear(t, mem.PGDirty)
	if err := d.si.WritePage(t, entry, f.Data()); err != nil {
		f.Unlock(t)
		return err
	}
	// __remove_mapping: out of the swap cache (the slot keeps the PTE's
	// count) and back to the page allocator.
	d.core.DeleteFromSwapCache(t, f)
	f.Unlock(t)
	f.Put(t)
	return nil
}

// teardown is exit_mmap(): unmap every present page and free every swap
// entry (zap_pte_range, free_swap_and_cache), then check that nothing is
// left, swap off with no users to walk, and audit the swap core. It
// returns the problems found.
func (d *demo) teardown(t *ksync.Task) []string {
	for i := range d.cfg.Pages {
		if f := d.frame[i]; f != nil {
			f.RemoveMap(t)
			f.Put(t)
			d.frame[i] = nil
		} else if e := d.pte[i]; e != 0 {
			d.core.FreeSwapAndCache(t, e)
			d.pte[i] = 0
		}
	}
	var bad []string
	if n := d.pool.NrFree(t); n != int64(d.pool.Frames()) {
		bad = append(bad, fmt.Sprintf("%d of %d frames still in use after exit", int64(d.pool.Frames())-n, d.pool.Frames()))
	}
	if n := d.si.InusePages(t); n != 0 {
		bad = append(bad, fmt.Sprintf("%d slots still in use after exit", n))
	}
	// Audit with the device still on (every slot must be free), then after
	// swapoff (nothing may be left behind).
	for _, v := range d.core.Audit(t) {
		bad = append(bad, "before swapoff: "+v.String())
	}
	if err := d.core.Swapoff(t, d.si, nil); err != nil {
		bad = append(bad, err.Error())
	}
	for _, v := range d.core.Audit(t) {
		bad = append(bad, "after swapoff: "+v.String())
	}
	return bad
}

func mmStatOf(m swapdev.MMStat) *demoMMStat {
	s := &demoMMStat{
		Orig:       m.OrigDataSize,
		Compressed: m.ComprDataSize,
		MemUsed:    m.MemUsedTotal,
		SamePages:  m.SamePages,
		HugePages:  m.HugePages,
	}
	if s.Compressed > 0 {
		s.Ratio = float64(s.Orig) / float64(s.Compressed)
	}
	return s
}

// medianRate is the median pages per second of the passes.
func medianRate(ps []demoPass) float64 {
	r := make([]float64, len(ps))
	for i, p := range ps {
		r[i] = p.PagesPerS
	}
	slices.Sort(r)
	n := len(r)
	if n%2 == 1 {
		return r[n/2]
	}
	return (r[n/2-1] + r[n/2]) / 2
}

// failure is the run's verdict as an error (exit status 1), or nil.
func (r *demoReport) failure() error {
	switch {
	case r.Corrupt > 0 && len(r.Audit) > 0:
		return fmt.Errorf("demo: %d corrupt pages and %d audit violations", r.Corrupt, len(r.Audit))
	case r.Corrupt > 0:
		return fmt.Errorf("demo: %d corrupt pages", r.Corrupt)
	case len(r.Audit) > 0:
		return fmt.Errorf("demo: the audit found %d violations", len(r.Audit))
	}
	return nil
}

func (r *demoReport) print(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "config: size=%s (%d pages) ram=%s (%d frames) device=%s pattern=%s threads=%d passes=%d fixes=%s\n",
		fmtBytes(c.Size), c.Pages, fmtBytes(c.RAM), c.Frames, r.Device, c.Pattern, c.Threads, c.Passes, c.Fixes)
	for _, p := range append([]demoPass{r.Populate}, r.Passes...) {
		fmt.Fprintf(w, "%s: %.0f pages/s (%d pages in %.3fs, %d swap-ins, corrupt=%d)\n",
			p.Name, p.PagesPerS, r.Pages, p.Seconds, p.Faults, p.Corrupt)
	}
	fmt.Fprintf(w, "swap: pswpin=%d pswpout=%d\n", r.PswpIn, r.PswpOut)
	if m := r.MMStat; m != nil {
		ratio := "n/a"
		if m.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", m.Ratio)
		}
		fmt.Fprintf(w, "mm_stat: orig=%s compressed=%s mem_used=%s same_pages=%d huge_pages=%d ratio=%s\n",
			fmtMiB(m.Orig), fmtMiB(m.Compressed), fmtMiB(m.MemUsed), m.SamePages, m.HugePages, ratio)
	} else {
		fmt.Fprintf(w, "swap file: discards=%d\n", r.Discards)
	}
	if len(r.Audit) == 0 {
		fmt.Fprintf(w, "audit: clean (all slots freed, swapped off)\n")
	} else {
		for _, v := range r.Audit {
			fmt.Fprintf(w, "audit: %s\n", v)
		}
	}
	audit := "clean"
	if len(r.Audit) > 0 {
		audit = "failed"
	}
	fmt.Fprintf(w, "result pages_per_s=%.0f pages=%d corrupt=%d audit=%s\n", r.PagesPerS, r.Pages, r.Corrupt, audit)
}

// fmtBytes prints a flag's size back in the largest unit of 1024 that
// divides it.
func fmtBytes(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d", n)
}

// fmtMiB prints a byte count in MiB.
func fmtMiB(n uint64) string { return fmt.Sprintf("%.1fM", float64(n)/(1<<20)) }
