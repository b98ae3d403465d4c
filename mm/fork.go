package mm

import (
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
)

// Fork is dup_mm(): a child address space with a copy of every mapping.
// Private pages become copy-on-write: present PTEs are write-protected
// in both parent and child, which share the folio (one more reference
// and map count); swap PTEs are copied with swap_dup_entry_direct()
// (count continuation or extend table included). The child is charged to
// the parent's cgroup.
func (m *MM) Fork(t *ksync.Task) (*MM, error) { return m.dupMM(t, -1) }

// ForkKilled is a fork that a fatal signal interrupts: dup_mmap() finds
// fatal_signal_pending() when it comes to the parent's VMA number at (0
// is the first), gives up, and the half-built child is torn down. It
// returns ErrKilled, or ErrExited, or the error of a copy that failed
// before; it is an error for the fork to succeed (the parent has at most
// at VMAs).
func (m *MM) ForkKilled(t *ksync.Task, at int) error {
	if at < 0 {
		return fmt.Errorf("fork killed at VMA %d: %w", at, ErrInval)
	}
	child, err := m.dupMM(t, at)
	if err == nil {
		child.Exit(t)
		return fmt.Errorf("fork: no fatal signal seen: the parent has %d VMAs or fewer", at)
	}
	return err
}

// dupMM is dup_mm() and dup_mmap(); killAt is the parent VMA at which
// dup_mmap() sees a fatal signal, or -1.
//
// As since commit d24062914837 (v6.8, __mt_dup()), the child's VMA tree
// starts as a copy of the parent's, whose entries are replaced by the
// child's own VMAs one by one; both mmap_locks are held for writing
// meanwhile. The child is on mmlist from the start (the kernel adds it at
// its first swap entry), so try_to_unuse sees it and waits for its lock.
//
// A fork that fails marks the VMA where it stopped with XA_ZERO_ENTRY (a
// nil VMA here: exit_mmap stops there, the entries past it being still
// the parent's), sets MMF_UNSTABLE, drops the locks and only then tears
// the child down (mmput). Between the two, swapoff's unuse can walk the
// half-built tree: the race of scenario swapoff-fork-fail (drawn in
// explore/testdata/scenarios/swapoff-fork-fail.txt), which unuse's check
// of MMF_UNSTABLE closes (the fork-unstable fix, commit 1367da7eb875),
// or, in its destroy-partial variant, a failed fork that tears down what
// it copied before it drops the lock.
func (m *MM) dupMM(t *ksync.Task, killAt int) (*MM, error) {
	m.mmapLock.Lock(t)
	if m.dead {
		m.mmapLock.Unlock(t)
		return nil, ErrExited
	}
	child := m.node.NewMM(t, m.memcg)
	child.mmapLock.LockNested(t) // mmap_write_lock_nested()
	child.nextAddr = m.nextAddr
	child.vmas = append([]*vma(nil), m.vmas...) // __mt_dup()
	var err error
	failAt := len(m.vmas)
	for i, v := range m.vmas {
		if i == killAt {
			err, failAt = ErrKilled, i
			break
		}
		cv := &vma{mm: child, start: v.start, end: v.end, prot: v.prot, anon: v.anon, file: v.file, fileBase: v.fileBase}
		// anon_vma_fork() before copy_page_range(): an rmap walk that
		// runs while the PTEs are copied sees the child's VMA.
		v.anon.link(t, cv)
		child.vmas[i] = cv
		if v.file != nil {
			// A shared mapping's PTEs are not copied: the child's
			// faults fill them from the file (copy_page_range's
			// vma_needs_copy() is false).
			continue
		}
		if err = m.copyPageRange(t, child, v); err != nil {
			failAt = i + 1 // the kernel's mpnt = vma_next()
			break
		}
	}
	if err != nil {
		child.dupMMFailedLocked(t, failAt)
	}
	child.mmapLock.Unlock(t)
	m.mmapLock.Unlock(t)
	if err != nil {
		child.Exit(t) // dup_mm()'s failure path: mmput()
		return nil, err
	}
	return child, nil
}

// dupMMFailedLocked is dup_mmap()'s failure path for a child whose VMAs
// before at were duplicated: mark the failure point with XA_ZERO_ENTRY
// and set MMF_UNSTABLE. With the fork-unstable fix's destroy-partial
// variant, tear down what was duplicated instead and leave an empty
// tree. The child's mmapLock is held for writing.
func (m *MM) dupMMFailedLocked(t *ksync.Task, at int) {
	m.unstable = true
	if m.node.cfg.Fixes.Get(fixes.ForkUnstable) == fixes.ForkUnstableDestroyPartial {
		for _, v := range m.vmas[:at] {
			m.zapRange(t, v.start, v.end)
			v.anon.rwsem.Lock(t)
			v.anon.unlinkLocked(t, v)
			v.anon.rwsem.Unlock(t)
		}
		m.vmas = nil
		return
	}
	if at < len(m.vmas) {
		m.vmas[at] = nil
	}
}

// copyPageRange is copy_page_range() for one VMA: the mmapLocks of parent
// and child are held for writing; the child is not yet visible to anyone
// but rmap walks, which take its PTLs (try_to_unuse waits for its
// mmapLock).
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
