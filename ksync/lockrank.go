package ksync

import "fmt"

// Rank is a lock's place in uswap's lock order: the one table of every
// lock of the engine, as the Go runtime keeps its lock ranks as data
// (runtime/lockrank.go, made by mklockrank.go) and as lockdep learns the
// kernel's lock classes. A lock gets its rank where it is made (Init, or
// Flags.InitRank for a bit lock), and in a build with the invariants tag
// every task keeps a record of the locks it holds and panics, naming
// both locks and their ranks, when it takes a lock that its held locks
// may not precede, or a lock that has no rank. Without the tag a rank
// costs nothing: Init stores nothing and no acquisition looks at it (the
// lock paths compile to the same instructions as before ranks existed).
//
// The order is partial. rankOrder lists, for each rank, the ranks that
// may already be held when a lock of that rank is taken (directly; the
// check uses the transitive closure), exactly as the runtime's
// lockPartialOrder does. The constants are numbered in a topological
// order of that graph: a rank comes after every rank it may be taken
// under, so the table cannot hold a cycle (TestRankTable checks it).
//
// Rules the table encodes:
//
//   - A trylock (Mutex.TryLock, SpinLock.TryLock, RWSem.TryLock and
//     TryRLock, Flags.TryLockBit) may be taken out of order, as lockdep
//     allows a trylock: it cannot deadlock, since it does not wait. The
//     lock it takes is recorded, and locks taken after it are checked
//     against it. So "SwapInfo.lock may be taken before a cluster lock
//     only with trylock" (isolateLockCluster) is the absence of
//     RankSwapInfoLock from RankClusterLock's list; "free_swap_and_cache
//     only trylocks the folio" (under the PTL) is the absence of RankPTL
//     from RankFolioLock's list.
//   - Two locks of one rank nest only where the table marks the rank
//     nestable and the inner one is taken with LockNested (the kernel's
//     spin_lock_nested(..., SINGLE_DEPTH_NESTING)): "the PTLs of two page
//     tables nest only in fork" is RankPTL's nest mark and copy_pte_range
//     being LockNested's only caller. Any other second lock of a rank
//     already held panics.
//   - A leaf rank (the runtime's lockRankLeafRank) is taken last: it
//     may be taken under any lock, and no lock may be taken while one is
//     held (zone->lock, mmlist_lock, the lruvecs table lock, the shmem
//     swaplist lock: short sections over a list that call out to
//     nothing).
//   - A lock a task already holds may not be taken again (a
//     self-deadlock), and a release or an AssertHeld of a lock the task
//     does not hold panics (lockdep's "bad unlock balance").
//   - A task never sleeps while it holds a spinlock (might_sleep): the
//     PTL, the lruvec lock and every other SpinLock are spinning locks, so
//     a sleeping lock, a bit lock, a wait, cond_resched or a cgroup
//     charge (MightSleep) taken under one panics. Sleeping locks
//     (Mutex, RWSem, the folio and zram slot bit locks) may be held
//     across a sleep.
//
// A lock taken only in tests, or whose nesting nothing checks yet, still
// needs a rank: an unranked lock panics when taken in a checked build.
type Rank uint8

// The ranks, outermost first; the leaves, taken last, after them. Each
// names the kernel lock it stands for.
const (
	// RankNone is the zero Rank: a lock nobody ranked. Taking it panics
	// in a checked build.
	RankNone Rank = iota

	// system
	RankSystemSwap // system.System.swapMu: the machine's list of swapped-on devices

	// swapon and swapoff
	RankSwaponMutex // swapon_mutex

	// waits for preempt-disabled and RCU-sched sections (swapoff, seed 003)
	RankStopCPUs // stop_cpus_mutex: one stop_machine() at a time
	RankRCUGP    // one synchronize_sched() grace period at a time (the RCU core's gp_seq)

	// memory cgroups' sleeping locks
	RankCgroupMutex   // cgroup_mutex
	RankMemcgMaxMutex // memcg_max_mutex

	// a tmpfs superblock
	RankSUmount // sb->s_umount (rwsem): an unmount holds it for writing

	// address spaces and files
	RankMmapLock  // mm->mmap_lock (rwsem)
	RankInodeLock // inode->i_rwsem of a shmem file
	RankFolioLock // PG_locked, the folio lock (bit lock, sleeps)
	RankAnonVMA   // anon_vma->rwsem
	RankIMmap     // i_mmap_rwsem: a shmem file's list of shared mappings

	// page tables
	RankPageTableLock // mm->page_table_lock
	RankPTL           // the split PTE lock of a leaf page table

	// the userfaultfd pager (package pager)
	RankPagerEvents // the pager's event lock: mmap_lock's part in ordering faults and munmap
	RankPagerPTL    // a pager page's lock (bit lock, sleeps): its pte

	// the shmem page index
	RankIPages // mapping->i_pages' xa_lock

	// the swap core
	RankPcpCluster   // percpu_swap_cluster.lock (local_lock)
	RankClusterLock  // ci->lock
	RankSwapLock     // swap_lock
	RankSwapInfoLock // si->lock: the cluster lists
	RankSwapAvail    // swap_avail_lock
	RankSwapCont     // si->cont_lock
	RankSwapBugs     // the core's record of pr_err conditions (no kernel lock)

	// memory cgroup ids
	RankMemcgIDR // mem_cgroup_idr's lock

	// reclaim
	RankLruvec // lruvec->lru_lock

	// zram
	RankZramSlot    // zram's per-slot lock (bit lock, sleeps)
	RankZcompStream // zcomp_strm->lock: a compression stream
	RankZsClass     // zsmalloc size_class->lock
	RankZsCache     // zsmalloc's cache of free chunks (no kernel lock)

	// leaves: under anything, nothing under them
	RankShmemSwaplist // shmem_swaplist_mutex
	RankShmemStat     // sbinfo->stat_lock: a tmpfs superblock's inode accounting
	RankLruvecs       // the node's table of lruvecs (memcg's lruvec lookup)
	RankMemcgBgWork   // the memcg background reclaim queue (its workqueue's lock)
	RankMmlist        // mmlist_lock
	RankFaultyDevice  // the fault-injecting device wrapper's rules (no kernel lock)
	RankPagerErr      // the pager's record of its first error (no kernel lock)
	RankUffdSim       // the simulated userfaultfd's page table and queue lock (package uffdsim)
	RankSwapStrays    // the swap core's record of stranded swap cache folios (no kernel lock)
	RankPool          // zone->lock

	// tests of the primitives themselves
	RankTestOuter
	RankTestInner
	RankTestLeaf

	numRanks
)

// Checked reports whether this build checks the lock order, lock
// ownership and might_sleep (the invariants build tag). Code that
// computes something only to assert it (which lock guards an offset)
// tests it first, so that an ordinary build does not compute it.
const Checked = debug

// rankInfo is one row of the table.
type rankInfo struct {
	name string // the kernel's name of the lock
	// after lists the ranks that may be held when a lock of this rank
	// is taken in order (not by trylock).
	after []Rank
	// nest: a second lock of this rank may be taken with LockNested
	// while one is held.
	nest bool
	// leaf: taken last. A lock of this rank may be taken while any other
	// lock is held, and no lock may be taken while it is held.
	leaf bool
}

// rankOrder is the lock order: for each rank, the ranks that may be held
// when it is taken in order. The trees the package docs draw (swap,
// mm, memcg) are pictures of this table; the table is what is checked.
var rankOrder = [numRanks]rankInfo{
	RankNone: {name: "unranked lock"},

	RankSystemSwap: {name: "system swapMu"},

	RankSwaponMutex: {name: "swapon_mutex", after: []Rank{RankSystemSwap}},

	// swapoff waits for sections with no lock held (it must not hold
	// one a section's owner could wait for), so nothing comes before
	// them; both sleep.
	RankStopCPUs: {name: "stop_cpus_mutex"},
	RankRCUGP:    {name: "rcu grace period"},

	// Limits change under memcg_max_mutex, which is dropped before
	// reclaim; the tree changes under cgroup_mutex.
	RankCgroupMutex:   {name: "cgroup_mutex"},
	RankMemcgMaxMutex: {name: "memcg_max_mutex"},

	// An unmount evicts every inode under it (truncating: the inode
	// lock and all under it); swapoff's shmem_unuse only trylocks it,
	// under shmem_swaplist_mutex (the stop-eviction fix's s-umount
	// variant), and holds it across its work on the inode.
	RankSUmount: {name: "s_umount"},

	// Two mmap_locks nest only in fork: the child's, which nobody can
	// take yet but try_to_unuse, which waits for it, inside the
	// parent's, with LockNested (mmap_write_lock_nested).
	RankMmapLock:  {name: "mmap_lock", nest: true},
	RankInodeLock: {name: "i_rwsem", after: []Rank{RankSUmount}},
	// The folio lock is taken in order under the lock of what maps the
	// folio (mmap_lock for a fault, i_rwsem for a file operation).
	// Under the PTL, the i_pages lock or the swap core's locks it is
	// only trylocked: free_swap_and_cache (seed 004), zap, reclaim's
	// folio_trylock.
	RankFolioLock: {name: "folio lock (PG_locked)", after: []Rank{RankMmapLock, RankInodeLock}},
	RankAnonVMA:   {name: "anon_vma->rwsem", after: []Rank{RankMmapLock, RankFolioLock}},
	// A snapshot of a file's mappings is taken under it; nothing else.
	RankIMmap: {name: "i_mmap_rwsem", after: []Rank{RankMmapLock, RankInodeLock, RankFolioLock}},

	RankPageTableLock: {name: "page_table_lock", after: []Rank{RankMmapLock}},
	// Two PTLs nest only in fork: the child's (which nobody else can
	// reach yet) inside the parent's, with LockNested (nest). A PTL is
	// a spinlock: nothing that sleeps runs under it.
	RankPTL: {name: "ptl", after: []Rank{RankMmapLock, RankFolioLock, RankAnonVMA}, nest: true},

	// The pager takes its event lock under the folio lock of the page it
	// installs or evicts (reading messages, it holds no folio lock), and
	// a page's lock under both; it holds one page lock at a time.
	RankPagerEvents: {name: "pager event_lock", after: []Rank{RankFolioLock}},
	RankPagerPTL:    {name: "pager pte lock", after: []Rank{RankFolioLock, RankPagerEvents}},

	RankIPages: {name: "i_pages xa_lock", after: []Rank{RankInodeLock, RankFolioLock}},

	RankPcpCluster: {name: "percpu_swap_cluster.lock", after: []Rank{RankFolioLock}},
	// si->lock is not in the list: it may be held when a cluster lock
	// is taken only by trylock (isolateLockCluster), as in the kernel.
	// The i_pages lock is held when one is taken only by shmem writeout
	// in fix shmem-count-before-index's variant under-lock: commit
	// 826267cf1e6c took swap_shmem_alloc() under info->lock (and so
	// swap_lock under it); today's kernel nests no swap lock in it.
	RankClusterLock:  {name: "ci->lock", after: []Rank{RankFolioLock, RankPcpCluster, RankPTL, RankIPages, RankPagerEvents, RankPagerPTL}},
	RankSwapLock:     {name: "swap_lock", after: []Rank{RankSwaponMutex}},
	RankSwapInfoLock: {name: "si->lock", after: []Rank{RankClusterLock, RankSwapLock}},
	RankSwapAvail:    {name: "swap_avail_lock", after: []Rank{RankClusterLock, RankSwapLock}},
	RankSwapCont:     {name: "si->cont_lock", after: []Rank{RankClusterLock, RankSwapLock}},
	RankSwapBugs:     {name: "swap bugs_lock", after: []Rank{RankClusterLock, RankSwapCont}},

	// The swap core looks a cgroup id up with a cluster lock held
	// (mem_cgroup_uncharge_swap from swap_range_free).
	RankMemcgIDR: {name: "mem_cgroup_idr lock", after: []Rank{RankCgroupMutex, RankClusterLock}},

	// A lruvec lock is a spinlock: no sleep, no charge, no I/O under it.
	RankLruvec: {name: "lruvec->lru_lock", after: []Rank{RankFolioLock, RankPTL, RankPagerEvents, RankPagerPTL}},

	// A device reads its swap header at swapon under the machine's
	// device list lock; every other I/O is under a folio lock.
	RankZramSlot:    {name: "zram slot lock", after: []Rank{RankSystemSwap, RankFolioLock}},
	RankZcompStream: {name: "zcomp_strm->lock", after: []Rank{RankZramSlot}},
	// zram_slot_free_notify frees a slot's object under the swap
	// cluster lock (Device.Discard), having only trylocked the slot.
	RankZsClass: {name: "size_class->lock", after: []Rank{RankZramSlot, RankZcompStream, RankClusterLock}},
	RankZsCache: {name: "zsmalloc chunk cache lock", after: []Rank{RankZsClass}},

	// Held only to snapshot or edit the list of files.
	RankShmemSwaplist: {name: "shmem_swaplist_mutex", leaf: true},
	RankShmemStat:     {name: "sbinfo->stat_lock", leaf: true},
	// Taken by a fault's first use of a cgroup's lruvec.
	RankLruvecs:      {name: "lruvecs table lock", leaf: true},
	RankMemcgBgWork:  {name: "memcg reclaim work queue lock", leaf: true},
	RankMmlist:       {name: "mmlist_lock", leaf: true},
	RankFaultyDevice: {name: "faulty device lock", leaf: true},
	RankPagerErr:     {name: "pager error lock", leaf: true},
	// The pager calls the simulated kernel's ioctls under its locks.
	RankUffdSim: {name: "uffdsim ptl", leaf: true},
	// Taken under a cluster lock to note or forget a stranded folio.
	RankSwapStrays: {name: "swap strays lock", leaf: true},
	// Frames are allocated and freed under any lock (the release hook
	// of a last folio_put runs under a PTL or a lruvec lock).
	RankPool: {name: "zone->lock", leaf: true},

	RankTestOuter: {name: "test outer"},
	RankTestInner: {name: "test inner", after: []Rank{RankTestOuter}, nest: true},
	RankTestLeaf:  {name: "test leaf", after: []Rank{RankTestOuter, RankTestInner}},
}

// String is the kernel's name of the lock, with the rank's number.
func (r Rank) String() string {
	if r >= numRanks {
		return fmt.Sprintf("rank %d (not in the table)", uint8(r))
	}
	return fmt.Sprintf("%s (rank %d)", rankOrder[r].name, uint8(r))
}

// rankSet is a set of ranks, one bit each.
type rankSet uint64

// mayHold[r] is the transitive closure of rankOrder[r].after: the ranks
// that may be held when a lock of rank r is taken in order.
var mayHold = closeOrder()

func closeOrder() [numRanks]rankSet {
	if numRanks > 64 {
		panic("ksync: more than 64 lock ranks; widen rankSet")
	}
	var m [numRanks]rankSet
	// Ranks are numbered in topological order, so one pass in that
	// order closes the relation: every predecessor's set is final.
	for r := Rank(0); r < numRanks; r++ {
		for _, p := range rankOrder[r].after {
			if p >= r {
				panic(fmt.Sprintf("ksync: lock rank table: %v may be held before %v but is not numbered before it", p, r))
			}
			m[r] |= 1<<p | m[p]
		}
	}
	return m
}

// orderOK reports whether a lock of rank held may be held when a lock of
// rank next is taken in order.
func orderOK(held, next Rank) bool {
	switch {
	case rankOrder[held].leaf:
		return false
	case rankOrder[next].leaf:
		return true
	}
	return mayHold[next]&(1<<held) != 0
}
