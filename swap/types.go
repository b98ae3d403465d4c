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
	// called with the slot's cluster lock held and must not sleep.
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

	// swapcacheWQ is swapcache_wq: do_swap_page waits here when it
	// cannot pin an entry (seed 000), and swapcache_clear wakes it.
	// Classic design only.
	swapcacheWQ ksync.WaitQueue

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
	dev   Device // immutable between swapon and swapoff
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

	// lock is si->lock: it guards the cluster lists and fragNr.
	lock     ksync.SpinLock
	free     clusterList // free_clusters
	nonfull  clusterList // nonfull_clusters[0]
	frag     clusterList // frag_clusters[0]
	full     clusterList // full_clusters
	fragNr   int         // frag_cluster_nr[0]
	inuse    ksync.Int64 // inuse_pages: changes under a cluster lock
	users    ksync.LiveRef
	contLock ksync.SpinLock // cont_lock: guards cont (classic)
	// cont holds the count continuation pages: for each page of swap_map
	// (contPageSize bytes) that has any, the list of digit pages, lowest
	// digit first. Guarded by contLock, with the slot's cluster lock held.
	cont map[uint64][]*[contPageSize]uint8
}

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
}

// clusterList is a list_head of clusters, linked through cluster.prev
// and cluster.next by index; -1 ends it. Guarded by SwapInfo.lock.
type clusterList struct {
	head, tail int32
	n          int
}

// pcpSlot is one CPU's entry of percpu_swap_cluster: the device and the
// offset its next allocation tries first. Guarded by lock (local_lock).
type pcpSlot struct {
	lock   ksync.SpinLock
	si     *SwapInfo
	offset uint64
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
