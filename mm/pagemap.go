package mm

import (
	"uswap/ksync"
	"uswap/mem"
)

// PageState is what the PTE of one address holds, decoded: the
// information /proc/PID/pagemap gives a user (pte_to_pagemap_entry() in
// fs/proc/task_mmu.c): present with its frame, a swap entry, the
// swapin-error marker, or nothing.
type PageState struct {
	Present bool
	PFN     int          // the frame of a present page
	Swap    bool         // the PTE holds a swap entry
	Entry   mem.SwpEntry // that entry
	Marker  bool         // the swapin-error marker (PTE_MARKER_SWAPIN_ERROR)
}

// None reports an empty PTE (pte_none).
func (p PageState) None() bool { return !p.Present && !p.Swap && !p.Marker }

// String is "present", "swap", "marker" or "none".
func (p PageState) String() string {
	switch {
	case p.Present:
		return "present"
	case p.Swap:
		return "swap"
	case p.Marker:
		return "marker"
	}
	return "none"
}

// Pagemap reads the PTE of addr under its PTL, as pagemap_read() walks
// the page table: for checks of scenario scripts and tests, which say
// what state a page is in (swapped out, mapped, unmapped) without
// faulting it.
func (m *MM) Pagemap(t *ksync.Task, addr uint64) PageState {
	pt, i := m.lookupPTE(t, addr)
	if pt == nil {
		return PageState{}
	}
	pt.ptl.Lock(t)
	p := pte(pt.ptes[i].Load(t))
	pt.ptl.Unlock(t)
	switch {
	case p.present():
		return PageState{Present: true, PFN: p.pfn()}
	case p.isSwap():
		return PageState{Swap: true, Entry: pteToSwpEntry(p)}
	case p.isMarker():
		return PageState{Marker: true}
	}
	return PageState{}
}
