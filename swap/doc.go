// Package swap is the swap core: mm/swapfile.c and the swap-cache half of
// mm/swap_state.c, for order-0 (4 KiB) entries only, in two designs
// (package design; docs/swap-table.md) that share everything but the state
// of a slot:
//
//   - classic: Linux v6.15 (cluster allocator with per-cluster locks and a
//     global per-CPU cluster cache; swap_map bytes with SWAP_HAS_CACHE and
//     count continuation), with v6.18's per-cluster table holding the swap
//     cache folio and the swap cgroup id (classic.go, count.go,
//     swapcache.go);
//   - table: the kernel after the swap table series (phases I-III, and
//     phase IV's memcg table): the per-cluster swap table is the only
//     per-slot state, its entries holding a folio's PFN or a shadow with
//     the count in their top bits and an extend table past 14; no
//     swap_map, no SWAP_HAS_CACHE, no count continuation (table*.go).
//
// The devices, swapon and swapoff, the cluster allocator with its lists
// and per-CPU clusters, the device reference and the reclaim of cache-only
// slots are shared and call the design's half through slotOps (slots.go).
// The mm layer calls one API (slots.go) named as the kernel names it since
// the swap table series: FolioAllocSwap, FolioDupSwap, FolioPutSwap,
// SwapDupEntryDirect, SwapPutEntriesDirect, SwapCacheGetFolio,
// SwapCacheDelFolio, FolioPutSwapDel, RemoveMapping, FolioFreeSwap, and
// the swap-in reservation (SwapinReserve, SwapinCommit, SwapinCancel,
// SwapinBackoff) with ChooseSwapin; what each does in each design is at its doc comment.
// Classic-only entry points (SwapcachePrepare, SwapcacheClear,
// WaitSwapcache, SwapFree of a pinned entry: do_swap_page's bypass, seed
// 000) are reached only from the classic design's paths.
//
// Go types and their kernel counterparts:
//
//	Core              the globals of swapfile.c: swap_info[], swap_lock,
//	                  swap_avail_head, nr_swap_pages, percpu_swap_cluster
//	SwapInfo          struct swap_info_struct
//	cluster           struct swap_cluster_info
//	clusterTable      classic: the per-cluster swap table of v6.18: the
//	                  swap cache (folio per slot) and swap_cgroup ids
//	swapTable         table: struct swap_table (mm/swap_table.h) with the
//	                  memcg_table beside it
//	extendTable       table: ci->extend_table
//	mem.SwpEntry      swp_entry_t
//
// What a swap table entry means (table design) is at table_entry.go.
//
// What a swap_map byte means (classic design, include/linux/swap.h):
//
//	0               free
//	1..SwapMapMax   that many references (PTEs, shmem index entries)
//	SwapMapBad      a bad page, or the header page: never allocated
//	|SwapHasCache   a folio for the entry is in the swap cache, or a task
//	                holds the entry pinned (swapcache_prepare)
//	|CountContinued the count goes on in continuation pages
//
// A count above SwapMapMax is kept in digits: the map byte holds the
// lowest (base SwapMapMax+1), each continuation page one more (base
// SwapContMax+1), exactly as swap_count_continued() does it.
//
// Lock order: each lock's rank is set where it is made, and the order is
// the table in ksync/lockrank.go, checked at every acquisition in builds
// with the invariants tag (the tests run with it). In short, outermost
// first:
//
//	folio lock (mem.PGLocked)
//	  Core.pcp[cpu].lock           percpu_swap_cluster.lock (local_lock)
//	    cluster.lock               ci->lock (table design: every write of
//	                               its swap table's entries and extend table)
//	      SwapInfo.lock            si->lock: the cluster lists only
//	      Core.availLock           swap_avail_lock
//	      SwapInfo.contLock        si->cont_lock
//	        Core.bugsLock
//	Core.swaponMutex               swapon_mutex
//	  Core.swapLock                swap_lock
//	    SwapInfo.lock
//	    Core.availLock
//	    SwapInfo.contLock
//
// SwapInfo.lock may be taken before a cluster lock only with trylock
// (isolateLockCluster), as in the kernel: the cluster lock's row of the
// table leaves si->lock out, and a trylock may be taken out of order.
// Every function whose name ends in Locked asserts the lock it needs.
//
// A swap device stays usable while a task holds a reference from
// GetSwapDevice (percpu_ref si->users); swapoff kills the reference,
// waits for it to drain, and only then frees swap_map. Code that reads a
// slot's state must hold that reference (seed 003). The fix's earlier
// forms (fixes.SwapDevice: no reference; -V5b's preempt-disabled
// sections and stop_machine(); -V5a's RCU-sched sections and grace
// period) are in device.go.
package swap
