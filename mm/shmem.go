package mm

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
)

// This file is shmem (mm/shmem.c, Linux v6.15): files in RAM whose pages
// go to swap. A file's page index (mapping->i_pages) holds, per page
// index, a folio or a swap entry. Since v6.14 (SWAP_MAP_SHMEM removed) an
// index entry holding a swap entry owns a swap count of 1, exactly like a
// swap PTE; the audit counts both (the swap-count invariant).
//
// Lock order (ranks in ksync/lockrank.go; see the package doc):
//
//	ShmemFile.inodeLock      i_rwsem: Write, Truncate, PunchHole, Delete
//	  folio lock
//	    ShmemFile.iMmapLock  i_mmap_rwsem's list (a snapshot is taken)
//	    anonVMA.rwsem, PTL   (rmap walks of file folios)
//	    ShmemFile.iPages     the xa_lock of i_pages: the "mapping lock"
//	                         under which a racing truncation is seen
//	Node.shmem.lock          shmem_swaplist_mutex: a leaf
//
// Folio references: the index holds one reference on every folio it
// holds (the page cache's); each PTE mapping it holds one more. A folio
// in the index has Mapping = the file, Index = its page index, and is
// always dirty (its only copy is in memory). The swap-in path and the
// writeout are in shmem_swapin.go.

// ErrShmemDeleted is returned by operations on a deleted file.
var ErrShmemDeleted = errors.New("shmem: file deleted")

// errShmemExist is -EEXIST: the index entry changed while we looked at it
// (a racing swap-in, truncation or hole punch); look again.
var errShmemExist = errors.New("shmem: index entry changed (-EEXIST)")

// shmemEntry is one slot of i_pages: a folio, a swap entry, or the
// swapin-error marker (poisoned: the kernel's make_poisoned_swp_entry(),
// left by shmem_set_folio_swapin_error() when the page's swap-in read
// failed). The marker holds no swap slot and no frame, and does not count
// in info->swapped; reads, writes and faults of its index get -EIO
// (ErrBus), and truncation removes it.
type shmemEntry struct {
	folio    *mem.Folio
	swap     mem.SwpEntry
	poisoned bool
}

// ShmemFile is a shmem inode with its address_space and shmem_inode_info.
type ShmemFile struct {
	node  *Node            // immutable
	memcg *memcg.MemCgroup // immutable: every page is charged to it
	id    int              // immutable: creation order

	// inodeLock is i_rwsem: it serializes Write, Truncate, PunchHole
	// and Delete. Read and faults do not take it.
	inodeLock ksync.Mutex
	// size is i_size in bytes: written under inodeLock and iPages, read
	// atomically.
	size ksync.Int64

	// iPages is i_pages' lock. pages, nrSwapped and deleted are guarded
	// by it. Iteration over pages is always in sorted index order.
	iPages    ksync.SpinLock
	pages     map[uint64]shmemEntry
	nrSwapped int // info->swapped
	deleted   bool

	// iMmapLock guards iMmap, the file's list of shared mappings
	// (mapping->i_mmap): one anonVMA per MmapShared call, whose vmas
	// (the mapping, its pieces after munmap, its copies after fork) map
	// the file linearly from vma.fileBase.
	iMmapLock ksync.SpinLock
	iMmap     []*anonVMA

	// sb is the superblock the inode lives on: immutable.
	sb *shmemSB
	// count is i_count: the file's name holds one reference until it is
	// deleted; igrab() adds one. The last iput() evicts the inode
	// (shmem_evict.go). Atomic.
	count ksync.Int32
	// stopEviction is info->stop_eviction: raised by shmem_unuse() while
	// it works on the file; eviction waits for it to fall to zero.
	// Atomic, changed under the node's shmem.lock.
	stopEviction ksync.Int32
}

// shmemState is the node's shmem_swaplist: the live files, for
// shmem_unuse and the audit; and the tmpfs they live on.
type shmemState struct {
	lock  ksync.Mutex  // shmem_swaplist_mutex
	files []*ShmemFile // guarded by lock, in creation order
	// made are the files created in a traced run, evicted ones included,
	// only to name their objects in traces once the run is over (an
	// untraced run keeps none). Guarded by lock.
	made   []*ShmemFile
	nextID int      // guarded by lock
	sb     *shmemSB // immutable: the tmpfs superblock (shmem_evict.go)
	// evictWQ is the wait_var_event() queue of the files' stop_eviction.
	evictWQ ksync.WaitQueue
}

// shmemSGP is enum sgp_type.
type shmemSGP int

const (
	sgpRead  shmemSGP = iota // SGP_READ: a hole stays a hole
	sgpCache                 // SGP_CACHE: allocate a folio for a hole (fault, write)
)

// ShmemCreate is shmem_file_setup(): a file of sizeBytes bytes (all
// holes) whose pages are charged to cg (the root if nil).
func (n *Node) ShmemCreate(t *ksync.Task, cg *memcg.MemCgroup, sizeBytes int64) (*ShmemFile, error) {
	if sizeBytes < 0 {
		return nil, fmt.Errorf("shmem: size %d: %w", sizeBytes, ErrInval)
	}
	if cg == nil {
		cg = n.root
	}
	f := &ShmemFile{node: n, memcg: cg, pages: map[uint64]shmemEntry{}, sb: n.shmem.sb}
	f.inodeLock.Init(ksync.RankInodeLock)
	f.iPages.Init(ksync.RankIPages)
	f.iMmapLock.Init(ksync.RankIMmap)
	f.size.Init(sizeBytes)
	f.count.Init(1)
	if !f.sb.reserveInode(t) {
		return nil, ErrUnmounted
	}
	n.shmem.lock.Lock(t)
	f.id = n.shmem.nextID
	n.shmem.nextID++
	n.shmem.files = append(n.shmem.files, f)
	if t.Traced() {
		n.shmem.made = append(n.shmem.made, f)
	}
	n.shmem.lock.Unlock(t)
	return f, nil
}

// shmemFiles is a snapshot of the live files in creation order.
func (n *Node) shmemFiles(t *ksync.Task) []*ShmemFile {
	n.shmem.lock.Lock(t)
	defer n.shmem.lock.Unlock(t)
	return append([]*ShmemFile(nil), n.shmem.files...)
}

func (f *ShmemFile) String() string { return fmt.Sprintf("shmem %d", f.id) }

// ID is the file's number, in creation order.
func (f *ShmemFile) ID() int { return f.id }

// Size is i_size_read().
func (f *ShmemFile) Size(t *ksync.Task) int64 { return f.size.Load(t) }

// Memcg is the cgroup the file's pages are charged to.
func (f *ShmemFile) Memcg() *memcg.MemCgroup { return f.memcg }

// NrSwapped is info->swapped: how many index entries hold a swap entry
// (swapin-error markers do not: shmem_set_folio_swapin_error() takes
// theirs off).
func (f *ShmemFile) NrSwapped(t *ksync.Task) int {
	f.iPages.Lock(t)
	defer f.iPages.Unlock(t)
	return f.nrSwapped
}

// sortedIndicesLocked lists the indices of pages in [start, end), sorted;
// iPages is held.
func (f *ShmemFile) sortedIndicesLocked(t *ksync.Task, start, end uint64) []uint64 {
	f.iPages.AssertHeld(t)
	var idx []uint64
	for i := range f.pages {
		if i >= start && i < end {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return idx
}

// getFolio is shmem_get_folio_gfp(): the folio at index, locked and with
// a reference, swapping it in if the index holds a swap entry, and (for
// sgpCache) allocating a zeroed, charged one for a hole within EOF. For
// sgpRead a hole gives nil. Beyond EOF sgpCache fails with ErrBus (the
// fault's SIGBUS); the writer extends i_size first. An index holding the
// swapin-error marker fails with ErrBus whatever sgp is (shmem_swapin_folio's
// is_poisoned_swp_entry() check: -EIO for reads, writes and faults).
func (f *ShmemFile) getFolio(t *ksync.Task, index uint64, sgp shmemSGP) (*mem.Folio, error) {
	n := f.node
	for try := 0; ; try++ {
		if try >= maxFaultRetries {
			return nil, fmt.Errorf("%v: index %d: retried %d times", f, index, try)
		}
		if index >= f.nrPagesEOF(t) {
			if sgp == sgpRead {
				return nil, nil
			}
			return nil, fmt.Errorf("%w: %v: index %d beyond EOF", ErrBus, f, index)
		}
		f.iPages.Lock(t)
		f.traceIndex(t, ksync.OpRead, index)
		e := f.pages[index]
		if e.folio != nil {
			e.folio.Get(t)
		}
		f.iPages.Unlock(t)
		switch {
		case e.poisoned:
			return nil, fmt.Errorf("%w: %v index %d: swapin error (poisoned entry)", ErrBus, f, index)
		case e.swap != 0:
			folio, err := f.swapinFolio(t, index, e.swap)
			if errors.Is(err, errShmemExist) {
				continue
			}
			return folio, err
		case e.folio != nil:
			folio := e.folio
			folio.Lock(t)
			if folio.Mapping != f || folio.Index != index {
				// Truncated (or swapped out) while we slept.
				folio.Unlock(t)
				folio.Put(t)
				continue
			}
			return folio, nil
		}
		if sgp == sgpRead {
			return nil, nil
		}
		// shmem_alloc_and_add_folio(): charged at allocation.
		folio, err := n.allocCharged(t, f.memcg)
		if err != nil {
			n.Stat.OOM.Inc(t)
			return nil, err
		}
		clear(folio.Data())
		folio.Flags.Set(t, mem.PGSwapBacked)
		folio.Flags.Set(t, mem.PGUptodate)
		folio.Flags.Set(t, mem.PGDirty)
		folio.Lock(t) // nobody else can see it yet
		folio.Mapping, folio.Index = f, index
		f.iPages.Lock(t)
		f.traceIndex(t, ksync.OpRead, index)
		if _, busy := f.pages[index]; busy || f.deleted || index >= f.nrPagesEOF(t) {
			// A racing fault filled it (or a racing swap-in left the
			// swapin-error marker: the next look returns ErrBus), or
			// truncation shrank the file.
			f.iPages.Unlock(t)
			folio.Mapping, folio.Index = nil, 0
			folio.Unlock(t)
			folio.Put(t)
			continue
		}
		folio.Get(t) // the index's reference
		f.traceIndex(t, ksync.OpWrite, index)
		f.pages[index] = shmemEntry{folio: folio}
		f.iPages.Unlock(t)
		n.folioAddLRU(t, folio)
		return folio, nil
	}
}

// nrPagesEOF is the number of pages below i_size, rounded up.
func (f *ShmemFile) nrPagesEOF(t *ksync.Task) uint64 {
	return uint64(f.size.Load(t)+mem.PageSize-1) >> PageShift
}

// Read is shmem_file_read_iter(): copy from the file at off into dst. It
// returns fewer bytes at EOF; holes read as zeros.
func (f *ShmemFile) Read(t *ksync.Task, off int64, dst []byte) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("shmem read at %d: %w", off, ErrInval)
	}
	done := 0
	for done < len(dst) {
		size := f.size.Load(t)
		pos := off + int64(done)
		if pos >= size {
			break
		}
		po := int(pos & (mem.PageSize - 1))
		chunk := int(min(int64(len(dst)-done), int64(mem.PageSize-po), size-pos))
		folio, err := f.getFolio(t, uint64(pos)>>PageShift, sgpRead)
		if err != nil {
			return done, err
		}
		if folio == nil {
			clear(dst[done : done+chunk])
		} else {
			copy(dst[done:done+chunk], folio.Data()[po:])
			folio.Unlock(t)
			folio.Put(t)
		}
		done += chunk
	}
	return done, nil
}

// Write is shmem_file_write_iter(): copy src into the file at off,
// extending i_size as it goes. A page holding the swapin-error marker
// stops it with ErrBus (shmem_write_begin: shmem_get_folio's -EIO).
func (f *ShmemFile) Write(t *ksync.Task, off int64, src []byte) (int, error) {
	if off < 0 || off+int64(len(src)) < off {
		return 0, fmt.Errorf("shmem write at %d: %w", off, ErrInval)
	}
	f.inodeLock.Lock(t)
	defer f.inodeLock.Unlock(t)
	if f.isDeleted(t) {
		return 0, ErrShmemDeleted
	}
	done := 0
	for done < len(src) {
		pos := off + int64(done)
		po := int(pos & (mem.PageSize - 1))
		chunk := min(len(src)-done, mem.PageSize-po)
		if end := pos + int64(chunk); end > f.size.Load(t) {
			f.iPages.Lock(t)
			f.size.Store(t, end)
			f.iPages.Unlock(t)
		}
		folio, err := f.getFolio(t, uint64(pos)>>PageShift, sgpCache)
		if err != nil {
			return done, err
		}
		copy(folio.Data()[po:], src[done:done+chunk])
		folio.Flags.Set(t, mem.PGDirty)
		folio.Unlock(t)
		folio.Put(t)
		done += chunk
	}
	return done, nil
}

func (f *ShmemFile) isDeleted(t *ksync.Task) bool {
	f.iPages.Lock(t)
	defer f.iPages.Unlock(t)
	return f.deleted
}

// Truncate is shmem_setattr() with a new size: growing adds holes;
// shrinking frees every page and swap entry past the new EOF
// (shmem_truncate_range) and zeroes the tail of the last page.
func (f *ShmemFile) Truncate(t *ksync.Task, size int64) error {
	if size < 0 {
		return fmt.Errorf("shmem truncate to %d: %w", size, ErrInval)
	}
	f.inodeLock.Lock(t)
	defer f.inodeLock.Unlock(t)
	if f.isDeleted(t) {
		return ErrShmemDeleted
	}
	old := f.size.Load(t)
	f.iPages.Lock(t)
	f.size.Store(t, size)
	f.iPages.Unlock(t)
	if size >= old {
		return nil
	}
	return f.undoRange(t, size, math.MaxInt64)
}

// PunchHole is fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE): free
// the whole pages of [off, off+length) and zero the partial ones.
func (f *ShmemFile) PunchHole(t *ksync.Task, off, length int64) error {
	if off < 0 || length <= 0 || off+length < off {
		return fmt.Errorf("shmem punch hole (%d, %d): %w", off, length, ErrInval)
	}
	f.inodeLock.Lock(t)
	defer f.inodeLock.Unlock(t)
	if f.isDeleted(t) {
		return ErrShmemDeleted
	}
	return f.undoRange(t, off, off+length)
}

// Delete is the last unlink and close: the file's name goes (iput), and
// with it, unless something else holds the inode (swapoff's shmem_unuse,
// with the stop-eviction fix reverted), every page and swap entry and
// the file's place on the swaplist (evict). Shared mappings of it that
// remain see a file of size 0 (faults get SIGBUS).
func (f *ShmemFile) Delete(t *ksync.Task) error { return f.unlink(t) }

// unlink drops the file's name: no new use of it, and its reference goes.
func (f *ShmemFile) unlink(t *ksync.Task) error {
	f.iPages.Lock(t)
	if f.deleted {
		f.iPages.Unlock(t)
		return ErrShmemDeleted
	}
	f.deleted = true
	f.iPages.Unlock(t)
	return f.iput(t)
}

// undoRange is shmem_undo_range() for the bytes [lstart, lend): zero the
// partial pages at either end, then drop every whole page of the range
// from the index: a folio is locked, unmapped from every address space
// and freed; a swap entry is removed under iPages and freed with
// free_swap_and_cache(), which only trylocks its swap-cache folio. A
// folio locked by a racing swap-in therefore stays in the swap cache
// (seed 004): the swap-in sees, under iPages, that the entry is gone
// (shmem_confirm_swap, shmem_add_to_page_cache) and frees it, or reclaim
// does later. inodeLock is held.
func (f *ShmemFile) undoRange(t *ksync.Task, lstart, lend int64) error {
	start := uint64(lstart+mem.PageSize-1) >> PageShift
	end := uint64(lend) >> PageShift
	if lend == math.MaxInt64 {
		end = math.MaxUint64
	}
	// A partial page that cannot be had (its swap-in read failed, or no
	// memory) is not zeroed, as shmem_get_partial_folio() failing makes
	// the kernel skip it; the whole pages of the range are dropped all
	// the same (returning early left them in the index past the new
	// EOF, where growing the file again showed their old data), and the
	// first error is reported.
	var perr error
	if po := lstart & (mem.PageSize - 1); po != 0 {
		pe := min(lend, (lstart|(mem.PageSize-1))+1)
		perr = f.zeroPartial(t, uint64(lstart)>>PageShift, int(po), int(pe-(lstart&^(mem.PageSize-1))))
	}
	if lend != math.MaxInt64 && lend&(mem.PageSize-1) != 0 && uint64(lend)>>PageShift >= start {
		if err := f.zeroPartial(t, uint64(lend)>>PageShift, 0, int(lend&(mem.PageSize-1))); err != nil && perr == nil {
			perr = err
		}
	}
	if start >= end {
		return perr
	}
	f.iPages.Lock(t)
	idx := f.sortedIndicesLocked(t, start, end)
	f.iPages.Unlock(t)
	for _, i := range idx {
		f.undoIndex(t, i)
		ksync.CondResched(t)
	}
	return perr
}

// undoIndex drops whatever the index holds at i. A swapin-error marker
// is just erased (shmem_free_swap()'s xa_cmpxchg; free_swap_and_cache()
// does nothing for a poisoned entry). An entry that changes under us
// (reclaim wrote the folio out and left a swap entry, or a swap-in put a
// folio where the swap entry was) is looked at again:
//
//	CPU1 (shmem_undo_range)              CPU2 (shmem_writeout)
//	i_pages[i] is folio F: get F
//	                                     (holds F locked)
//	                                     i_pages[i] = swap entry E
//	folio_lock(F): F->mapping is NULL
//	skip i  !!! E (and the data) survive
//	  the truncation
func (f *ShmemFile) undoIndex(t *ksync.Task, i uint64) {
	n := f.node
	for {
		f.iPages.Lock(t)
		f.traceIndex(t, ksync.OpRead, i)
		e, ok := f.pages[i]
		if ok && e.poisoned {
			f.traceIndex(t, ksync.OpWrite, i)
			delete(f.pages, i)
			f.iPages.Unlock(t)
			return
		}
		if ok && e.swap != 0 {
			// shmem_free_swap(): xa_cmpxchg the entry away, then
			// swap_put_entries_direct().
			f.traceIndex(t, ksync.OpWrite, i)
			delete(f.pages, i)
			f.nrSwapped--
		}
		if e.folio != nil {
			e.folio.Get(t)
		}
		f.iPages.Unlock(t)
		switch {
		case e.swap != 0:
			if n.cfg.Fixes.Get(fixes.ShmemSwapin) == fixes.ShmemSwapinLockInUndo {
				// Joonsoo Kim's proposal (classic design only):
				// wait for the folio lock a racing swap-in holds, so
				// that the folio is freed here and not left stranded.
				n.core.FreeSwapAndCacheLocking(t, e.swap)
			} else {
				n.core.SwapPutEntriesDirect(t, e.swap)
			}
			return
		case e.folio == nil:
			return
		}
		folio := e.folio
		folio.Lock(t)
		mine := folio.Mapping == f && folio.Index == i
		if mine {
			n.unmapFileFolio(t, folio)
			f.deleteFromPageCache(t, folio, i)
		}
		folio.Unlock(t)
		folio.Put(t)
		if mine {
			return
		}
	}
}

// deleteFromPageCache is filemap_remove_folio(): the folio is locked and
// unmapped; it leaves the index and the index's reference is dropped
// (the caller holds another).
func (f *ShmemFile) deleteFromPageCache(t *ksync.Task, folio *mem.Folio, index uint64) {
	f.iPages.Lock(t)
	f.traceIndex(t, ksync.OpWrite, index)
	delete(f.pages, index)
	folio.Mapping, folio.Index = nil, 0
	f.iPages.Unlock(t)
	folio.RefSub(t, 1)
}

// zeroPartial zeroes bytes [from, to) of page index (a partial page at an
// end of a truncation or a hole), swapping it in if needed.
func (f *ShmemFile) zeroPartial(t *ksync.Task, index uint64, from, to int) error {
	if from >= to {
		return nil
	}
	folio, err := f.getFolio(t, index, sgpRead)
	if err != nil || folio == nil {
		return err
	}
	clear(folio.Data()[from:to])
	folio.Flags.Set(t, mem.PGDirty)
	folio.Unlock(t)
	folio.Put(t)
	return nil
}
