package mm

import (
	"fmt"
	"sort"
	"uswap/invariant"

	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/swap"
)

// Audit checks, at quiescence (no task running in the node), the
// invariants that need the page tables (docs/invariants.md):
//
//   - swap-count: every in-use slot's count equals the number of swap
//     PTEs and shmem index entries that hold its entry, and every swap
//     PTE names an in-use slot;
//   - no-lost-frame: every frame is free, or reachable from a page
//     table, a shmem file or the swap cache, and on exactly one LRU list
//     of its cgroup, with refcount = PTEs mapping it + index entries +
//     the swap cache's reference, and map count = PTEs mapping it; the
//     LRU lists agree with the PGLRU/PGActive bits;
//   - memcg-charge: every frame is charged, and each cgroup's counters
//     equal the frames and slots charged to its subtree (the hierarchy's
//     Audit, given this walk's census).
//
// slot-accounting and swap-cache are the swap core's Audit.
func (n *Node) Audit(t *ksync.Task) []invariant.Violation {
	var vs []invariant.Violation
	add := func(id invariant.ID, obj, format string, args ...any) {
		vs = append(vs, invariant.Newf(id, obj, format, args...))
	}
	frames := n.pool.Frames()
	mapped := make([]int, frames)
	swapPTEs := map[mem.SwpEntry]int{}
	for _, m := range n.MMs(t) {
		m.mmapLock.RLock(t)
		for _, v := range m.vmas {
			m.forEachTable(t, v.start, v.end, func(pt *pteTable, base uint64, lo, hi int) bool {
				pt.ptl.Lock(t)
				for i := lo; i < hi; i++ {
					p := pte(pt.ptes[i].Load(t))
					switch {
					case p.present():
						mapped[p.pfn()]++
						f := n.pool.Folio(p.pfn())
						if !v.rmapMatches(f, base+uint64(i)<<PageShift) {
							add(invariant.NoLostFrame, f.String(), "mapped at %#x of %v but its rmap says index %#x", base+uint64(i)<<PageShift, m, f.Index)
						}
					case p.isSwap():
						swapPTEs[pteToSwpEntry(p)]++
					}
				}
				pt.ptl.Unlock(t)
				return true
			})
		}
		m.mmapLock.RUnlock(t)
	}

	inIndex := n.shmemAudit(t, swapPTEs, add)

	// swap-count (swap PTEs and shmem index entries alike).
	census := memcg.Census{Frames: map[uint16]int64{}, Slots: map[uint16]int64{}}
	seen := map[mem.SwpEntry]bool{}
	n.core.ForEachSlot(t, func(s swap.SlotState) {
		seen[s.Entry] = true
		census.Slots[s.MemcgID]++
		if got := swapPTEs[s.Entry]; got != s.Count {
			add(invariant.SwapCount, "slot "+s.Entry.String(), "count %d, but %d swap PTEs hold it", s.Count, got)
		}
	})
	var orphans []mem.SwpEntry
	for e := range swapPTEs {
		if !seen[e] {
			orphans = append(orphans, e)
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i] < orphans[j] })
	for _, e := range orphans {
		add(invariant.SwapCount, "slot "+e.String(), "%d swap PTEs hold an entry whose slot is free", swapPTEs[e])
	}

	// The LRU lists.
	onLRU := make([]int, frames)
	for _, lv := range n.allLruvecs(t) {
		lv.lock.Lock(t)
		for lru := range lv.lists {
			l := &lv.lists[lru]
			k := 0
			prev := int32(-1)
			for pfn := l.head; pfn >= 0 && k <= frames; pfn = n.pool.Folio(int(pfn)).LRUNext {
				f := n.pool.Folio(int(pfn))
				onLRU[pfn]++
				k++
				if f.LRUPrev != prev {
					add(invariant.NoLostFrame, f.String(), "broken LRU back link")
				}
				prev = pfn
				if !f.Test(t, mem.PGLRU) {
					add(invariant.NoLostFrame, f.String(), "on an LRU list without PGLRU")
				}
				if (lru == lruActive) != f.Test(t, mem.PGActive) {
					add(invariant.NoLostFrame, f.String(), "on LRU list %d with flags %s", lru, mem.FlagString(f.Flags.Load(t)))
				}
				if f.MemcgID != lv.memcgID {
					add(invariant.NoLostFrame, f.String(), "charged to memcg %d but on the LRU of memcg %d", f.MemcgID, lv.memcgID)
				}
			}
			if k != l.n {
				add(invariant.NoLostFrame, fmt.Sprintf("lruvec of memcg %d", lv.memcgID), "list %d has %d folios, its count says %d", lru, k, l.n)
			}
		}
		lv.lock.Unlock(t)
	}

	// no-lost-frame, frame by frame.
	free := 0
	for pfn := range frames {
		f := n.pool.Folio(pfn)
		ref := f.RefCount(t)
		fl := f.Flags.Load(t)
		if ref == 0 {
			free++
			if mapped[pfn] != 0 || onLRU[pfn] != 0 {
				add(invariant.NoLostFrame, f.String(), "free but mapped %d times, on %d LRU lists", mapped[pfn], onLRU[pfn])
			}
			continue
		}
		inCache := fl&(1<<mem.PGSwapCache) != 0
		want := int32(mapped[pfn] + inIndex[pfn])
		if inCache {
			want++
		}
		if mapped[pfn] == 0 && !inCache && inIndex[pfn] == 0 {
			add(invariant.NoLostFrame, f.String(), "lost: refcount %d, flags %s, not mapped and not in the swap cache", ref, mem.FlagString(fl))
		}
		if ref != want {
			add(invariant.NoLostFrame, f.String(), "refcount %d, expected %d (%d PTEs, swap cache %v)", ref, want, mapped[pfn], inCache)
		}
		if mc := f.MapCount(t); int(mc) != mapped[pfn] {
			add(invariant.NoLostFrame, f.String(), "map count %d, but %d PTEs map it", mc, mapped[pfn])
		}
		if onLRU[pfn] != 1 || fl&(1<<mem.PGLRU) == 0 {
			add(invariant.NoLostFrame, f.String(), "on %d LRU lists, flags %s", onLRU[pfn], mem.FlagString(fl))
		}
		if fl&(1<<mem.PGLocked|1<<mem.PGWriteback) != 0 {
			add(invariant.NoLostFrame, f.String(), "locked or under writeback at quiescence: %s", mem.FlagString(fl))
		}
		if f.MemcgID == 0 {
			add(invariant.MemcgCharge, f.String(), "allocated but charged to no memcg")
		}
		census.Frames[f.MemcgID]++
	}
	if got := n.pool.NrFree(t); got != int64(free) {
		add(invariant.NoLostFrame, "pool", "nr_free %d, but %d frames have refcount 0", got, free)
	}
	// memcg-charge: the cgroups' counters against what is charged.
	return append(vs, n.hier.Audit(t, census)...)
}

// AuditEmpty checks the end state of no-lost-frame: with every address
// space gone and reclaim drained, every frame and every slot is free.
func (n *Node) AuditEmpty(t *ksync.Task) []invariant.Violation {
	var vs []invariant.Violation
	if mms := n.MMs(t); len(mms) != 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostFrame, "mmlist", "%d address spaces still live", len(mms)))
	}
	if free, all := n.pool.NrFree(t), int64(n.pool.Frames()); free != all {
		vs = append(vs, invariant.Newf(invariant.NoLostFrame, "pool", "%d of %d frames free after everything exited", free, all))
	}
	for _, si := range n.core.Active(t) {
		if in := si.InusePages(t); in != 0 {
			vs = append(vs, invariant.Newf(invariant.NoLostFrame, si.Name(), "%d slots in use after everything exited", in))
		}
	}
	return append(vs, n.shmemAuditEmpty(t)...)
}

// Drain reclaims everything reclaim can take (stranded swap-cache folios
// included) until a pass frees nothing; it returns the frames freed.
func (n *Node) Drain(t *ksync.Task) int {
	total := 0
	for {
		got := n.shrinkNode(t, nil, n.pool.Frames())
		total += got
		if got == 0 {
			return total
		}
	}
}
