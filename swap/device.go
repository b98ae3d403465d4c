package swap

import (
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
)

// GetSwapDevice is get_swap_device(): the device of entry, kept from being
// swapped off until PutSwapDevice, or nil if the entry names no device
// that is swapped on or an offset past its end.
//
// With the swap-device-ref fix reverted it takes no reference, as before
// commit eb085574a752, and the seed-003 race is open: swapoff frees
// swap_map under a swap-in (scenarios swapoff-swapin and shmem-swapoff)
// or under free_swap_and_cache() (scenario swapoff-free); each is drawn
// in its script in explore/testdata/scenarios.
func (c *Core) GetSwapDevice(t *ksync.Task, entry mem.SwpEntry) *SwapInfo {
	si := c.info[entry.Type()].Load(t)
	if si == nil {
		return nil
	}
	if c.fixes.Get(fixes.SwapDevice) == fixes.SwapDeviceNone {
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
	if c.fixes.Get(fixes.SwapDevice) != fixes.SwapDeviceNone {
		si.users.Put(t)
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
