package swap

import (
	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// Device is what the swap core needs of a swap device; swapdev's devices
// implement it. Page 0 holds the swap header.
type Device interface {
	Name() string
	Pages() uint64
	ReadPage(t *ksync.Task, offset uint64, dst []byte) error
	WritePage(t *ksync.Task, offset uint64, src []byte) error
	// Discard frees a slot's content (zram_slot_free_notify). It is
	// called with the slot's cluster lock held when the slot is freed,
	// and without it after a read in the code of fix keep-slot-on-read
	// reverted (SlotFreeNotify); it must not sleep.
	Discard(t *ksync.Task, offset uint64)
	Synchronous() bool
}

// Accounting is the memory cgroup side of swap: it is told when a slot
// recorded for a cgroup is freed (mem_cgroup_uncharge_swap).
type Accounting interface {
	UnchargeSwap(t *ksync.Task, memcgID uint16, nr int)
}

// Unuser is swapoff's walk over the users of a device (try_to_unuse):
// it brings every page on the device back into memory and drops every
// reference to its slots. The mm layer implements it.
type Unuser interface {
	TryToUnuse(t *ksync.Task, si *SwapInfo) error
}

// Config wires a Core.
type Config struct {
	Fixes      fixes.Set
	Accounting Accounting // may be nil
	// Design chooses what the core keeps per slot and how swap-in
	// synchronises (package design); the zero value is design.Classic.
	Design design.Design
	// Pool is the frame pool whose folios enter the swap cache. The table
	// design stores a folio in its slot's entry by frame number and needs
	// it to find the folio again; the classic design ignores it.
	Pool *mem.Pool
}

// Core is the swap subsystem: the globals of mm/swapfile.c.
type Core struct {
	fixes      fixes.Set     // immutable
	accounting Accounting    // immutable
	design     design.Design // immutable
	pool       *mem.Pool     // immutable; nil in the classic design
	// slots is the design's half of the core (slots.go): what a slot's
	// state is and how it changes. Immutable.
	slots slotOps

	swaponMutex ksync.Mutex // swapon_mutex: serializes swapon and swapoff

	// swapLock is swap_lock: it guards active, leastPriority and the
	// publication of info[]; totalSwapPages changes under it.
	swapLock      ksync.SpinLock
	active        []*SwapInfo // swap_active_head, by priority; guarded by swapLock
	leastPriority int         // guarded by swapLock
	// totalSwapPages is total_swap_pages: written under swapLock, read
	// without it by VMSwapFull.
	totalSwapPages ksync.Int64

	// info is swap_info[]: written under swapLock, read without it.
	info [mem.MaxSwapfiles]ksync.Pointer[SwapInfo]

	// availLock is swap_avail_lock: it guards avail.
	availLock ksync.SpinLock
	// avail is swap_avail_head: devices that are writable and not full,
	// highest priority first, round-robin among equal priorities.
	avail []*SwapInfo

	// nrSwapPages is nr_swap_pages: free slots on all writable devices.
	// A device being swapped off counts minus its slots in use: swapoff
	// subtracts all its pages, and each slot freed meanwhile adds one.
	nrSwapPages ksync.Int64

	// pcp is percpu_swap_cluster: each CPU's current device and the next
	// offset to try in its current cluster; pcp[i] is guarded by
	// pcp[i].lock.
	pcp [64]pcpSlot

	// preempt and rcu are the machine's preempt-disabled sections and
	// its RCU-sched domain: get_swap_device() of the stop-machine and
	// rcu-sched variants of fixes.SwapDevice opens a section of one of
	// them, and swapoff waits for them (device.go).
	preempt ksync.Preemption
	rcu     ksync.RCUSched

	// swapcacheWQ is swapcache_wq: do_swap_page waits here when it
	// cannot pin an entry (seed 000), and swapcache_clear wakes it.
	// Classic design only.
	swapcacheWQ ksync.WaitQueue

	// strays are the stranded swap cache folios (stray.go).
	strays strayLog

	// bugsLock guards bugs: conditions the kernel would pr_err() about
	// (a free of an unused entry), which the audit reports.
	bugsLock ksync.SpinLock
	bugs     []string

	Stats Stats
}

// Stats are the swap counters of /proc/vmstat that the core owns.
type Stats struct {
	PswpIn     ksync.Stat // pages read from swap devices
	PswpOut    ksync.Stat // pages written to swap devices
	SwapAlloc  ksync.Stat // slots allocated
	SwapFree   ksync.Stat // slots freed
	CacheAdd   ksync.Stat // folios added to the swap cache
	CacheDel   ksync.Stat // folios deleted from the swap cache
	CacheFind  ksync.Stat // swap cache lookups
	CacheHit   ksync.Stat // swap cache lookups that found a folio
	AllocFail  ksync.Stat // allocations that found no slot
	ContAdded  ksync.Stat // count continuation pages added (classic)
	ExtendAdd  ksync.Stat // extend tables allocated (table)
	ReadErrors ksync.Stat // device read errors
	// Stranded swap cache folios (stray.go): marked by the swap-in that
	// left them; freed (by reclaim, swapoff or the allocator), with
	// their total time in the cache in nanoseconds.
	StrayMarked   ksync.Stat
	StrayFreed    ksync.Stat
	StrayLifetime ksync.Stat
}

// SwapInfo is struct swap_info_struct: one swap device that is (or was)
// swapped on.
type SwapInfo struct {
	core *Core // immutable
	typ  int   // immutable: the index in swap_info[]

	// flags holds swpUsed, swpWriteOK, swpSynchronous: changed under
	// swapLock and lock, read without them (data_race in the kernel).
	flags ksync.Uint32
	prio  int    // written with Core.swapLock and Core.availLock held; read under either
	dev   Device // immutable between swapon and swapoff, which clears it
	name  string // immutable

	// max is the number of map bytes (header included); pages the number
	// of usable slots. Immutable between swapon and swapoff.
	max   uint64
	pages uint64

	// swapMap is swap_map (classic design; nil in the table design):
	// byte i is guarded by the lock of cluster i/ClusterSize. Swapoff
	// sets it to nil (invariant 6: a later access is an index-out-of-
	// range panic that the explorer reports).
	swapMap []uint8
	// clusters is cluster_info; nil after swapoff like swapMap.
	clusters []cluster
	// freedClusters is the cluster_info that swapoff freed, kept in a
	// traced run only, for ObjectName: a task that took a cluster
	// before the free and locks it after (a use after swapoff) still
	// names its lock. Written by swapoff under si->lock; read only by
	// the namer.
	freedClusters []cluster

	// lock is si->lock: it guards the cluster lists and fragNr.
	lock     ksync.SpinLock
	free     clusterList // free_clusters
	nonfull  clusterList // nonfull_clusters[0]
	frag     clusterList // frag_clusters[0]
	full     clusterList // full_clusters
	fragNr   int         // frag_cluster_nr[0]
	inuse    ksync.Int64 // inuse_pages: changes under a cluster lock
	users    ksync.LiveRef
	contLock ksync.SpinLock // cont_lock: guards the lists of cont (classic)
	// cont holds, for each page of swap_map (contPageSize bytes), what
	// count continuation keeps in its struct page: whether it has
	// continuation pages and their list. Allocated at swapon (classic
	// design only: the table design has none), freed at swapoff under
	// contLock; see contHead.
	cont []contHead
}

// contHead is the struct page of one page of swap_map as count
// continuation uses it (vmalloc_to_page(si->swap_map + offset)):
// page_private() and the head of the lru list of continuation pages.
// The map page holds the counts of several clusters, so its list is
// shared by slots under different cluster locks: contLock guards it.
type contHead struct {
	// private is page_private(head): SWP_CONTINUED once the page has
	// continuation pages. Set under contLock; read without it by
	// swap_count_continued()'s first check.
	private ksync.Uint32
	// next is head->lru.next: the first continuation page (the lowest
	// digits), nil while the list is empty. Linked under contLock.
	next ksync.Pointer[contPage]
}

// contPage is one count continuation page: a digit for each map byte of
// its map page, and the link to the next page of the list.
type contPage struct {
	// digits[i] is guarded by the cluster lock of the slot it counts.
	digits [contPageSize]uint8
	next   ksync.Pointer[contPage] // page->lru.next: linked under contLock
}

// swpContinued is SWP_CONTINUED, the value of a map page's
// page_private() once it has continuation pages.
const swpContinued = 1

// cluster is struct swap_cluster_info.
type cluster struct {
	// lock is ci->lock: it guards count, flags, table, the swap_map bytes
	// of the cluster's slots (classic), and the writes of tb's entries and
	// extend (table).
	lock ksync.SpinLock
	// count is the number of slots in use (non-zero map bytes, plus the
	// slots past the end of the device in the last cluster).
	count uint16
	// flags says which list the cluster is on (clusterFlag*); changed
	// with both lock and SwapInfo.lock held.
	flags uint8
	// prev and next link the cluster into its list: guarded by
	// SwapInfo.lock.
	prev, next int32
	// table is the classic design's per-cluster table, allocated while
	// the cluster has slots in use; guarded by lock.
	table *clusterTable
	// tb is ci->table of the table design (table.go): allocated while the
	// cluster has slots in use (or holds a bad slot). Written under lock;
	// the swap cache lookup reads it without the lock, as the kernel's
	// RCU readers do.
	tb ksync.Pointer[swapTable]
	// extend is ci->extend_table of the table design: the counts of the
	// slots whose entry count is SwpTbCountMax, allocated on the first
	// such count and freed when every element is 0. Guarded by lock.
	extend *extendTable
}

// clusterTable is the per-cluster swap table (v6.18): the swap cache
// folio and the swap_cgroup id of each slot.
type clusterTable struct {
	folios [ClusterSize]*mem.Folio
	memcg  [ClusterSize]uint16
	// stray marks the slots whose folio was left stranded (stray.go).
	stray [ClusterSize / 64]uint64
}

// clusterList is a list_head of clusters, linked through cluster.prev
// and cluster.next by index; -1 ends it. Guarded by SwapInfo.lock.
type clusterList struct {
	head, tail int32
	n          int
}

// pcpSlot is one CPU's entry of percpu_swap_cluster: the device and the
// offset its next allocation tries first. Guarded by lock (local_lock),
// which only the CPU's own allocations take; swapoff clears si from any
// CPU with a compare-and-swap (flush_percpu_swap_cluster()).
type pcpSlot struct {
	lock   ksync.SpinLock
	si     ksync.Pointer[SwapInfo] // written under lock, or cleared by swapoff
	offset uint64                  // guarded by lock
	// spareTable is one clean swap table kept back from a cluster that
	// became free on this CPU, for the next cluster that comes into use
	// here (what the kernel's swap table kmem_cache does for it):
	// without it a slot allocated and freed in an otherwise empty
	// cluster allocates and drops a 5 KiB table every time. Accessed
	// atomically (a free may run on any CPU).
	spareTable ksync.Pointer[clusterTable]
	// spareSwapTable is the same for the table design's swap tables.
	spareSwapTable ksync.Pointer[swapTable]
	_              [16]byte
}
