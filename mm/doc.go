// Package mm is uswap's memory manager: address spaces with software
// page tables, the page-fault paths, fork, munmap and exit, the reverse
// map, shmem files, reclaim and swapoff's try_to_unuse. It stands for
// mm/memory.c, mm/rmap.c, mm/shmem.c, mm/vmscan.c, the swap-in half of
// mm/swap_state.c and the unuse half of mm/swapfile.c (Linux v6.15).
//
// Go types and their kernel counterparts:
//
//	Node        struct pglist_data plus the mm globals: the frame pool, the
//	            swap core, the memcg hierarchy, kswapd, mmlist, vm_event
//	            counters (VMStat) and the vm sysctls (Config)
//	lruvec      struct lruvec: the anon LRU lists of one memory cgroup
//	MM          struct mm_struct: mmap_lock, VMAs, the page table
//	vma         struct vm_area_struct (anonymous private mappings)
//	anonVMA     struct anon_vma: one per lineage of forks (see rmap.go)
//	ShmemFile   a shmem inode with its address_space: i_pages holds a
//	            folio or a swap entry per page index (shmem.go, whose
//	            header gives the shmem locks' place in the order below)
//	pteTable    a leaf page table with its split PTE lock (ptl)
//	pte         pte_t: none, present, a swap entry or a swapin-error marker
//
// Lock order: each lock's rank is set where it is made, and the order is
// the table in ksync/lockrank.go, checked at every acquisition in builds
// with the invariants tag (the tests run with it). In short, outermost
// first:
//
//	MM.mmapLock                 mmap_lock (rwsem)
//	  folio lock                PG_locked (bit lock, sleeps)
//	    anonVMA.rwsem           anon_vma->rwsem (reclaim only trylocks it)
//	      pteTable.ptl          the split PTE lock (spinlock)
//	        swap cluster lock   (FolioFreeSwap, FolioPutSwap, FolioDupSwap,
//	                            SwapDupEntryDirect, SwapPutEntriesDirect,
//	                            which only trylocks folios)
//	        lruvec.lock         (the release hook of a last folio_put)
//	  MM.pageTableLock          page_table_lock: upper-level allocation
//
// Leaves, taken under any lock and with none under them: Pool.lock
// (zone->lock), Node.mmlistLock, Node.lruvecsLock, the shmem swaplist
// lock and the memcg reclaim queue's lock.
//
// The PTLs of two page tables nest only in fork (the child's, which
// nobody else can reach yet, inside the parent's, with LockNested). A
// task never holds a PTL or a lruvec lock while it sleeps, allocates a
// frame, charges a cgroup or does I/O: both are spinlocks, and
// allocFolio, memcg charges and device I/O call ksync.MightSleep, so a
// checked build catches it even on a path that would not have slept.
// Every function whose name ends in Locked asserts the lock it needs.
//
// References: every present PTE holds one folio reference and one map
// count; the swap cache holds one reference; LRU membership holds none
// (as in the kernel). Reclaim isolates a folio from its LRU list with
// TryGet under the lruvec lock and skips folios whose count is zero:
// those are being freed, and the pool's release hook (__folio_put) takes
// them off the list under the same lock.
//
// Every fault path takes a device reference (GetSwapDevice) before it
// touches swap state and re-checks the PTE under the PTL after any sleep
// (pte_same). The races the seeds describe are drawn above the code that
// prevents them: do_swap_page's synchronous path (seed 000, fault_swap.go,
// with every variant of fixes.Swapcache), the device reference (seed 003,
// the swap core's GetSwapDevice, with the variants of fixes.SwapDevice),
// and shmem's failed swap-in (seed 004, shmem_swapin.go and shmem.go,
// with the variants of fixes.ShmemSwapin).
//
// One mm for both designs of the swap core (package design,
// docs/swap-table.md). The fault paths, reclaim, shmem, fork, zap and
// swapoff call the core through one API, named as the kernel names it
// since the swap table series (folio_alloc_swap, folio_dup_swap,
// folio_put_swap, swap_dup_entry_direct, swap_put_entries_direct,
// swap_cache_del_folio, folio_free_swap), and the swap-in insertion
// protocol is written once (swapCacheAllocFolio); the design decides what
// each step does below. What only one design has is marked so and reached
// only there: the classic bypass of do_swap_page() and its
// swapcache_prepare() pin (swap.SwapinBypass) with seed 000's variants,
// and in the table design the synchronous device's swap-in through the
// swap cache without readahead (swap.SwapinSync) and freeing its swap
// cache copy at once. A fix variant whose code exists only in the classic
// design (fixes.VariantInfo.ClassicOnly) is refused, before any work, by
// a system of the table design.
package mm
