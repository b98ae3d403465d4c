package mem

import (
	"fmt"

	"uswap/ksync"
)

// PageSize is the size of a frame.
const PageSize = 4096

// Folio flag bits, the kernel's enum pageflags. They live in Folio.Flags.
const (
	PGLocked     uint = iota // folio lock: a bit lock with waiters
	PGReferenced             // recently referenced (second-chance on the LRU)
	PGUptodate               // contents are valid
	PGDirty                  // contents differ from the backing store
	PGLRU                    // on an LRU list
	PGActive                 // on the active list
	PGWriteback              // being written to a swap device
	PGSwapCache              // in the swap cache; Folio.swap is valid
	PGSwapBacked             // anonymous or shmem: backed by swap
	PGReclaim                // reclaim wants it freed after writeback
	PGHWPoison               // contents are lost (a swap-in read error)
	PGReadahead              // brought in by swap readahead, not yet hit (PG_readahead)
)

var flagNames = [...]string{"locked", "referenced", "uptodate", "dirty", "lru", "active", "writeback", "swapcache", "swapbacked", "reclaim", "hwpoison", "readahead"}

// Folio is struct folio for one 4 KiB frame.
type Folio struct {
	// Flags holds the PG_* bits; every bit is changed atomically, and
	// PGLocked is the folio lock.
	Flags ksync.Flags
	// refcount is _refcount: atomic. Zero means free or frozen.
	refcount ksync.Int32
	// mapcount is the number of page-table entries that map the folio
	// (the kernel's _mapcount + 1): atomic.
	mapcount ksync.Int32
	// swap is folio->swap: written with the folio locked when the folio
	// enters or leaves the swap cache; stable while PGSwapCache is set
	// and the folio is locked (or its swap cache slot's lock is held).
	swap SwpEntry

	// Mapping and Index are folio->mapping and folio->index: the owner
	// of the folio (the mm layer's anon_vma, or a shmem file) and the
	// page index in it (for anonymous memory, the virtual page number).
	// Set by the owner while it owns the folio exclusively or holds the
	// folio lock, before any PTE maps it; stable while the folio is
	// mapped or locked; cleared when the frame is freed.
	Mapping any
	Index   uint64
	// MemcgID is folio->memcg_data: the id of the memory cgroup the
	// folio is charged to, 0 if none. Set once by whoever charges the
	// folio, before the folio is on an LRU list or mapped; stable until
	// the frame is freed (the release hook uncharges it).
	MemcgID uint16
	// LRUPrev and LRUNext link the folio into an LRU list by frame
	// number (-1 ends the list): folio->lru. Guarded by the lock of the
	// lruvec the folio is on (PGLRU set).
	LRUPrev, LRUNext int32

	pfn  uint32 // immutable
	pool *Pool  // immutable
	data []byte // immutable until Pool.Release (nil after): the frame's PageSize bytes in Pool.data
}

// PFN is the frame number.
func (f *Folio) PFN() int { return int(f.pfn) }

// Pool is the pool the frame belongs to.
func (f *Folio) Pool() *Pool { return f.pool }

// Data is the frame's memory, nil in a descriptor pool. Who may read or
// write it is the caller's protocol (a present PTE, the folio lock, or
// exclusive ownership).
func (f *Folio) Data() []byte { return f.data }

func (f *Folio) String() string { return fmt.Sprintf("folio[pfn %d]", f.pfn) }

// FlagString names the set flags of word v.
func FlagString(v uint64) string {
	s := ""
	for i, n := range flagNames {
		if v&(1<<uint(i)) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "-"
	}
	return s
}

// Lock is folio_lock().
func (f *Folio) Lock(t *ksync.Task) { f.Flags.LockBit(t, PGLocked) }

// AssertLocked is VM_BUG_ON_FOLIO(!folio_test_locked(folio)), made
// exact: in a checked build it panics unless t holds the folio lock.
func (f *Folio) AssertLocked(t *ksync.Task) { f.Flags.AssertBitHeld(t, PGLocked) }

// TryLock is folio_trylock().
func (f *Folio) TryLock(t *ksync.Task) bool { return f.Flags.TryLockBit(t, PGLocked) }

// Unlock is folio_unlock().
func (f *Folio) Unlock(t *ksync.Task) { f.Flags.UnlockBit(t, PGLocked) }

// Test is folio_test_*(): whether flag bit is set.
func (f *Folio) Test(t *ksync.Task, bit uint) bool { return f.Flags.Test(t, bit) }

// Swap is folio->swap; see the field for when it is stable.
func (f *Folio) Swap() SwpEntry { return f.swap }

// SetSwap sets folio->swap; the caller holds the folio lock and is adding
// the folio to (or removing it from) the swap cache.
func (f *Folio) SetSwap(e SwpEntry) { f.swap = e }

// Get is folio_get(): the caller already holds a reference.
func (f *Folio) Get(t *ksync.Task) { f.refcount.Add(t, 1) }

// TryGet is folio_try_get(): take a reference unless the count is zero
// (free, or frozen by reclaim).
func (f *Folio) TryGet(t *ksync.Task) bool { return f.refcount.AddUnless(t, 1, 0) }

// RefAdd is folio_ref_add().
func (f *Folio) RefAdd(t *ksync.Task, n int32) { f.refcount.Add(t, n) }

// RefSub is folio_ref_sub(): drop n references that are not the last.
func (f *Folio) RefSub(t *ksync.Task, n int32) {
	if v := f.refcount.Add(t, -n); v <= 0 {
		panic(fmt.Sprintf("mem: %v refcount %d after ref_sub(%d)", f, v, n))
	}
}

// Put is folio_put(): drop a reference and free the frame with the last.
func (f *Folio) Put(t *ksync.Task) {
	v := f.refcount.Add(t, -1)
	if v == 0 {
		f.pool.free(t, f)
	} else if v < 0 {
		panic(fmt.Sprintf("mem: %v refcount underflow", f))
	}
}

// RefCount is folio_ref_count().
func (f *Folio) RefCount(t *ksync.Task) int32 { return f.refcount.Load(t) }

// RefFreeze is folio_ref_freeze(): atomically replace an expected count by
// zero so that TryGet fails while the caller tears the folio down.
func (f *Folio) RefFreeze(t *ksync.Task, expected int32) bool {
	return f.refcount.CompareAndSwap(t, expected, 0)
}

// RefUnfreeze is folio_ref_unfreeze().
func (f *Folio) RefUnfreeze(t *ksync.Task, n int32) { f.refcount.Store(t, n) }

// MapCount is folio_mapcount().
func (f *Folio) MapCount(t *ksync.Task) int32 { return f.mapcount.Load(t) }

// Mapped is folio_mapped().
func (f *Folio) Mapped(t *ksync.Task) bool { return f.mapcount.Load(t) > 0 }

// AddMap counts one more page-table mapping (folio_add_*_rmap).
func (f *Folio) AddMap(t *ksync.Task) int32 { return f.mapcount.Add(t, 1) }

// RemoveMap counts one fewer mapping (folio_remove_rmap_pte).
func (f *Folio) RemoveMap(t *ksync.Task) int32 {
	v := f.mapcount.Add(t, -1)
	if v < 0 {
		panic(fmt.Sprintf("mem: %v mapcount underflow", f))
	}
	return v
}
