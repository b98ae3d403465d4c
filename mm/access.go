package mm

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// This file is the software MMU: Load and Store walk the page table like
// the hardware does, and call the fault handler (handle_mm_fault) for
// anything the walk cannot satisfy.

// maxFaultRetries bounds the refaults of one access (VM_FAULT_RETRY and
// "return 0 and let the access fault again"). Each retry follows a sleep
// or a lost race, so hitting the bound means something is wrong.
const maxFaultRetries = 1 << 20

// Load copies len(dst) bytes at addr into dst, as a program's load
// instructions would: page by page, a present PTE is read directly
// (setting its accessed bit) and anything else faults (handle_mm_fault):
// a page never touched gets a zeroed frame, a swapped-out page is swapped
// in, and the fault may reclaim (swap other pages out) to find a frame.
// Errors: ErrSegv for an address no mapping covers (or one without
// PROT_READ), ErrBus when a swap-in read failed, ErrOOM when no frame
// could be had, ErrExited after Exit. A failed Load may have copied the
// pages before the failing one.
func (m *MM) Load(t *ksync.Task, addr uint64, dst []byte) error {
	return m.access(t, addr, dst, false)
}

// Store copies src to addr, as a program's store instructions would:
// page by page, a present writable PTE is written directly (setting its
// accessed and dirty bits) and anything else faults: a first touch gets a
// zeroed frame, a swapped-out page is swapped in, a write-protected page
// shared after fork is copied (or reused when it is no longer shared).
// Errors as Load's, with ErrSegv also for a mapping without PROT_WRITE.
// A failed Store may have written the pages before the failing one.
func (m *MM) Store(t *ksync.Task, addr uint64, src []byte) error {
	return m.access(t, addr, src, true)
}

// access splits the access into pages and performs each: a hit is a
// plain copy under the PTE lock (so that reclaim, which clears PTEs under
// the same lock, can never free the frame mid-copy), anything else a
// fault followed by a retry.
func (m *MM) access(t *ksync.Task, addr uint64, buf []byte, write bool) error {
	for len(buf) > 0 {
		off := int(addr & (mem.PageSize - 1))
		n := min(len(buf), mem.PageSize-off)
		if err := m.accessPage(t, addr, buf[:n], off, write); err != nil {
			return err
		}
		addr += uint64(n)
		buf = buf[n:]
	}
	return nil
}

func (m *MM) accessPage(t *ksync.Task, addr uint64, buf []byte, off int, write bool) error {
	for try := 0; ; try++ {
		if m.tryAccess(t, addr, buf, off, write) {
			return nil
		}
		if try >= maxFaultRetries {
			return fmt.Errorf("mm: %#x: fault retried %d times", addr, try)
		}
		if err := m.handleMMFault(t, addr, write); err != nil {
			return err
		}
	}
}

// tryAccess is the TLB/hardware walk: it succeeds when the PTE is present
// with the needed permission, setting accessed (and dirty). The copy is
// done under the PTL, which is what keeps reclaim from freeing the frame
// under it:
//
//	CPU1 (Store hit)                  CPU2 (reclaim)
//	pte present, writable
//	                                  try_to_unmap: pte = swap entry
//	                                  pageout: write the frame
//	                                  __remove_mapping: free the frame
//	copy into the frame  !!! lost, or into a reused frame
//
// With the PTL held across the check and the copy, CPU2's try_to_unmap
// waits for the copy to end and pageout writes the new bytes.
func (m *MM) tryAccess(t *ksync.Task, addr uint64, buf []byte, off int, write bool) bool {
	pt, i := m.lookupPTE(t, addr)
	if pt == nil {
		return false
	}
	pt.ptl.Lock(t)
	p := pte(pt.ptes[i].Load(t))
	if !p.present() || (write && !p.writable()) {
		pt.ptl.Unlock(t)
		return false
	}
	np := p | pteAccessed
	if write {
		np |= pteDirty
	}
	if np != p {
		pt.ptes[i].Store(t, uint64(np))
	}
	data := m.node.pool.Folio(p.pfn()).Data()
	if write {
		copy(data[off:], buf)
	} else {
		copy(buf, data[off:])
	}
	pt.ptl.Unlock(t)
	return true
}

// handleMMFault is handle_mm_fault() under mmap_lock read: find the VMA,
// check the access, and dispatch on the PTE (handle_pte_fault). A nil
// return means "retry the access".
func (m *MM) handleMMFault(t *ksync.Task, addr uint64, write bool) error {
	m.mmapLock.RLock(t)
	defer m.mmapLock.RUnlock(t)
	if m.dead {
		return ErrExited
	}
	v := m.findVMALocked(t, addr)
	if v == nil {
		return fmt.Errorf("%w: no mapping at %#x", ErrSegv, addr)
	}
	if write && v.prot&ProtWrite == 0 {
		return fmt.Errorf("%w: %#x: write to a mapping without PROT_WRITE", ErrSegv, addr)
	}
	if !write && v.prot&ProtRead == 0 {
		return fmt.Errorf("%w: %#x: read of a mapping without PROT_READ", ErrSegv, addr)
	}
	m.node.Stat.PgFault.Inc(t)
	pt, i := m.allocPTE(t, addr)
	orig := pte(pt.ptes[i].Load(t))
	page := addr &^ (mem.PageSize - 1)
	switch {
	case orig.none() && v.file != nil:
		return m.shmemFault(t, v, pt, i, page)
	case orig.none():
		return m.doAnonymousPage(t, v, pt, i, page)
	case orig.isSwap():
		return m.doSwapPage(t, v, pt, i, page, orig, write)
	case orig.isMarker():
		return fmt.Errorf("%w: %#x (swapin-error marker)", ErrBus, addr)
	case orig.present() && write && !orig.writable():
		return m.doWPPage(t, v, pt, i, page, orig)
	}
	// Present with the right permission: a racing fault fixed it.
	return nil
}

// Mmap is mmap(NULL, length, prot, MAP_PRIVATE|MAP_ANONYMOUS): a new
// anonymous mapping of length bytes (rounded up to whole pages) with a
// lineage (anon_vma) of its own. prot is ProtRead, ProtWrite or both. It
// returns the mapping's first address; the pages are zero on first touch
// (a fault gives each its own frame, charged to the address space's
// cgroup). Errors: ErrInval for a zero length or an unknown prot bit,
// ErrOOM when the address space is exhausted, ErrExited after Exit.
func (m *MM) Mmap(t *ksync.Task, length uint64, prot int) (uint64, error) {
	if length == 0 || prot&^(ProtRead|ProtWrite) != 0 {
		return 0, fmt.Errorf("mmap(%d, prot %d): %w", length, prot, ErrInval)
	}
	return m.mmapRegion(t, length, prot, nil, 0)
}

// mmapRegion is mmap_region(): a new VMA of length bytes with a new
// anon_vma, placed after the last one with a guard page between them so
// that mappings never merge, mapping file from offset off when file is
// not nil (MAP_SHARED, put on the file's i_mmap list).
func (m *MM) mmapRegion(t *ksync.Task, length uint64, prot int, file *ShmemFile, off uint64) (uint64, error) {
	length = (length + mem.PageSize - 1) &^ (mem.PageSize - 1)
	m.mmapLock.Lock(t)
	defer m.mmapLock.Unlock(t)
	if m.dead {
		return 0, ErrExited
	}
	start := m.nextAddr
	if start+length > addrLimit {
		return 0, fmt.Errorf("mmap(%d): %w: address space exhausted", length, ErrOOM)
	}
	m.nextAddr = start + length + mem.PageSize
	v := &vma{mm: m, start: start, end: start + length, prot: prot, anon: newAnonVMA()}
	v.anon.link(t, v)
	if file != nil {
		v.file, v.fileBase = file, start-off
		file.iMmapLock.Lock(t)
		file.iMmap = append(file.iMmap, v.anon)
		file.iMmapLock.Unlock(t)
	}
	m.insertVMALocked(t, v)
	return start, nil
}

// insertVMALocked keeps vmas sorted; mmapLock is held for writing.
func (m *MM) insertVMALocked(t *ksync.Task, v *vma) {
	m.mmapLock.AssertWriteHeld(t)
	i := 0
	for i < len(m.vmas) && m.vmas[i].start < v.start {
		i++
	}
	m.vmas = append(m.vmas, nil)
	copy(m.vmas[i+1:], m.vmas[i:])
	m.vmas[i] = v
}

// Munmap is munmap(): unmap [addr, addr+length), zapping its PTEs and
// freeing their swap slots; mappings that straddle an end are split.
func (m *MM) Munmap(t *ksync.Task, addr, length uint64) error {
	if addr&(mem.PageSize-1) != 0 || length == 0 || addr+length < addr {
		return fmt.Errorf("munmap(%#x, %d): %w", addr, length, ErrInval)
	}
	end := (addr + length + mem.PageSize - 1) &^ (mem.PageSize - 1)
	m.mmapLock.Lock(t)
	defer m.mmapLock.Unlock(t)
	if m.dead {
		return ErrExited
	}
	var keep []*vma
	var split []*vma
	for _, v := range m.vmas {
		if v.end <= addr || v.start >= end {
			keep = append(keep, v)
			continue
		}
		zs, ze := max(v.start, addr), min(v.end, end)
		m.zapRange(t, zs, ze)
		av := v.anon
		av.rwsem.Lock(t)
		switch {
		case v.start >= addr && v.end <= end: // wholly unmapped
			av.unlinkLocked(t, v)
		case v.start < addr && v.end > end: // a hole in the middle
			tail := &vma{mm: m, start: end, end: v.end, prot: v.prot, anon: av, file: v.file, fileBase: v.fileBase}
			av.vmas = append(av.vmas, tail)
			v.end = addr
			keep = append(keep, v)
			split = append(split, tail)
		case v.start < addr: // the tail is unmapped
			v.end = addr
			keep = append(keep, v)
		default: // the head is unmapped
			v.start = end
			keep = append(keep, v)
		}
		av.rwsem.Unlock(t)
	}
	m.vmas = keep
	for _, v := range split {
		m.insertVMALocked(t, v)
	}
	return nil
}

// Exit is exit_mmap(): zap every mapping, unlink the VMAs from their
// anon_vmas and take the address space off mmlist. Later accesses fail
// with ErrExited.
func (m *MM) Exit(t *ksync.Task) {
	// mmput(): the last user is gone; from here mmget_not_zero() fails.
	m.exiting.Store(t, true)
	m.mmapLock.Lock(t)
	if m.dead {
		m.mmapLock.Unlock(t)
		return
	}
	for _, v := range m.vmas {
		if v == nil {
			// XA_ZERO_ENTRY: a failed fork duplicated nothing from
			// here on (the entries past it are the parent's).
			break
		}
		m.zapRange(t, v.start, v.end)
		v.anon.rwsem.Lock(t)
		v.anon.unlinkLocked(t, v)
		v.anon.rwsem.Unlock(t)
	}
	m.vmas = nil
	m.dead = true
	m.mmapLock.Unlock(t)
	m.node.delMM(t, m)
}
