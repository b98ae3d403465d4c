// Package memcg is uswap's memory cgroups: hierarchical limits on the
// pages and swap slots a group of tasks may use, charged when the mm
// layer allocates a folio or a swap slot and uncharged when it frees
// them. It stands for mm/memcontrol.c (and memcontrol-v1.c) and
// mm/page_counter.c, for 4 KiB pages only.
//
// Go types and their kernel counterparts:
//
//	PageCounter   struct page_counter (usage, max, watermark, failcnt, parent)
//	MemCgroup     struct mem_cgroup (memory, swap and memsw counters, id,
//	              memory_events); Remove is rmdir
//	Hierarchy     root_mem_cgroup, mem_cgroup_idr, cgroup_mutex,
//	              memcg_max_mutex; it is the swap core's Accounting
//	Reclaimer     try_to_free_mem_cgroup_pages, provided by the mm layer
//	OOMError      the -ENOMEM of try_charge_memcg after mem_cgroup_oom
//
// Operations (each names its kernel function in its doc comment):
// MemCgroup.TryCharge and Uncharge (try_charge_memcg, uncharge),
// TryChargeSwap, ChargeSwapFunc and Hierarchy.UnchargeSwap (swap
// charging), SwapinCharge, SwapFull, NrSwapPages, and the limit writes
// SetMemoryMax, SetSwapMax (v2) and SetMemswMax (v1).
//
// Two modes, chosen when the root is made (NewRoot):
//
//   - V2, cgroup v2: memory.max limits memory; memory.swap.max limits
//     swap slots, counted in a separate counter.
//   - V1, cgroup v1 with swap accounting: memory.limit_in_bytes limits
//     memory; memory.memsw.limit_in_bytes limits memory plus swap in one
//     counter (memsw), which every memory charge also charges. See
//     swap.go for how a swapped-out page's charge moves to swap.
//
// As in the kernel, charges to the root are not counted (the root has
// no limit; its counters are the sums of its children's), and a charge
// is counted at the charged cgroup and every ancestor. Limits are kept
// in pages; the byte-valued setters round down.
//
// Concurrency: the counters are lock-free ksync atomics (the kernel's
// atomic_long_t); a charge adds, checks the limit, and rolls back. The
// tree (children lists) changes under cgroup_mutex, limits under
// memcg_max_mutex; the id table's writers take a spinlock of their own
// and publish a copy that lookups (FromID) read with one atomic load, as
// the kernel's do under RCU, so the swap core can look an id up with a
// cluster lock held. Remove and TryCharge meet through an atomic state
// word (see Remove).
//
// Lock order (ranks in ksync's table, ksync/lockrank.go, checked in
// builds with the invariants tag):
//
//	Hierarchy.cgroupMutex (cgroup_mutex, sleeps)
//	  Hierarchy.idrLock (spinlock)
//	Hierarchy.maxMutex (memcg_max_mutex, sleeps; released before reclaim)
//	swap cluster lock (the swap core's, held around UnchargeSwap)
//	  Hierarchy.idrLock
//
// No memcg lock is held while the Reclaimer runs, nor while a charge
// walks the counters. A charge may reclaim, so TryCharge calls
// ksync.MightSleep: charging under a spinlock is caught in a checked
// build even when the charge would not have reclaimed.
package memcg
