package swap

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"uswap/design"
	"uswap/ksync"
	"uswap/mem"
)

// stressWorker is one task of TestStress. It owns references to swap
// entries (as PTEs would) and swap cache folios (as a swapped-out page
// on its way to being freed would), and gives some of its references to
// the other workers through a channel.
type stressWorker struct {
	r    *rig
	t    *ksync.Task
	rnd  *rand.Rand
	refs []mem.SwpEntry // one count each
	// cached holds folios this worker put in the swap cache, with the
	// worker's own folio reference. Reclaim (the allocator's, or
	// free_swap_and_cache's) may take them out of the cache meanwhile.
	cached []*mem.Folio
	pass   chan mem.SwpEntry
	errs   []string
}

func (w *stressWorker) fail(format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf("%v: ", w.t)+fmt.Sprintf(format, args...))
}

func (w *stressWorker) pick() (int, mem.SwpEntry) {
	i := w.rnd.IntN(len(w.refs))
	return i, w.refs[i]
}

func (w *stressWorker) dropRef(i int) mem.SwpEntry {
	e := w.refs[i]
	w.refs[i] = w.refs[len(w.refs)-1]
	w.refs = w.refs[:len(w.refs)-1]
	return e
}

// alloc is add_to_swap(): a fresh folio gets a slot and enters the swap
// cache.
func (w *stressWorker) alloc() {
	f := w.r.pool.Alloc(w.t)
	if f == nil {
		return
	}
	f.Flags.Set(w.t, mem.PGSwapBacked)
	f.Lock(w.t)
	e, err := w.r.c.FolioAllocSwap(w.t, f, nil)
	if err != nil {
		f.Unlock(w.t)
		f.Put(w.t)
		if err != ErrNoSwap {
			w.fail("FolioAllocSwap: %v", err)
		}
		return
	}
	if got := w.r.slotOn(w.t, e); got != "cached" {
		w.fail("fresh slot %v is %s", e, got)
	}
	// try_to_unmap: the PTE now holds the entry.
	if err := w.r.c.FolioDupSwap(w.t, f); err != nil {
		w.fail("FolioDupSwap of a fresh slot %v: %v", e, err)
	} else {
		w.refs = append(w.refs, e)
	}
	f.Unlock(w.t)
	w.cached = append(w.cached, f)
}

// uncache drops one cache folio: delete it from the swap cache if it is
// still there, and drop the worker's reference.
func (w *stressWorker) uncache(i int) {
	f := w.cached[i]
	w.cached[i] = w.cached[len(w.cached)-1]
	w.cached = w.cached[:len(w.cached)-1]
	f.Lock(w.t)
	if f.Test(w.t, mem.PGSwapCache) {
		w.r.c.SwapCacheDelFolio(w.t, f)
	}
	f.Unlock(w.t)
	f.Flags.Clear(w.t, mem.PGDirty)
	f.Put(w.t)
}

// dup adds references to an entry the worker holds (fork): usually one,
// some times enough to go through the classic design's continuation
// digits or the table design's extend table.
func (w *stressWorker) dup() {
	_, e := w.pick()
	n := 1
	if w.rnd.IntN(20) == 0 {
		n = SwapMapMax + 1 + w.rnd.IntN(3*SwapMapMax)
	}
	for range n {
		if err := w.r.c.SwapDupEntryDirect(w.t, e); err != nil {
			w.fail("SwapDupEntryDirect(%v) with a reference held: %v", e, err)
			return
		}
		w.refs = append(w.refs, e)
	}
}

// free drops a reference, as zap_pte_range does (swap_put_entries_direct),
// or in the classic design half the time as do_swap_page's bypass does
// (swap_free of an entry with no folio).
func (w *stressWorker) free() {
	i, _ := w.pick()
	e := w.dropRef(i)
	if w.r.c.Design() == design.Classic && w.rnd.IntN(2) == 0 {
		w.r.c.SwapFree(w.t, e)
	} else {
		w.r.c.SwapPutEntriesDirect(w.t, e)
	}
}

// swapin is do_swap_page's swap cache path. Look the entry up: a folio
// found is locked and checked, and half the time "mapped": one of the
// worker's references goes (folio_put_swap) and the swap copy is dropped
// if nothing else holds it (folio_free_swap). A miss runs the swap-in
// insertion protocol (SwapinReserve, SwapinCommit or SwapinCancel), the
// reservation's conflicts being the other workers' swap-ins.
func (w *stressWorker) swapin() {
	i, e := w.pick()
	c := w.r.c
	si := c.GetSwapDevice(w.t, e)
	if si == nil {
		w.fail("GetSwapDevice(%v) = nil with a reference held", e)
		return
	}
	defer c.PutSwapDevice(w.t, si)
	if f := c.SwapCacheGetFolio(w.t, e); f != nil {
		// folio->swap is stable under the folio lock; the folio may
		// have left the swap cache before we got it.
		f.Lock(w.t)
		inCache := f.Test(w.t, mem.PGSwapCache)
		if inCache && f.Swap() != e && c.Design() == design.Classic {
			// The table design's lookup is lockless: a stale
			// entry is possible and the check below is what
			// catches it; the classic lookup is under the lock.
			w.fail("swap cache lookup of %v found %v of %v", e, f, f.Swap())
		}
		if inCache && f.Swap() == e && w.rnd.IntN(2) == 0 {
			c.FolioPutSwap(w.t, f)
			w.dropRef(i)
			c.FolioFreeSwap(w.t, f)
		}
		f.Unlock(w.t)
		f.Put(w.t)
		return
	}
	if !c.SwapEntrySwapped(w.t, si, e) {
		w.fail("SwapEntrySwapped(%v) = false with a reference held", e)
		return
	}
	var f *mem.Folio
	if w.rnd.IntN(4) != 0 {
		f = w.r.pool.Alloc(w.t)
	}
	if f == nil {
		return
	}
	f.Flags.Set(w.t, mem.PGSwapBacked)
	switch err := c.SwapinReserve(w.t, si, f, e); err {
	case nil:
		if w.rnd.IntN(4) == 0 {
			// The charge failed.
			c.SwapinCancel(w.t, si, f, e)
			f.Unlock(w.t)
			f.Put(w.t)
			return
		}
		c.SwapinCommit(w.t, f, e)
		f.Unlock(w.t)
		w.cached = append(w.cached, f)
	case ErrExist:
		// Another worker's swap-in holds it; the folio was left
		// unlocked.
		f.Put(w.t)
	default:
		w.fail("SwapinReserve(%v) with a reference held: %v", e, err)
		f.Put(w.t)
	}
}

func (w *stressWorker) step() {
	switch op := w.rnd.IntN(100); {
	case op < 20 || len(w.refs) == 0:
		w.alloc()
	case op < 35:
		w.dup()
	case op < 55:
		w.free()
	case op < 65:
		w.swapin()
	case op < 75:
		if len(w.cached) > 0 {
			w.uncache(w.rnd.IntN(len(w.cached)))
		}
	case op < 85:
		i, _ := w.pick()
		select {
		case w.pass <- w.refs[i]:
			w.dropRef(i)
		default:
		}
	default:
		select {
		case e := <-w.pass:
			w.refs = append(w.refs, e)
		default:
		}
	}
	// Keep the working set bounded.
	for len(w.refs) > 3000 {
		w.free()
	}
	for len(w.cached) > 40 {
		w.uncache(0)
	}
}

func (w *stressWorker) drain() {
	for len(w.cached) > 0 {
		w.uncache(len(w.cached) - 1)
	}
	for len(w.refs) > 0 {
		w.free()
	}
}

// TestStress runs workers on CPUs of their own against two devices of one
// priority and a lower one, small enough that they fill, so that the
// allocator's reclaim, the slow path and the available list all run, in
// each design. At the end every slot and frame is free and the audit is
// clean.
func TestStress(t *testing.T) {
	forDesigns(t, testStress)
}

func testStress(t *testing.T, d design.Design) {
	workers, steps := 6, 40000
	if testing.Short() {
		workers, steps = 4, 2000
	}
	frames := 200
	r := newRigDesign(t, d, frames)
	r.swapon("a", 700, SwaponOptions{Prefer: true, Priority: 5})
	r.swapon("b", 700, SwaponOptions{Prefer: true, Priority: 5})
	r.swapon("c", 1024, SwaponOptions{Prefer: true, Priority: 1})
	pass := make(chan mem.SwpEntry, 64)
	ws := make([]*stressWorker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = &stressWorker{
			r:    r,
			t:    ksync.NewTask(fmt.Sprintf("w%d", i), i),
			rnd:  rand.New(rand.NewPCG(uint64(i), 42)),
			pass: pass,
		}
		wg.Add(1)
		go func(w *stressWorker) {
			defer wg.Done()
			for range steps {
				w.step()
			}
		}(ws[i])
	}
	wg.Wait()
	// Quiescent: check the audit with references still held, then give
	// everything back.
	r.audit()
	var overflow uint64
	for _, si := range r.devs {
		overflow += si.Footprint(r.t).Overflow
	}
	t.Logf("slots in use at the end: %d %d %d; overflow (continuation pages or extend tables) %d B; alloc failures %d",
		r.devs[0].InusePages(r.t), r.devs[1].InusePages(r.t), r.devs[2].InusePages(r.t), overflow, r.c.Stats.AllocFail.Sum())
	close(pass)
	for e := range pass {
		ws[0].refs = append(ws[0].refs, e)
	}
	for _, w := range ws {
		w.drain()
		for _, e := range w.errs {
			t.Error(e)
		}
	}
	for _, si := range r.devs {
		if n := si.InusePages(r.t); n != 0 {
			t.Errorf("%s: %d slots in use after every reference was dropped", si.Name(), n)
		}
	}
	if n := r.c.NrSwapPages(r.t); n != r.c.TotalSwapPages(r.t) {
		t.Errorf("nr_swap_pages %d, total %d", n, r.c.TotalSwapPages(r.t))
	}
	if n := r.pool.NrFree(r.t); n != int64(frames) {
		t.Errorf("%d of %d frames free", n, frames)
	}
	overflows := r.c.Stats.ContAdded.Sum() + r.c.Stats.ExtendAdd.Sum()
	if r.c.Stats.SwapAlloc.Sum() == 0 || overflows == 0 || r.c.Stats.CacheHit.Sum() == 0 {
		t.Errorf("stress did too little: %d allocations, %d overflow tables added, %d swap cache hits",
			r.c.Stats.SwapAlloc.Sum(), overflows, r.c.Stats.CacheHit.Sum())
	}
	r.audit()
}
