package swap

import (
	"fmt"
	"testing"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
)

// rig is a swap core with devices and a frame pool, for tests.
type rig struct {
	tb   testing.TB
	t    *ksync.Task
	c    *Core
	pool *mem.Pool
	devs []*SwapInfo
}

// newRig swaps on one compressed-RAM device per size (in pages, header
// included), with automatic priorities, in the classic design.
func newRig(tb testing.TB, frames int, sizes ...uint64) *rig {
	tb.Helper()
	return newRigDesign(tb, design.Classic, frames, sizes...)
}

// newRigDesign is newRig in design d.
func newRigDesign(tb testing.TB, d design.Design, frames int, sizes ...uint64) *rig {
	tb.Helper()
	t := ksync.NewTask("test", 0)
	pool, err := mem.NewPool(frames)
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{tb: tb, t: t, c: NewCore(Config{Fixes: fixes.Default(), Design: d, Pool: pool}), pool: pool}
	for i, n := range sizes {
		r.swapon(fmt.Sprintf("zram%d", i), n, SwaponOptions{})
	}
	return r
}

func (r *rig) swapon(name string, pages uint64, opts SwaponOptions) *SwapInfo {
	r.tb.Helper()
	dev, err := swapdev.NewRAM(name, pages, "lz4")
	if err != nil {
		r.tb.Fatal(err)
	}
	if _, err := swapdev.MkswapDevice(r.t, dev, swapdev.MkswapOptions{}); err != nil {
		r.tb.Fatal(err)
	}
	si, err := r.c.Swapon(r.t, dev, opts)
	if err != nil {
		r.tb.Fatal(err)
	}
	r.devs = append(r.devs, si)
	return si
}

// audit fails the test on any violation.
func (r *rig) audit() {
	r.tb.Helper()
	for _, v := range r.c.Audit(r.t) {
		r.tb.Error(v)
	}
}

// swapOut allocates a slot for a fresh folio and leaves the folio in the
// swap cache, locked state released: what add_to_swap leaves behind.
func (r *rig) swapOut() (*mem.Folio, mem.SwpEntry) {
	r.tb.Helper()
	f := r.pool.Alloc(r.t)
	if f == nil {
		r.tb.Fatal("out of frames")
	}
	f.Flags.Set(r.t, mem.PGSwapBacked)
	f.Lock(r.t)
	e, err := r.c.FolioAllocSwap(r.t, f, nil)
	f.Unlock(r.t)
	if err != nil {
		f.Put(r.t)
		r.tb.Fatalf("FolioAllocSwap: %v", err)
	}
	return f, e
}

// forDesigns runs fn as a subtest in each design.
func forDesigns(t *testing.T, fn func(t *testing.T, d design.Design)) {
	for _, d := range design.All() {
		t.Run(d.String(), func(t *testing.T) { fn(t, d) })
	}
}

// mapByte reads the swap_map byte of e (classic design).
func (r *rig) mapByte(e mem.SwpEntry) uint8 {
	si := r.c.swapInfoOf(r.t, e)
	ci := si.lockCluster(r.t, e.Offset())
	defer ci.lock.Unlock(r.t)
	return si.swapMap[e.Offset()]
}

// slot describes the state of e's slot in either design: "free",
// "cached" (only a swap cache folio holds it), "cached N" (a folio and N
// references) or "count N" (N references, no folio).
func (r *rig) slot(e mem.SwpEntry) string { return r.slotOn(r.t, e) }

// slotOn is slot on task t.
func (r *rig) slotOn(t *ksync.Task, e mem.SwpEntry) string {
	si := r.c.swapInfoOf(t, e)
	ci := si.lockCluster(t, e.Offset())
	free := r.c.slots.slotFreeLocked(t, si, ci, e.Offset())
	ci.lock.Unlock(t)
	if free {
		return "free"
	}
	n := r.c.slots.swpSwapcount(t, si, e)
	f := r.c.SwapCacheGetFolio(t, e)
	switch {
	case f != nil && n == 0:
		f.Put(t)
		return "cached"
	case f != nil:
		f.Put(t)
		return fmt.Sprintf("cached %d", n)
	}
	return fmt.Sprintf("count %d", n)
}

// dropCache deletes f from the swap cache and drops the test's reference.
func (r *rig) dropCache(f *mem.Folio) {
	f.Lock(r.t)
	r.c.SwapCacheDelFolio(r.t, f)
	f.Unlock(r.t)
	f.Put(r.t)
}

// allocSlot allocates a slot on task t that one reference holds and no
// folio: a folio is swapped out (FolioAllocSwap), a PTE takes the entry
// (FolioDupSwap), and the folio leaves the swap cache.
func (r *rig) allocSlot(t *ksync.Task) mem.SwpEntry {
	r.tb.Helper()
	f := r.pool.Alloc(t)
	if f == nil {
		r.tb.Fatal("out of frames")
	}
	defer f.Put(t)
	f.Flags.Set(t, mem.PGSwapBacked)
	f.Lock(t)
	defer f.Unlock(t)
	e, err := r.c.FolioAllocSwap(t, f, nil)
	if err != nil {
		r.tb.Fatalf("FolioAllocSwap: %v", err)
	}
	if err := r.c.FolioDupSwap(t, f); err != nil {
		r.tb.Fatalf("FolioDupSwap(%v): %v", e, err)
	}
	r.c.SwapCacheDelFolio(t, f)
	return e
}

// free drops the one reference allocSlot left on e (zap_pte_range).
func (r *rig) free(e mem.SwpEntry) { r.c.SwapPutEntriesDirect(r.t, e) }

// listOfCluster says which list cluster idx of si is on.
func (r *rig) listOfCluster(si *SwapInfo, idx int) string {
	ci := &si.clusters[idx]
	ci.lock.Lock(r.t)
	defer ci.lock.Unlock(r.t)
	return clusterFlagNames[ci.flags]
}
