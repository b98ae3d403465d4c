package memcg

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// This file is the swap side of memcg: __mem_cgroup_try_charge_swap,
// __mem_cgroup_uncharge_swap, mem_cgroup_swapin_charge_folio,
// mem_cgroup_swap_full and mem_cgroup_get_nr_swap_pages.
//
// The swap core records a cgroup id per slot when the slot is allocated
// (FolioAllocSwap calls the charge function) and calls UnchargeSwap
// with that id when the slot is freed. Both versions charge the slot
// from allocation to free:
//
//   - v2 charges the swap counter (memory.swap.max), as the kernel does.
//   - v1 charges the slot to memsw. The folio keeps its memory+memsw
//     charge while it is in memory; when reclaim frees it, Uncharge
//     takes it off memory and memsw, and what is left in memsw is the
//     slot: the charge has moved from memory to swap within memsw.
//
// The kernel's v1 (memcg1_swapout) instead records the id only when the
// folio leaves memory, moving the charge in one step, and
// mem_cgroup_swapin_uncharge_swap drops the slot's memsw charge at
// swap-in. Our swap core records at allocation and has no clear at
// swap-in, so here a page whose folio and slot both exist (in the swap
// cache, or swapped in while its slot lives on) is counted twice in
// memsw. The slot's memsw charge is unconditional (page_counter_charge,
// as memcg1_swapout's), so swap-out is never refused by the memsw
// limit; the double count only makes new memory charges reclaim sooner.

// TryChargeSwap is __mem_cgroup_try_charge_swap(): charge nrPages swap
// slots to m. In v2 the swap counter is charged unless m is the root, and
// a swap.max reached up the tree fails with an *OOMError (events
// swap.max and swap.fail). In v1 memsw is charged and it never fails
// (see above).
func TryChargeSwap(t *ksync.Task, m *MemCgroup, nrPages int) error {
	if nrPages < 0 {
		panic(fmt.Sprintf("memcg: TryChargeSwap(%d) to %s", nrPages, m.path))
	}
	if nrPages == 0 || m.IsRoot() {
		return nil
	}
	n := int64(nrPages)
	if m.h.mode == V1 {
		m.memsw.Charge(t, n)
		return nil
	}
	if failed, ok := m.swap.TryCharge(t, n); !ok {
		m.memoryEvent(t, EventSwapMax)
		m.memoryEvent(t, EventSwapFail)
		return &OOMError{
			Memcg:   m,
			Over:    failed.memcg,
			Counter: "swap",
			NrPages: nrPages,
			Usage:   failed.Read(t),
			Limit:   failed.Max(t),
		}
	}
	return nil
}

// ChargeSwapFunc is the charge argument of the swap core's
// FolioAllocSwap for a folio charged to m: it charges one slot with
// TryChargeSwap and returns m's id for swap_cgroup_record.
func ChargeSwapFunc(t *ksync.Task, m *MemCgroup) func(mem.SwpEntry) (uint16, error) {
	return func(mem.SwpEntry) (uint16, error) {
		if err := TryChargeSwap(t, m, 1); err != nil {
			return 0, err
		}
		return m.id, nil
	}
}

// UnchargeSwap is __mem_cgroup_uncharge_swap(): nrPages slots recorded
// for cgroup id are freed. It makes *Hierarchy the swap core's
// Accounting. The swap core calls it with a cluster lock held: it only
// takes the id spinlock and atomics. An id that is not registered is a
// bug (Remove refuses a cgroup with swap charged), and panics.
func (h *Hierarchy) UnchargeSwap(t *ksync.Task, id uint16, nrPages int) {
	m := h.FromID(t, id)
	if m == nil {
		panic(fmt.Sprintf("memcg: uncharging %d swap slot(s) of unknown cgroup id %d", nrPages, id))
	}
	if nrPages <= 0 || m.IsRoot() {
		return
	}
	if h.mode == V1 {
		m.memsw.Uncharge(t, int64(nrPages))
	} else {
		m.swap.Uncharge(t, int64(nrPages))
	}
}

// SwapinCharge is mem_cgroup_swapin_charge_folio(): charge a folio of
// nrPages pages read in for a swap entry whose slot is recorded for
// cgroup id (lookup_swap_cgroup_id). It charges that cgroup if it is
// registered and online, and def (the faulting mm's cgroup,
// get_mem_cgroup_from_mm) otherwise or when id is 0. It returns the
// cgroup charged, which the folio must be uncharged from.
func SwapinCharge(t *ksync.Task, id uint16, def *MemCgroup, nrPages int) (*MemCgroup, error) {
	m := def
	if id != 0 {
		if c := def.h.FromID(t, id); c != nil && c.Online(t) {
			m = c
		}
	}
	err := m.TryCharge(t, nrPages)
	if err != nil && m != def && !m.Online(t) {
		// Removed between the lookup and the charge (css_tryget_online
		// failing): charge the default instead.
		m = def
		err = m.TryCharge(t, nrPages)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// SwapFull is the memcg half of mem_cgroup_swap_full(): in v2, whether
// swap usage is at least half the swap limit of m or of an ancestor below
// the root. Always false in v1. The caller ORs it with vm_swap_full().
func SwapFull(t *ksync.Task, m *MemCgroup) bool {
	if m.h.mode == V1 {
		return false
	}
	for c := m; !c.IsRoot(); c = c.parent {
		if c.swap.Read(t)*2 >= c.swap.Max(t) {
			return true
		}
	}
	return false
}

// NrSwapPages is mem_cgroup_get_nr_swap_pages(): how many slots m may
// still be charged, given nrSwapPages free slots in the system. In v1
// it is nrSwapPages.
func NrSwapPages(t *ksync.Task, m *MemCgroup, nrSwapPages int64) int64 {
	if m.h.mode == V1 {
		return nrSwapPages
	}
	for c := m; !c.IsRoot(); c = c.parent {
		nrSwapPages = min(nrSwapPages, max(c.swap.Max(t)-c.swap.Read(t), 0))
	}
	return nrSwapPages
}
