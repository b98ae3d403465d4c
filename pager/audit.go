package pager

import (
	"fmt"

	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
)

// Audit checks the pager's books at quiescence (no worker, reclaimer or
// process thread in flight): every present page's folio maps that page
// once, is on the LRU, and holds the references of its pte and of the
// swap cache (whose slot no pte then holds); every swapped-out page's
// slot has a count of one and no folio in the swap cache; no slot is held
// by two pages; every frame is free or mapped; and the swap core's own
// audit.
func (p *Pager) Audit(t *ksync.Task) invariant.List {
	var vs invariant.List
	add := func(id invariant.ID, obj, format string, args ...any) {
		vs = append(vs, invariant.Newf(id, obj, format, args...))
	}
	mapped := 0
	slots := make(map[mem.SwpEntry]uint64)
	lruCount := 0
	for page := range p.ptes {
		v := p.pteGet(t, uint64(page))
		obj := fmt.Sprintf("page %d", page)
		switch v.kind() {
		case kindPresent:
			mapped++
			if v.dropping() {
				add(invariant.NoKernelBug, obj, "is %v at rest", v)
			}
			f := p.pool.Folio(v.pfn())
			fl := f.Flags.Load(t)
			cached := fl&(1<<mem.PGSwapCache) != 0
			want := int32(1)
			if cached {
				want++
				if n := p.core.SwpSwapcount(t, f.Swap()); n != 0 {
					add(invariant.SwapCount, obj, "its swap cache slot %v has count %d, want 0 (the pte maps the folio)", f.Swap(), n)
				}
				if other, dup := slots[f.Swap()]; dup {
					add(invariant.SwapCount, obj, "slot %v is also page %d's", f.Swap(), other)
				}
				slots[f.Swap()] = uint64(page)
			}
			switch {
			case f.Index != uint64(page) || f.Mapping != p:
				add(invariant.NoLostFrame, obj, "maps %v, which belongs to page %d", f, f.Index)
			case f.MapCount(t) != 1:
				add(invariant.NoLostFrame, obj, "%v has mapcount %d, want 1", f, f.MapCount(t))
			case f.RefCount(t) != want:
				add(invariant.NoLostFrame, obj, "%v has refcount %d, want %d", f, f.RefCount(t), want)
			case fl&(1<<mem.PGLRU) == 0:
				add(invariant.NoLostFrame, obj, "%v is not on the LRU", f)
			case fl&(1<<mem.PGLocked|1<<mem.PGWriteback) != 0:
				add(invariant.NoKernelBug, obj, "%v is %s at rest", f, mem.FlagString(fl))
			}
			if fl&(1<<mem.PGLRU) != 0 {
				lruCount++
			}
		case kindSwap:
			e := v.entry()
			if n := p.core.SwpSwapcount(t, e); n != 1 {
				add(invariant.SwapCount, obj, "its slot %v has count %d, want 1", e, n)
			}
			if f := p.core.SwapCacheGetFolio(t, e); f != nil {
				add(invariant.SwapCache, obj, "its slot %v has %v in the swap cache at rest", e, f)
				f.Put(t)
			}
			if other, dup := slots[e]; dup {
				add(invariant.SwapCount, obj, "slot %v is also page %d's", e, other)
			}
			slots[e] = uint64(page)
		}
	}
	// Unmapped folios on the LRU are the swap cache's, left to reclaim
	// by a discard that found them locked: their slot has no other
	// reference.
	stranded := 0
	for _, which := range []int{lruInactive, lruActive} {
		for pfn := p.lru.lists[which].head; pfn >= 0; pfn = p.pool.Folio(int(pfn)).LRUNext {
			f := p.pool.Folio(int(pfn))
			if f.Mapped(t) {
				continue
			}
			stranded++
			obj := f.String()
			switch {
			case !f.Test(t, mem.PGSwapCache):
				add(invariant.NoLostFrame, obj, "on the LRU, mapped by no page and not in the swap cache")
			case p.core.SwpSwapcount(t, f.Swap()) != 0:
				add(invariant.SwapCount, obj, "unmapped swap cache folio whose slot %v has count %d", f.Swap(), p.core.SwpSwapcount(t, f.Swap()))
			case f.RefCount(t) != 1:
				add(invariant.NoLostFrame, obj, "unmapped swap cache folio with refcount %d, want 1", f.RefCount(t))
			}
		}
	}
	free := p.pool.NrFree(t)
	if int(free)+mapped+stranded != p.pool.Frames() {
		add(invariant.NoLostFrame, "pager", "%d frames free, %d mapped and %d left to reclaim, of %d", free, mapped, stranded, p.pool.Frames())
	}
	in, act := p.lru.sizes(t)
	if in+act != lruCount+stranded {
		add(invariant.NoLostFrame, "lruvec", "lists hold %d+%d folios: %d mapped and %d left to reclaim", in, act, lruCount, stranded)
	}
	for _, v := range p.core.Audit(t) {
		vs = append(vs, v)
	}
	return vs
}
