package swap

import (
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
)

// How a swap operation keeps swapoff from freeing the device under it is
// seed 003's question, and fixes.SwapDevice chooses the answer. The races
// are scenarios swapoff-swapin, shmem-swapoff and swapoff-free, each
// drawn in its script in explore/testdata/scenarios.
//
//   - none (before v5.1): nothing. GetSwapDevice only looks the device
//     up, and swapoff frees swap_map under a swap-in or under
//     free_swap_and_cache().
//
//   - stop-machine (-V5b) and rcu-sched (-V5a, merged as eb085574a752):
//     get_swap_device() opens a section that cannot sleep (preemption
//     disabled, or an RCU-sched read-side section), checks SWP_VALID and
//     closes it again around each access to swap_map, the counts or the
//     swap cache: enterSection below, at the places the patch put it
//     (__swap_duplicate, __swap_count, __swp_swapcount,
//     lookup_swap_cache, add_swap_count_continuation). Swapoff clears
//     SWP_VALID after try_to_unuse() and waits, with stop_machine() or
//     synchronize_sched(), for every section that may have seen it set,
//     so that an access in a section either sees the device invalid or
//     ends before swap_map is freed. Nothing may sleep in a section, so
//     the long holds below (the whole of do_swap_page(), of shmem's
//     swap-in) take nothing: GetSwapDevice only looks the device up, as
//     swp_swap_info() did, and the code between the sections relies on
//     what else holds swapoff back (the PTE under the PTL, a locked swap
//     cache folio, a SWAP_HAS_CACHE pin), or on nothing.
//
//   - percpu-ref (63d8620ecf93, today's kernel): GetSwapDevice takes
//     si->users, which may be held across a sleep; the swap-in paths and
//     free_swap_and_cache() hold it from the PTE (or shmem index) read to
//     the end, and swapoff kills it and waits for it to drain.

// GetSwapDevice is get_swap_device() as the callers that hold it across
// a whole operation use it (do_swap_page, shmem's swap-in,
// free_swap_and_cache, pageout, readahead): the device of entry, kept
// from being swapped off until PutSwapDevice, or nil if the entry names
// no device that is swapped on or an offset past its end. Only the
// percpu-ref variant keeps it; the others only look it up (see above).
func (c *Core) GetSwapDevice(t *ksync.Task, entry mem.SwpEntry) *SwapInfo {
	si := c.info[entry.Type()].Load(t)
	if si == nil {
		return nil
	}
	if c.fixes.Get(fixes.SwapDevice) != fixes.SwapDevicePercpuRef {
		// swp_swap_info() with a racy check, which narrows the window
		// and closes nothing.
		if si.flags.Load(t)&swpUsed == 0 {
			return nil
		}
		return si
	}
	if !si.users.TryGetLive(t) {
		return nil
	}
	// si->users is checked before any other field is read: swapon
	// publishes the fields before it makes the reference live.
	if entry.Offset() >= si.max || entry.Offset() == 0 {
		si.users.Put(t)
		return nil
	}
	return si
}

// PutSwapDevice is put_swap_device().
func (c *Core) PutSwapDevice(t *ksync.Task, si *SwapInfo) {
	if c.fixes.Get(fixes.SwapDevice) == fixes.SwapDevicePercpuRef {
		si.users.Put(t)
	}
}

// section is what enterSection opened.
type section struct {
	si  *SwapInfo
	how fixes.Variant // SwapDeviceStopMachine or SwapDeviceRCUSched; other values opened nothing
	tok ksync.RCUToken
}

// enterSection is get_swap_device() of the stop-machine and rcu-sched
// variants, around one access to swap_map, the counts or the swap cache
// that does not sleep: preempt_disable() or rcu_read_lock_sched(), then
// the SWP_VALID and offset checks. It reports false (and holds nothing)
// if the device is not valid. With the other variants it opens nothing
// and only finds the device: with percpu-ref the caller holds si->users
// already; with none, nothing holds anything.
func (c *Core) enterSection(t *ksync.Task, entry mem.SwpEntry) (section, bool) {
	if !c.hasSections() {
		return section{si: c.swapInfoOf(t, entry)}, true
	}
	si := c.info[entry.Type()].Load(t)
	if si == nil {
		return section{}, false
	}
	return c.enterSectionOf(t, si, entry)
}

// hasSections reports whether get_swap_device() opens sections (the
// stop-machine and rcu-sched variants).
func (c *Core) hasSections() bool {
	how := c.fixes.Get(fixes.SwapDevice)
	return how == fixes.SwapDeviceStopMachine || how == fixes.SwapDeviceRCUSched
}

// enterSectionOf is enterSection for a caller that found si already.
func (c *Core) enterSectionOf(t *ksync.Task, si *SwapInfo, entry mem.SwpEntry) (section, bool) {
	if !c.hasSections() {
		return section{si: si}, true
	}
	s := section{si: si, how: c.fixes.Get(fixes.SwapDevice)}
	if s.how == fixes.SwapDeviceStopMachine {
		c.preempt.Disable(t)
	} else {
		s.tok = c.rcu.ReadLock(t)
	}
	if si.flags.Load(t)&swpValid == 0 || entry.Offset() >= si.max || entry.Offset() == 0 {
		c.exitSection(t, s)
		return section{}, false
	}
	return s, true
}

// exitSection is put_swap_device() of the stop-machine and rcu-sched
// variants.
func (c *Core) exitSection(t *ksync.Task, s section) {
	switch s.how {
	case fixes.SwapDeviceStopMachine:
		c.preempt.Enable(t)
	case fixes.SwapDeviceRCUSched:
		c.rcu.ReadUnlock(t, s.tok)
	}
}

// waitForSections is swapoff's wait, after it cleared SWP_VALID, for
// every section that may have seen it set: stop_machine() with the
// empty swap_onoff_stop() of -V5b, or synchronize_sched() (-V5a; the
// merged form's synchronize_rcu()).
func (c *Core) waitForSections(t *ksync.Task) {
	switch c.fixes.Get(fixes.SwapDevice) {
	case fixes.SwapDeviceStopMachine:
		c.preempt.StopMachine(t, nil)
	case fixes.SwapDeviceRCUSched:
		c.rcu.Synchronize(t)
	}
}

// Type is the device's index in swap_info[].
func (si *SwapInfo) Type() int { return si.typ }

// Name is the device's name.
func (si *SwapInfo) Name() string { return si.name }

// Device is the device under the swap info.
func (si *SwapInfo) Device() Device { return si.dev }

// SlotFreeNotify calls the block driver's swap_slot_free_notify hook
// for the slot of entry, which stays allocated: the device frees the
// slot's data, and until the slot is written again it reads as zeros.
// Only zram has the hook (swapdev.HasSlotFreeNotify); SlotFreeNotify
// reports whether the device has it. mm/page_io.c called it after a
// swap cache read from v3.11 to v5.17 (fix keep-slot-on-read). The
// caller holds a device reference.
func (si *SwapInfo) SlotFreeNotify(t *ksync.Task, entry mem.SwpEntry) bool {
	if d, ok := si.dev.(swapdev.Device); !ok || !swapdev.HasSlotFreeNotify(d) {
		return false
	}
	si.dev.Discard(t, entry.Offset())
	return true
}

// Pages is the number of usable slots.
func (si *SwapInfo) Pages() uint64 { return si.pages }

// Priority is the device's priority (higher is used first).
func (si *SwapInfo) Priority(t *ksync.Task) int {
	si.core.swapLock.Lock(t)
	defer si.core.swapLock.Unlock(t)
	return si.prio
}

// InusePages is inuse_pages: slots in use, swap cache pins included.
func (si *SwapInfo) InusePages(t *ksync.Task) int64 { return si.inuse.Load(t) }

// Synchronous reports SWP_SYNCHRONOUS_IO.
func (si *SwapInfo) Synchronous(t *ksync.Task) bool {
	return si.flags.Load(t)&swpSynchronous != 0
}

// Writable reports SWP_WRITEOK: slots may be allocated.
func (si *SwapInfo) Writable(t *ksync.Task) bool {
	return si.flags.Load(t)&swpWriteOK != 0
}

// NrSwapPages is nr_swap_pages: free slots on all writable devices.
func (c *Core) NrSwapPages(t *ksync.Task) int64 { return c.nrSwapPages.Load(t) }

// TotalSwapPages is total_swap_pages.
func (c *Core) TotalSwapPages(t *ksync.Task) int64 { return c.totalSwapPages.Load(t) }

// SwapInfo returns the device of type typ, or nil.
func (c *Core) SwapInfo(t *ksync.Task, typ int) *SwapInfo {
	if typ < 0 || typ >= mem.MaxSwapfiles {
		return nil
	}
	si := c.info[typ].Load(t)
	if si == nil || si.flags.Load(t)&swpUsed == 0 {
		return nil
	}
	return si
}

// Active lists the swapped-on devices, highest priority first.
func (c *Core) Active(t *ksync.Task) []*SwapInfo {
	c.swapLock.Lock(t)
	defer c.swapLock.Unlock(t)
	return append([]*SwapInfo(nil), c.active...)
}
