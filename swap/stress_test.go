package swap

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

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
	if m := w.r.mapByteOn(w.t, e); m != SwapHasCache {
		w.fail("fresh slot %v has map %#x", e, m)
	}
	// try_to_unmap: the PTE now holds the entry.
	if err := w.r.c.SwapDuplicate(w.t, e); err != nil {
		w.fail("SwapDuplicate of a fresh slot %v: %v", e, err)
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
		w.r.c.DeleteFromSwapCache(w.t, f)
	}
	f.Unlock(w.t)
	f.Flags.Clear(w.t, mem.PGDirty)
	f.Put(w.t)
}

// dup adds references to an entry the worker holds: usually one, some
// times enough to go through the continuation digits.
func (w *stressWorker) dup() {
	_, e := w.pick()
	n := 1
	if w.rnd.IntN(20) == 0 {
		n = SwapMapMax + 1 + w.rnd.IntN(3*SwapMapMax)
	}
	for range n {
		if err := w.r.c.SwapDuplicate(w.t, e); err != nil {
			w.fail("SwapDuplicate(%v) with a reference held: %v", e, err)
			return
		}
		w.refs = append(w.refs, e)
	}
}

// free drops a reference, as zap_pte_range does (free_swap_and_cache) or
// as do_swap_page does (swap_free).
func (w *stressWorker) free() {
	i, _ := w.pick()
	e := w.dropRef(i)
	if w.rnd.IntN(2) == 0 {
		w.r.c.SwapFree(w.t, e)
	} else {
		w.r.c.FreeSwapAndCache(w.t, e)
	}
}

// swapin is do_swap_page's swap cache path: look the entry up; if it is
// not cached, pin it with swapcache_prepare and either add a new folio
// to the swap cache or give the pin back.
func (w *stressWorker) swapin() {
	_, e := w.pick()
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
		if f.Test(w.t, mem.PGSwapCache) && f.Swap() != e {
			w.fail("swap cache lookup of %v found %v of %v", e, f, f.Swap())
		}
		f.Unlock(w.t)
		f.Put(w.t)
		return
	}
	switch err := c.SwapcachePrepare(w.t, e); err {
	case nil:
	case ErrExist:
		return // cached or pinned by another worker
	default:
		w.fail("SwapcachePrepare(%v) with a reference held: %v", e, err)
		return
	}
	var f *mem.Folio
	if w.rnd.IntN(2) == 0 {
		f = w.r.pool.Alloc(w.t)
	}
	if f == nil {
		c.SwapcacheClear(w.t, si, e)
		c.WakeSwapcacheWaiters(w.t)
		return
	}
	f.Flags.Set(w.t, mem.PGSwapBacked)
	f.Lock(w.t)
	if err := c.AddToSwapCache(w.t, f, e); err != nil {
		w.fail("AddToSwapCache(%v) with the pin held: %v", e, err)
	}
	f.Unlock(w.t)
	w.cached = append(w.cached, f)
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

// mapByteOn is mapByte on task t.
func (r *rig) mapByteOn(t *ksync.Task, e mem.SwpEntry) uint8 {
	si := r.c.swapInfoOf(t, e)
	ci := si.lockCluster(t, e.Offset())
	defer ci.lock.Unlock(t)
	return si.swapMap[e.Offset()]
}

// TestStress runs workers on CPUs of their own against two devices of one
// priority and a lower one, small enough that they fill, so that the
// allocator's reclaim, the slow path and the available list all run.
// At the end every slot and frame is free and the audit is clean.
func TestStress(t *testing.T) {
	workers, steps := 6, 40000
	if testing.Short() {
		workers, steps = 4, 2000
	}
	frames := 200
	r := newRig(t, frames)
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
	var contPages int
	for _, si := range r.devs {
		for i := range si.cont {
			contPages += contPagesOf(r.t, si, uint64(i)*contPageSize)
		}
	}
	t.Logf("slots in use at the end: %d %d %d; continuation pages %d; alloc failures %d",
		r.devs[0].InusePages(r.t), r.devs[1].InusePages(r.t), r.devs[2].InusePages(r.t), contPages, r.c.Stats.AllocFail.Sum())
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
	if r.c.Stats.SwapAlloc.Sum() == 0 || r.c.Stats.ContAdded.Sum() == 0 {
		t.Errorf("stress did too little: %d allocations, %d continuation pages added", r.c.Stats.SwapAlloc.Sum(), r.c.Stats.ContAdded.Sum())
	}
	r.audit()
}
