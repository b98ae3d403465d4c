package mm

import (
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swap"
)

// swapSlotFreeNotify is swap_slot_free_notify() (mm/page_io.c, v3.11 to
// v5.17), called after a read that filled folio from entry: for a folio
// in the swap cache, read from zram, make the folio dirty and tell zram
// to free the slot's data (zram_slot_free_notify), so that the page is
// not kept twice, compressed and uncompressed; the slot itself stays
// allocated until the swap cache lets it go. The caller holds the folio
// locked and a device reference.
//
// Every user of the entry that reads it through the swap cache finds
// the dirty folio. One that does not, the synchronous device's bypass
// (v4.15+), reads a slot without data: zram gives zeros, and pte_same()
// passes, since the PTE still holds the entry. With fix
// keep-slot-on-read reverted the data goes after every such read: a
// fork's child that shares the entry reads zeros (scenario
// zram-notify-fork, commit 5df373e95689). With its variant
// free-unshared (5df373e95689) it goes only when no other page table
// holds the entry, which a readahead of a neighbour's fault and threads
// of one mm still defeat (scenario zram-notify-readahead, commit
// e914d8f00391). The fix (the default) drops the call: the data goes
// when the slot is freed.
func (n *Node) swapSlotFreeNotify(t *ksync.Task, si *swap.SwapInfo, entry mem.SwpEntry, folio *mem.Folio) {
	v := n.cfg.Fixes.Get(fixes.KeepSlotOnRead)
	if v == fixes.KeepSlotKeep || !folio.Test(t, mem.PGSwapCache) {
		return
	}
	if v == fixes.KeepSlotFreeUnshared && n.core.SwapCount(t, entry) != 1 {
		return
	}
	if si.SlotFreeNotify(t, entry) {
		folio.Flags.Set(t, mem.PGDirty)
	}
}
