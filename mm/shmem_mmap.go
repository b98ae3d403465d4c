package mm

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// This file maps shmem files into address spaces (MAP_SHARED), serves
// their faults from the file (shmem_fault), and is the file half of the
// reverse map (rmap_walk_file over i_mmap).

// MmapShared is mmap(NULL, length, prot, MAP_SHARED, fd, off) of a shmem
// file: the mapping's pages are the file's pages. off is page aligned.
func (m *MM) MmapShared(t *ksync.Task, f *ShmemFile, off, length uint64, prot int) (uint64, error) {
	if f == nil || length == 0 || off&(mem.PageSize-1) != 0 || prot&^(ProtRead|ProtWrite) != 0 {
		return 0, fmt.Errorf("mmap shared(%v, off %d, len %d, prot %d): %w", f, off, length, prot, ErrInval)
	}
	return m.mmapRegion(t, length, prot, f, off)
}

// fileIndex is linear_page_index(): the file page that addr maps.
func (v *vma) fileIndex(addr uint64) uint64 { return (addr - v.fileBase) >> PageShift }

// rmapMatches reports whether folio's rmap (Mapping, Index) says it may
// be mapped at addr of v.
func (v *vma) rmapMatches(folio *mem.Folio, addr uint64) bool {
	if v.file != nil {
		return folio.Mapping == v.file && folio.Index == v.fileIndex(addr)
	}
	return folio.Mapping == v.anon && folio.Index == addr>>PageShift
}

// shmemFault is do_shared_fault() with shmem_fault(): get the file's
// folio for the page (swapping it in or allocating it) and map it, with
// write permission if the mapping has it. An index holding the
// swapin-error marker (its swap-in read failed) gives ErrBus:
// shmem_fault's -EIO becomes VM_FAULT_SIGBUS. mmapLock is held for
// reading.
func (m *MM) shmemFault(t *ksync.Task, v *vma, pt *pteTable, i int, addr uint64) error {
	folio, err := v.file.getFolio(t, v.fileIndex(addr), sgpCache)
	if err != nil {
		return err
	}
	// finish_fault(): with the folio locked (so that a truncation, which
	// unmaps under the folio lock, cannot miss the new PTE).
	mapped := m.mapNewPTE(t, v, pt, i, folio, false)
	folio.Unlock(t)
	if !mapped {
		folio.Put(t) // a racing fault got there first
	}
	return nil
}

// rmapWalkFile is rmap_walk_file(): call fn for every PTE that maps the
// shmem folio, with its table locked. The folio is locked. With tryLock
// a contended anon_vma makes the walk give up and report false.
func (n *Node) rmapWalkFile(t *ksync.Task, f *ShmemFile, folio *mem.Folio, tryLock bool, fn func(v *vma, pt *pteTable, i int, p pte) bool) bool {
	f.iMmapLock.Lock(t)
	avs := append([]*anonVMA(nil), f.iMmap...)
	f.iMmapLock.Unlock(t)
	for _, av := range avs {
		locked, cont := av.walk(t, folio, f, tryLock, fn)
		if !locked {
			return false
		}
		if !cont {
			break
		}
	}
	return true
}

// unmapFileFolio is try_to_unmap() (and unmap_mapping_range()) for a
// locked shmem folio: every PTE mapping it becomes none (the next fault
// goes back to the file), its dirty bit moving to the folio. With tryLock
// it may give up on contention. It reports whether the folio is unmapped.
func (n *Node) unmapFileFolio(t *ksync.Task, folio *mem.Folio) bool {
	return n.unmapFileFolioTry(t, folio, false)
}

func (n *Node) unmapFileFolioTry(t *ksync.Task, folio *mem.Folio, tryLock bool) bool {
	f, _ := folio.Mapping.(*ShmemFile)
	if f == nil {
		return !folio.Mapped(t)
	}
	ok := n.rmapWalkFile(t, f, folio, tryLock, func(v *vma, pt *pteTable, i int, p pte) bool {
		pt.ptes[i].Store(t, 0)
		if p&pteDirty != 0 {
			folio.Flags.Set(t, mem.PGDirty)
		}
		folio.RemoveMap(t)
		folio.RefSub(t, 1) // the caller holds a reference: never the last
		return true
	})
	return ok && !folio.Mapped(t)
}
