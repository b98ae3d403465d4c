package mm

import (
	"fmt"

	"uswap/ksync"
)

// Fork is dup_mm(): a child address space with a copy of every mapping.
// Private pages become copy-on-write: present PTEs are write-protected
// in both parent and child, which share the folio (one more reference
// and map count); swap PTEs are copied with swap_dup_entry_direct()
// (count continuation or extend table included). The child is charged to the parent's cgroup.
func (m *MM) Fork(t *ksync.Task) (*MM, error) {
	m.mmapLock.Lock(t)
	defer m.mmapLock.Unlock(t)
	if m.dead {
		return nil, ErrExited
	}
	// The child is on mmlist before it holds any swap entry, so that
	// try_to_unuse finds it (the kernel adds it next to the parent).
	child := m.node.NewMM(t, m.memcg)
	child.nextAddr = m.nextAddr
	for _, v := range m.vmas {
		cv := &vma{mm: child, start: v.start, end: v.end, prot: v.prot, anon: v.anon, file: v.file, fileBase: v.fileBase}
		// anon_vma_fork() before copy_page_range(): an rmap walk that
		// runs while the PTEs are copied sees the child's VMA.
		v.anon.link(t, cv)
		child.vmas = append(child.vmas, cv)
		if v.file != nil {
			// A shared mapping's PTEs are not copied: the child's
			// faults fill them from the file (copy_page_range's
			// vma_needs_copy() is false).
			continue
		}
		if err := m.copyPageRange(t, child, v); err != nil {
			child.Exit(t)
			return nil, err
		}
	}
	return child, nil
}

// copyPageRange is copy_page_range() for one VMA: mmapLock of the parent
// is held for writing; the child is not yet visible to anyone but rmap
// walks and try_to_unuse, which take its PTLs.
func (m *MM) copyPageRange(t *ksync.Task, child *MM, v *vma) error {
	var err error
	m.forEachTable(t, v.start, v.end, func(src *pteTable, base uint64, lo, hi int) bool {
		dst, _ := child.allocPTE(t, base+uint64(lo)<<PageShift)
		src.ptl.Lock(t)
		dst.ptl.LockNested(t) // the only place two PTLs nest: the child's is unreachable
		for i := lo; i < hi && err == nil; i++ {
			p := pte(src.ptes[i].Load(t))
			switch {
			case p.none():
				continue
			case p.isSwap():
				// copy_nonpresent_pte(): swap_dup_entry_direct() under
				// both PTLs (classic: swap_duplicate(), which adds a
				// continuation page itself when the count passes
				// SWAP_MAP_MAX; table: the extend table past 14).
				if e := m.node.core.SwapDupEntryDirect(t, pteToSwpEntry(p)); e != nil {
					err = fmt.Errorf("fork: swap_dup_entry_direct(%v): %w", pteToSwpEntry(p), e)
					continue
				}
			case p.present():
				// copy_present_pte(): share the folio, write-protect
				// both PTEs, the child's made old.
				f := m.node.pool.Folio(p.pfn())
				f.Get(t)
				f.AddMap(t)
				if p.writable() {
					p &^= pteWrite
					src.ptes[i].Store(t, uint64(p))
				}
				p &^= pteAccessed
			}
			dst.ptes[i].Store(t, uint64(p))
		}
		dst.ptl.Unlock(t)
		src.ptl.Unlock(t)
		ksync.CondResched(t)
		return err == nil
	})
	return err
}
