package mm

import (
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// Mincore is mincore(2): whether each page of [addr, addr+length) is
// resident, one byte per page (1 resident, 0 not). mmapLock is taken for
// reading; an address no mapping covers is ErrSegv (the kernel's
// -ENOMEM).
//
//   - A present PTE is resident.
//   - A swap PTE is resident if its entry's folio is in the swap cache,
//     looked up under the PTL: while the PTE holds the entry its slot is
//     in use, and swapoff, which must take the PTL to replace the PTE,
//     cannot have freed the device.
//   - A PTE a shared mapping has not filled asks the file
//     (mincore_page, filemap_get_incore_folio): its index holds a folio,
//     or, swapped out, a swap entry, whose swap cache is looked up
//     holding the device (get_swap_device()): nothing else keeps swapoff
//     from freeing it.
func (m *MM) Mincore(t *ksync.Task, addr, length uint64) ([]byte, error) {
	if addr&(mem.PageSize-1) != 0 {
		return nil, fmt.Errorf("mincore(%#x): %w", addr, ErrInval)
	}
	m.mmapLock.RLock(t)
	defer m.mmapLock.RUnlock(t)
	var vec []byte
	for a := addr; a < addr+length; a += mem.PageSize {
		v := m.findVMALocked(t, a)
		if v == nil {
			return vec, fmt.Errorf("mincore(%#x): %w", a, ErrSegv)
		}
		vec = append(vec, m.mincorePage(t, v, a))
	}
	return vec, nil
}

// mincorePage is mincore_pte_range() for one page, or
// mincore_unmapped_range() when no PTE maps it.
func (m *MM) mincorePage(t *ksync.Task, v *vma, addr uint64) byte {
	if pt, i := m.lookupPTE(t, addr); pt != nil {
		pt.ptl.Lock(t)
		p := pte(pt.ptes[i].Load(t))
		var res byte
		switch {
		case p.present():
			res = 1
		case p.isSwap():
			res = m.node.swapCacheResident(t, pteToSwpEntry(p))
		}
		pt.ptl.Unlock(t)
		if !p.none() || v.file == nil {
			return res
		}
	} else if v.file == nil {
		return 0
	}
	return v.file.mincorePage(t, v.fileIndex(addr))
}

// swapCacheResident reports whether entry's folio is in the swap cache
// and uptodate. The caller keeps the device from being swapped off.
func (n *Node) swapCacheResident(t *ksync.Task, entry mem.SwpEntry) byte {
	f := n.core.SwapCacheGetFolio(t, entry)
	if f == nil {
		return 0
	}
	defer f.Put(t)
	if f.Test(t, mem.PGUptodate) {
		return 1
	}
	return 0
}

// mincorePage is mincore_page() of a shmem file: filemap_get_incore_folio().
//
// The swap entry of a swapped-out page is looked up under
// get_swap_device() (commit aeb309b81c6b). With the mincore-device-ref
// fix reverted it is looked up holding nothing: swapoff's shmem_unuse
// brings the page in and swapoff frees the device's swap cache under the
// lookup, the race of scenario swapoff-mincore (drawn in
// explore/testdata/scenarios/swapoff-mincore.txt).
func (f *ShmemFile) mincorePage(t *ksync.Task, index uint64) byte {
	f.iPages.Lock(t)
	e := f.pages[index]
	if e.folio != nil {
		e.folio.Get(t) // filemap_get_entry()'s reference
	}
	f.iPages.Unlock(t)
	switch {
	case e.folio != nil:
		defer e.folio.Put(t)
		if e.folio.Test(t, mem.PGUptodate) {
			return 1
		}
		return 0
	case e.swap == 0 || e.poisoned:
		return 0
	}
	n := f.node
	if n.cfg.Fixes.Get(fixes.MincoreDeviceRef) == fixes.MincoreDeviceRefNone {
		return n.swapCacheResident(t, e.swap)
	}
	si := n.core.GetSwapDevice(t, e.swap)
	if si == nil {
		return 0
	}
	defer n.core.PutSwapDevice(t, si)
	return n.swapCacheResident(t, e.swap)
}
