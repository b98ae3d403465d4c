package mm

import (
	"errors"
	"fmt"

	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
)

// Errors a workload gets from Load, Store and the system calls. None of
// them is a crash of the system: the task that caused it sees it.
var (
	// ErrSegv is SIGSEGV: no mapping at the address, or an access the
	// mapping's protection forbids.
	ErrSegv = errors.New("SIGSEGV: bad address or protection")
	// ErrBus is SIGBUS: the page's swapped-out data could not be read
	// (a swap-in I/O error, or a swapin-error marker left by swapoff).
	ErrBus = errors.New("SIGBUS: swap-in error")
	// ErrOOM is VM_FAULT_OOM: no frame could be found for the task after
	// reclaim, or its memory cgroup is at its limit. When the cgroup is
	// the cause the error also wraps the memcg's *OOMError.
	ErrOOM = errors.New("out of memory")
	// ErrInval is -EINVAL for mmap and munmap arguments.
	ErrInval = errors.New("invalid argument")
	// ErrExited: the address space has exited.
	ErrExited = errors.New("address space has exited")
	// ErrKilled is -EINTR: a fatal signal interrupted the call (a fork,
	// see MM.ForkKilled).
	ErrKilled = errors.New("EINTR: interrupted by a fatal signal")
)

// Protection bits of a mapping (PROT_*).
const (
	ProtRead  = 1 << iota // PROT_READ
	ProtWrite             // PROT_WRITE
)

// PageShift is log2(mem.PageSize).
const PageShift = 12

// Page table geometry: three levels of 512 entries (pgd, pmd, pte) map
// 2^39 bytes of virtual address space.
const (
	ptrsPerTable = 512
	pteShift     = PageShift
	pmdShift     = pteShift + 9
	pgdShift     = pmdShift + 9
	addrLimit    = uint64(1) << (pgdShift + 9)
	// pmdSize is PMD_SIZE: the span of one leaf table.
	pmdSize = uint64(1) << pmdShift
	// mmapBase is where Mmap starts placing mappings.
	mmapBase = uint64(1) << 32
)

// pte is pte_t, kept in a uint64:
//
//	0                       none
//	pfn<<12 | flags | 1     present (ptePresent), with ptePresent,
//	                        pteWrite, pteAccessed, pteDirty
//	entry<<3 | 2            a swap entry (pteSwap): type and offset of
//	                        mem.SwpEntry, type in bits 55..59
//	4                       the swapin-error marker (PTE_MARKER_SWAPIN_ERROR)
type pte uint64

const (
	ptePresent  pte = 1 << 0
	pteWrite    pte = 1 << 1
	pteAccessed pte = 1 << 2
	pteDirty    pte = 1 << 3
	pteFlags    pte = 1<<PageShift - 1

	pteSwap      pte = 1 << 1 // not present: a swap entry
	pteMarker    pte = 1 << 2 // not present: the swapin-error marker
	pteSwapShift     = 3
	swpOffBits       = 52 // offset bits kept in a swap PTE
)

func (p pte) none() bool    { return p == 0 }
func (p pte) present() bool { return p&ptePresent != 0 }
func (p pte) isSwap() bool  { return p&ptePresent == 0 && p&pteSwap != 0 }
func (p pte) isMarker() bool {
	return p == pteMarker
}
func (p pte) pfn() int       { return int(p >> PageShift) }
func (p pte) writable() bool { return p&pteWrite != 0 }

// mkPTE is mk_pte(): a present PTE for frame pfn.
func mkPTE(pfn int, flags pte) pte { return pte(pfn)<<PageShift | flags | ptePresent }

// swpEntryToPTE is swp_entry_to_pte().
func swpEntryToPTE(e mem.SwpEntry) pte {
	if e.Offset() >= 1<<swpOffBits {
		panic(fmt.Sprintf("mm: %v does not fit a swap PTE", e))
	}
	v := uint64(e.Type())<<swpOffBits | e.Offset()
	return pte(v)<<pteSwapShift | pteSwap
}

// pteToSwpEntry is pte_to_swp_entry().
func pteToSwpEntry(p pte) mem.SwpEntry {
	v := uint64(p) >> pteSwapShift
	return mem.SwpEntryOf(int(v>>swpOffBits), v&(1<<swpOffBits-1))
}

func (p pte) String() string {
	switch {
	case p.none():
		return "none"
	case p.present():
		s := fmt.Sprintf("pfn %d", p.pfn())
		if p&pteWrite != 0 {
			s += " w"
		}
		if p&pteAccessed != 0 {
			s += " a"
		}
		if p&pteDirty != 0 {
			s += " d"
		}
		return s
	case p.isSwap():
		return pteToSwpEntry(p).String()
	case p.isMarker():
		return "swapin-error"
	}
	return fmt.Sprintf("pte?%#x", uint64(p))
}

// pteTable is a leaf page table and its split PTE lock.
type pteTable struct {
	// ptl is the PTE lock: every change of ptes happens under it. A
	// reader without it (readahead, try_to_unuse's scan) only looks, and
	// re-checks under ptl before acting (pte_same).
	ptl  ksync.SpinLock
	ptes [ptrsPerTable]ksync.Uint64
}

// setLocked is set_pte_at() of a present PTE for folio with flags: the
// mapping's map count is taken here, its reference is the caller's. The
// PTL is held.
func (pt *pteTable) setLocked(t *ksync.Task, i int, folio *mem.Folio, flags pte) {
	pt.ptl.AssertHeld(t)
	folio.AddMap(t)
	pt.ptes[i].Store(t, uint64(mkPTE(folio.PFN(), flags)))
}

// pmdTable is the middle level.
type pmdTable struct {
	// tables are published with a store under MM.pageTableLock and read
	// without it; a published table is never freed or replaced while
	// the MM lives.
	tables [ptrsPerTable]ksync.Pointer[pteTable]
}

// MM is struct mm_struct: an address space.
type MM struct {
	node  *Node            // immutable
	memcg *memcg.MemCgroup // immutable: the cgroup its pages are charged to
	id    int              // immutable: creation order, for reports

	// mmapLock is mmap_lock: faults take it for reading; Mmap, Munmap,
	// Fork (the parent) and Exit for writing.
	mmapLock ksync.RWSem
	// vmas are the mappings, sorted by start: guarded by mmapLock. A
	// vma's start and end change with mmapLock held for writing and its
	// anon_vma's rwsem held for writing. A nil entry is XA_ZERO_ENTRY:
	// where a failed fork stopped duplicating (dupMM); walks stop there.
	vmas []*vma
	// unstable is MMF_UNSTABLE: a fork of this child failed midway and
	// it is about to be torn down (check_stable_address_space()).
	// Guarded by mmapLock.
	unstable bool
	// nextAddr is where the next Mmap looks first: guarded by mmapLock.
	nextAddr uint64
	// dead is set by Exit with mmapLock held for writing; guarded by it.
	dead bool
	// exiting is mm_users gone to zero: Exit sets it before it takes
	// mmapLock, and nothing clears it; atomic. try_to_unuse skips an
	// exiting address space (mmget_not_zero() fails) rather than wait
	// for exit_mmap, which frees its swap entries itself.
	exiting ksync.Bool

	// pageTableLock is page_table_lock: it serializes the allocation of
	// page table levels.
	pageTableLock ksync.SpinLock
	// pgd is the top level: entries published under pageTableLock.
	pgd [ptrsPerTable]ksync.Pointer[pmdTable]
}

// vma is struct vm_area_struct for an anonymous private mapping.
type vma struct {
	mm         *MM      // immutable
	start, end uint64   // see MM.vmas
	prot       int      // immutable
	anon       *anonVMA // immutable: the lineage's anon_vma
	// file is the shmem file of a MAP_SHARED mapping (nil for anonymous
	// memory), and fileBase the address where its offset 0 would be
	// mapped (shmem.go): both immutable, kept by splits and fork.
	file     *ShmemFile
	fileBase uint64
	// raInfo is swap_readahead_info: the last fault's page number, the
	// readahead window and the hits since, packed by raVal: atomic.
	raInfo ksync.Uint64
}

func (v *vma) String() string { return fmt.Sprintf("vma[%#x-%#x mm %d]", v.start, v.end, v.mm.id) }

// ID is the address space's number, in creation order.
func (m *MM) ID() int { return m.id }

// Memcg is the memory cgroup the address space's pages are charged to.
func (m *MM) Memcg() *memcg.MemCgroup { return m.memcg }

// Node is the node the address space lives on.
func (m *MM) Node() *Node { return m.node }

func (m *MM) String() string { return fmt.Sprintf("mm %d", m.id) }

// findVMALocked is find_vma() for an address inside a mapping: mmapLock
// is held.
func (m *MM) findVMALocked(t *ksync.Task, addr uint64) *vma {
	m.mmapLock.AssertHeld(t)
	lo, hi := 0, len(m.vmas)
	for lo < hi {
		mid := (lo + hi) / 2
		v := m.vmas[mid]
		switch {
		case addr < v.start:
			hi = mid
		case addr >= v.end:
			lo = mid + 1
		default:
			return v
		}
	}
	return nil
}

// lookupPTE returns the leaf table and index for addr, or nil when no
// table covers it yet (pte_offset_map without allocation).
func (m *MM) lookupPTE(t *ksync.Task, addr uint64) (*pteTable, int) {
	pmd := m.pgd[(addr>>pgdShift)%ptrsPerTable].Load(t)
	if pmd == nil {
		return nil, 0
	}
	pt := pmd.tables[(addr>>pmdShift)%ptrsPerTable].Load(t)
	if pt == nil {
		return nil, 0
	}
	return pt, int((addr >> pteShift) % ptrsPerTable)
}

// allocPTE is pte_alloc(): the leaf table for addr, allocating the levels
// that are missing under pageTableLock.
func (m *MM) allocPTE(t *ksync.Task, addr uint64) (*pteTable, int) {
	if pt, i := m.lookupPTE(t, addr); pt != nil {
		return pt, i
	}
	m.pageTableLock.Lock(t)
	gi := (addr >> pgdShift) % ptrsPerTable
	pmd := m.pgd[gi].Load(t)
	if pmd == nil {
		pmd = new(pmdTable)
		m.pgd[gi].Store(t, pmd)
	}
	mi := (addr >> pmdShift) % ptrsPerTable
	pt := pmd.tables[mi].Load(t)
	if pt == nil {
		pt = new(pteTable)
		pt.ptl.Init(ksync.RankPTL)
		pmd.tables[mi].Store(t, pt)
	}
	m.pageTableLock.Unlock(t)
	return pt, int((addr >> pteShift) % ptrsPerTable)
}

// forEachTable calls fn for every leaf table that exists in [start, end),
// with the table's first address and the index range [lo, hi) to visit.
// fn returns false to stop.
func (m *MM) forEachTable(t *ksync.Task, start, end uint64, fn func(pt *pteTable, base uint64, lo, hi int) bool) {
	for addr := start; addr < end; {
		tableBase := addr &^ (pmdSize - 1)
		next := min(tableBase+pmdSize, end)
		if pt, lo := m.lookupPTE(t, addr); pt != nil {
			hi := lo + int((next-addr)>>PageShift)
			if !fn(pt, tableBase, lo, hi) {
				return
			}
		}
		addr = next
	}
}
