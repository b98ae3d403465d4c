package swap

import (
	"fmt"
	"slices"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
)

// NewCore makes an empty swap subsystem: no device is swapped on.
// The table design needs cfg.Pool (see Config).
func NewCore(cfg Config) *Core {
	c := &Core{fixes: cfg.Fixes, accounting: cfg.Accounting, design: cfg.Design, pool: cfg.Pool, leastPriority: -1}
	c.swaponMutex.Init(ksync.RankSwaponMutex)
	c.swapLock.Init(ksync.RankSwapLock)
	c.availLock.Init(ksync.RankSwapAvail)
	c.bugsLock.Init(ksync.RankSwapBugs)
	c.preempt.Init()
	c.rcu.Init()
	c.strays.mu.Init(ksync.RankSwapStrays)
	for i := range c.pcp {
		c.pcp[i].lock.Init(ksync.RankPcpCluster)
	}
	c.slots = newSlotOps(c, cfg.Design)
	return c
}

// SwaponOptions are swapon(2)'s flags.
type SwaponOptions struct {
	// Prefer is SWAP_FLAG_PREFER: use Priority (0..32767). Otherwise
	// the device gets the next automatic priority, below every other
	// device (-2, -3, ...).
	Prefer   bool
	Priority int
}

// Swapon is sys_swapon(): read and check the swap header on page 0 of dev,
// set up swap_map and the clusters, and make the device's slots available.
func (c *Core) Swapon(t *ksync.Task, dev Device, opts SwaponOptions) (*SwapInfo, error) {
	name := dev.Name()
	if opts.Prefer && (opts.Priority < 0 || opts.Priority > 32767) {
		return nil, fmt.Errorf("swapon %s: priority %d out of range 0..32767", name, opts.Priority)
	}
	page := make([]byte, swapdev.PageSize)
	if err := dev.ReadPage(t, 0, page); err != nil {
		return nil, fmt.Errorf("swapon %s: reading the swap header: %w", name, err)
	}
	hdr, err := swapdev.ParseHeader(page, dev.Pages())
	if err != nil {
		return nil, fmt.Errorf("swapon %s: %w", name, err)
	}
	maxPages := uint64(hdr.LastPage) + 1
	if maxPages > mem.MaxSwapOffset {
		maxPages = mem.MaxSwapOffset
	}

	c.swaponMutex.Lock(t)
	defer c.swaponMutex.Unlock(t)

	si, err := c.allocSwapInfo(t, name)
	if err != nil {
		return nil, err
	}
	if err := si.setupSwapMapAndClusters(t, maxPages, hdr.BadPages); err != nil {
		c.freeSwapInfo(t, si)
		return nil, fmt.Errorf("swapon %s: %w", name, err)
	}
	si.dev = dev
	c.enableSwapInfo(t, si, opts, dev.Synchronous())
	return si, nil
}

// allocSwapInfo is alloc_swap_info(): take a free type slot.
func (c *Core) allocSwapInfo(t *ksync.Task, name string) (*SwapInfo, error) {
	c.swapLock.Lock(t)
	defer c.swapLock.Unlock(t)
	for typ := range c.info {
		old := c.info[typ].Load(t)
		if old != nil && old.flags.Load(t) != 0 {
			continue
		}
		si := &SwapInfo{core: c, typ: typ, name: name}
		si.lock.Init(ksync.RankSwapInfoLock)
		si.contLock.Init(ksync.RankSwapCont)
		si.flags.Init(swpUsed)
		for _, l := range []*clusterList{&si.free, &si.nonfull, &si.frag, &si.full} {
			l.init()
		}
		// The reference stays dead until enableSwapInfo: nobody may
		// use the device before its maps exist.
		si.users.Kill(t)
		c.info[typ].Store(t, si)
		return si, nil
	}
	return nil, fmt.Errorf("swapon %s: all %d swap types are in use", name, mem.MaxSwapfiles)
}

func (c *Core) freeSwapInfo(t *ksync.Task, si *SwapInfo) {
	c.swapLock.Lock(t)
	si.flags.Store(t, 0)
	c.swapLock.Unlock(t)
}

// setupSwapMapAndClusters is setup_swap_map() and setup_clusters(): the
// header page and bad pages are never allocated (SWAP_MAP_BAD in the
// classic design's swap_map, SWP_TB_BAD entries in the table design's
// tables); clusters count them, and the slots past the end of the device
// in the last cluster, as used. The device's reference is dead: nobody
// else looks at its lists yet.
func (si *SwapInfo) setupSwapMapAndClusters(t *ksync.Task, maxPages uint64, bad []uint32) error {
	isBad := map[uint64]bool{0: true}
	for _, b := range bad {
		if b == 0 || uint64(b) >= maxPages {
			return fmt.Errorf("bad page %d out of range 1..%d", b, maxPages-1)
		}
		isBad[uint64(b)] = true
	}
	good := maxPages - uint64(len(isBad))
	if good == 0 {
		return fmt.Errorf("empty swap area: %d pages, %d of them bad", maxPages, len(isBad)-1)
	}
	badSlots := make([]uint64, 0, len(isBad))
	for b := range isBad {
		badSlots = append(badSlots, b)
	}
	slices.Sort(badSlots)
	nclusters := (maxPages + ClusterSize - 1) / ClusterSize
	clusters := make([]cluster, nclusters)
	for _, b := range badSlots {
		clusters[b/ClusterSize].count++
	}
	for i := maxPages; i < nclusters*ClusterSize; i++ {
		clusters[i/ClusterSize].count++
	}
	si.clusters, si.max, si.pages = clusters, maxPages, good
	si.core.slots.setupSlots(si, badSlots)
	si.lock.Lock(t)
	defer si.lock.Unlock(t)
	for i := range clusters {
		ci := &clusters[i]
		ci.lock.Init(ksync.RankClusterLock)
		ci.prev, ci.next = -1, -1
		switch {
		case ci.count == 0:
			ci.flags = clusterFlagFree
		case ci.count == ClusterSize:
			ci.flags = clusterFlagFull
		default:
			ci.flags = clusterFlagNonfull
		}
		si.listAddTailLocked(t, si.listOf(ci.flags), int32(i))
	}
	return nil
}

// enableSwapInfo is enable_swap_info(): give the device its priority, make
// it writable, put it on the active and available lists, and make its
// reference live.
func (c *Core) enableSwapInfo(t *ksync.Task, si *SwapInfo, opts SwaponOptions, sync bool) {
	c.swapLock.Lock(t)
	if opts.Prefer {
		si.prio = opts.Priority
	} else {
		c.leastPriority--
		si.prio = c.leastPriority
	}
	c.insertActiveLocked(t, si)
	si.users.Resurrect(t)
	c.setupSwapInfoLocked(t, si, sync)
	c.swapLock.Unlock(t)
}

// setupSwapInfoLocked makes si writable and counts its free slots;
// swapLock is held. Used by swapon and by a failed swapoff.
func (c *Core) setupSwapInfoLocked(t *ksync.Task, si *SwapInfo, sync bool) {
	c.swapLock.AssertHeld(t)
	si.lock.Lock(t)
	fl := swpUsed | swpWriteOK | swpValid
	if sync {
		fl |= swpSynchronous
	}
	si.flags.Store(t, fl)
	// All pages, as _enable_swap_info() does: the slots in use were
	// subtracted when they were allocated, or (after a failed swapoff)
	// are still subtracted from the time swapoff took the pages away.
	c.nrSwapPages.Add(t, int64(si.pages))
	c.totalSwapPages.Add(t, int64(si.pages))
	si.lock.Unlock(t)
	c.addToAvail(t, si)
}

// insertActiveLocked puts si on the active list by priority; swapLock is
// held.
func (c *Core) insertActiveLocked(t *ksync.Task, si *SwapInfo) {
	c.swapLock.AssertHeld(t)
	c.active = plistAdd(c.active, si)
}

// Swapoff is sys_swapoff(): stop allocation on si, bring every page on it
// back in with unuse (try_to_unuse), wait for the references that
// GetSwapDevice gave out, and free the maps. If unuse fails the device is
// put back and stays usable.
func (c *Core) Swapoff(t *ksync.Task, si *SwapInfo, unuse Unuser) error {
	c.swapLock.Lock(t)
	if si.flags.Load(t)&swpWriteOK == 0 || c.info[si.typ].Load(t) != si {
		c.swapLock.Unlock(t)
		return fmt.Errorf("swapoff %s: %w: not swapped on, or being swapped off", si.name, ErrBusy)
	}
	if c.fixes.Get(fixes.AvailWriteOK) == fixes.AvailWriteOKNone {
		// Before commit 6fe7d6b99211: off the list first, SWP_WRITEOK
		// cleared after, under si->lock (see addToAvail).
		c.availLock.Lock(t)
		c.removeAvailLocked(t, si)
		c.availLock.Unlock(t)
		si.lock.Lock(t)
		si.flags.Store(t, si.flags.Load(t)&^swpWriteOK)
		si.lock.Unlock(t)
	} else {
		si.lock.Lock(t)
		si.flags.Store(t, si.flags.Load(t)&^swpWriteOK)
		si.lock.Unlock(t)
		c.delFromAvail(t, si)
	}
	c.removeActiveLocked(t, si)
	// All pages, as the kernel does, not only the free ones: every slot
	// that try_to_unuse frees from now on adds one back in
	// swap_range_free(), and an allocation that raced with the clearing
	// of SWP_WRITEOK has already taken its one away.
	c.nrSwapPages.Add(t, -int64(si.pages))
	c.totalSwapPages.Add(t, -int64(si.pages))
	c.swapLock.Unlock(t)

	if c.fixes.Get(fixes.AllocScanning) != fixes.AllocScanningNone {
		si.waitForAllocation(t)
	}

	err := c.tryToUnuse(t, si, unuse)
	if err != nil {
		c.reinsertSwapInfo(t, si)
		return fmt.Errorf("swapoff %s: %w", si.name, err)
	}

	// The stop-machine and rcu-sched variants of get_swap_device(): no
	// new section may use the device, and the ones that saw it valid
	// end before anything is freed (device.go).
	if c.hasSections() {
		si.lock.Lock(t)
		si.flags.Store(t, si.flags.Load(t)&^swpValid)
		si.lock.Unlock(t)
		c.waitForSections(t)
	}

	// Wait for everything that holds si->users (get_swap_device of the
	// percpu-ref variant, and the allocator unless fix alloc-scanning is
	// reverted) to let go. With the other variants of swap-device the
	// swap-in paths take no reference, and nothing here waits for them.
	si.users.Kill(t)
	si.users.WaitForZero(t)
	c.flushPercpuSwapCluster(t, si)

	c.swaponMutex.Lock(t)
	c.swapLock.Lock(t)
	si.lock.Lock(t)
	c.slots.releaseSlotsLocked(t, si)
	if t.Traced() {
		ksync.Access(t, ksync.OpFree, clusterInfoKey{si})
		si.freedClusters = si.clusters
	}
	si.clusters = nil
	si.max = 0
	// p->swap_file = NULL (and bdev): the device is closed. A read that
	// still uses it is a use after swapoff (the race of scenario
	// swapoff-bypass).
	si.dev = nil
	si.lock.Unlock(t)
	c.slots.releaseSlots(t, si)
	si.flags.Store(t, 0)
	c.swapLock.Unlock(t)
	c.swaponMutex.Unlock(t)
	return nil
}

// tryToUnuse runs the users' walk and checks that it left nothing.
func (c *Core) tryToUnuse(t *ksync.Task, si *SwapInfo, unuse Unuser) error {
	if unuse != nil {
		if err := unuse.TryToUnuse(t, si); err != nil {
			return err
		}
	}
	if n := si.inuse.Load(t); n != 0 {
		return fmt.Errorf("%w: %d slots still in use", ErrBusy, n)
	}
	return nil
}

// removeActiveLocked takes si off the active list and, like the kernel,
// moves the automatic priorities of the devices below it up by one;
// swapLock is held.
func (c *Core) removeActiveLocked(t *ksync.Task, si *SwapInfo) {
	c.swapLock.AssertHeld(t)
	for i, s := range c.active {
		if s != si {
			continue
		}
		c.active = append(c.active[:i], c.active[i+1:]...)
		if si.prio < 0 {
			c.availLock.Lock(t)
			for _, below := range c.active[i:] {
				below.prio++
			}
			c.sortAvailLocked(t)
			c.availLock.Unlock(t)
			c.leastPriority++
		}
		return
	}
}

// sortAvailLocked re-sorts avail by priority after priorities changed;
// availLock is held.
func (c *Core) sortAvailLocked(t *ksync.Task) {
	c.availLock.AssertHeld(t)
	a := c.avail
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].prio > a[j-1].prio; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// reinsertSwapInfo is reinsert_swap_info(): a swapoff failed; the device
// goes back on the lists with its old priority.
func (c *Core) reinsertSwapInfo(t *ksync.Task, si *SwapInfo) {
	c.swapLock.Lock(t)
	if si.prio < 0 {
		// Its automatic priority is taken back from the end of
		// the list.
		c.leastPriority--
		si.prio = c.leastPriority
	}
	c.insertActiveLocked(t, si)
	c.setupSwapInfoLocked(t, si, si.dev.Synchronous())
	c.swapLock.Unlock(t)
}

// waitForAllocation is wait_for_allocation(): SWP_WRITEOK is clear;
// lock and unlock every cluster, so that an allocation that took a
// cluster before it saw the flag cleared is done with it before
// try_to_unuse looks for the slots in use. (An allocation that dropped
// the cluster lock to reclaim a slot finds SWP_WRITEOK clear when it
// takes it again, in clusterAllocRange.)
func (si *SwapInfo) waitForAllocation(t *ksync.Task) {
	for i := range si.clusters {
		ci := &si.clusters[i]
		ci.lock.Lock(t)
		ci.lock.Unlock(t)
	}
}

// flushPercpuSwapCluster is flush_percpu_swap_cluster(): si's reference
// is dead and drained, so no allocation uses it any more; forget it as
// any CPU's current device. A compare-and-swap, not the CPU's lock: the
// lock is the CPU's own (local_lock).
func (c *Core) flushPercpuSwapCluster(t *ksync.Task, si *SwapInfo) {
	for i := range ksync.NumCPU { // tasks only use the first NumCPU slots
		c.pcp[i].si.CompareAndSwap(t, si, nil)
	}
}
