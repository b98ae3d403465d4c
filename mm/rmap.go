package mm

import (
	"uswap/ksync"
	"uswap/mem"
)

// anonVMA is struct anon_vma, simplified: one per lineage. Mmap makes a
// new one; every VMA that fork copies from it (in the child, the
// grandchild, ...) and every piece that munmap splits off joins the same
// one. An anonymous folio's Mapping is its lineage's anonVMA and its
// Index is its virtual page number, which fork preserves (there is no
// mremap), so the rmap walk visits each VMA of the lineage that covers
// the address and checks whether its PTE maps the folio's frame. The
// kernel's anon_vma_chain tree avoids visiting VMAs of unrelated forks;
// here they are visited and skipped by the PFN check, which is correct
// and only costs time.
type anonVMA struct {
	// rwsem is anon_vma->rwsem: readers walk vmas (rmap); writers add
	// and remove VMAs and change their bounds.
	rwsem ksync.RWSem
	vmas  []*vma // guarded by rwsem
}

// newAnonVMA is anon_vma_alloc().
func newAnonVMA() *anonVMA {
	av := new(anonVMA)
	av.rwsem.Init(ksync.RankAnonVMA)
	return av
}

func (av *anonVMA) link(t *ksync.Task, v *vma) {
	av.rwsem.Lock(t)
	av.vmas = append(av.vmas, v)
	av.rwsem.Unlock(t)
}

// unlinkLocked removes v; rwsem is held for writing.
func (av *anonVMA) unlinkLocked(t *ksync.Task, v *vma) {
	av.rwsem.AssertWriteHeld(t)
	av.vmas = without(av.vmas, v)
}

// rmapWalk is rmap_walk(): call fn for every PTE that maps folio, with
// that PTE's table locked, through its anon_vma (rmap_walk_anon) or, for
// a shmem folio, through its file's mappings (rmap_walk_file). The folio
// is locked. With tryLock (as reclaim asks, rwc->try_lock) a contended
// anon_vma makes the walk give up and report false. fn returns false to
// stop the walk.
func (n *Node) rmapWalk(t *ksync.Task, folio *mem.Folio, tryLock bool, fn func(v *vma, pt *pteTable, i int, p pte) bool) bool {
	if f, ok := folio.Mapping.(*ShmemFile); ok {
		return n.rmapWalkFile(t, f, folio, tryLock, fn)
	}
	av, _ := folio.Mapping.(*anonVMA)
	if av == nil {
		return true
	}
	locked, _ := av.walk(t, folio, nil, tryLock, fn)
	return locked
}

// walk is the body of both rmap walks for one anon_vma: under its rwsem
// (taken for reading, or only tried with tryLock), call fn for the PTE of
// each VMA that maps folio, with the PTE's table locked. file is nil for
// an anonymous folio, whose address is its index; for a shmem folio only
// the VMAs that map file count, at the address the file's offset maps
// to. It reports whether it got the rwsem and whether fn let it go on.
func (av *anonVMA) walk(t *ksync.Task, folio *mem.Folio, file *ShmemFile, tryLock bool, fn func(v *vma, pt *pteTable, i int, p pte) bool) (locked, cont bool) {
	if tryLock {
		if !av.rwsem.TryRLock(t) {
			return false, false
		}
	} else {
		av.rwsem.RLock(t)
	}
	defer av.rwsem.RUnlock(t)
	for _, v := range av.vmas {
		if v.file != file {
			continue
		}
		addr := folio.Index << PageShift
		if file != nil {
			addr += v.fileBase
		}
		if addr < v.start || addr >= v.end {
			continue
		}
		pt, i := v.mm.lookupPTE(t, addr)
		if pt == nil {
			continue
		}
		pt.ptl.Lock(t)
		p := pte(pt.ptes[i].Load(t))
		cont := true
		if p.present() && p.pfn() == folio.PFN() {
			cont = fn(v, pt, i, p)
		}
		pt.ptl.Unlock(t)
		if !cont {
			return true, false
		}
	}
	return true, true
}

// folioReferenced is folio_referenced(): test and clear the accessed bit
// of every PTE that maps the folio; it returns how many had it, or -1 if
// the anon_vma was contended (the kernel then treats the folio as
// referenced).
func (n *Node) folioReferenced(t *ksync.Task, folio *mem.Folio) int {
	refs := 0
	ok := n.rmapWalk(t, folio, true, func(v *vma, pt *pteTable, i int, p pte) bool {
		if p&pteAccessed != 0 {
			pt.ptes[i].Store(t, uint64(p&^pteAccessed))
			refs++
		}
		return true
	})
	if !ok {
		return -1
	}
	return refs
}

// tryToUnmap is try_to_unmap() for an anonymous folio in the swap cache:
// replace every PTE that maps it by its swap entry (try_to_unmap_one),
// moving the dirty bit to the folio, adding a swap count per PTE and
// dropping the PTE's map count and reference. The folio is locked. It
// reports whether the folio is unmapped (folio_mapped() is false).
func (n *Node) tryToUnmap(t *ksync.Task, folio *mem.Folio) bool {
	entry := folio.Swap()
	failed := false
	ok := n.rmapWalk(t, folio, true, func(v *vma, pt *pteTable, i int, p pte) bool {
		// folio_dup_swap() (classic: swap_duplicate()) before the PTE
		// changes: if the count cannot grow, leave the PTE as it is and
		// give up (the kernel restores the PTE and returns false).
		if err := n.core.FolioDupSwap(t, folio); err != nil {
			failed = true
			return false
		}
		pt.ptes[i].Store(t, uint64(swpEntryToPTE(entry)))
		if p&pteDirty != 0 {
			folio.Flags.Set(t, mem.PGDirty)
		}
		folio.RemoveMap(t)
		folio.RefSub(t, 1) // the caller holds a reference: never the last
		return true
	})
	return ok && !failed && !folio.Mapped(t)
}
