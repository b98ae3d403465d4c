package mm

import (
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// swapinFolioStale is do_swap_page()'s check, with the folio locked, that
// the folio its lookup found in the swap cache is still the swap cache's
// folio of entry. The lookup took a reference, and a reference keeps
// neither: folio_free_swap() (a racing fault's should_try_to_free_swap(),
// zap, reclaim) takes the folio out of the swap cache whatever its
// references, the freed entry goes to the next page swapped out, and
// reclaim can give the folio itself another entry. The PTE then holds
// the same entry for another page, and pte_same() cannot tell.
//
// With fix swapin-recheck-entry reverted (the code before 4969c1192d15)
// nothing is checked: the race of scenario swapin-freed-swapcache. With
// its variant swapcache (4969c1192d15) a folio that left the swap cache
// is refaulted, but one that was given another entry is not: the race of
// scenario swapin-reused-entry (drawn in
// explore/testdata/scenarios/swapin-reused-entry.txt), which
// 31c4a3d3a0f8's check of the folio's entry closes.
func (n *Node) swapinFolioStale(t *ksync.Task, folio *mem.Folio, entry mem.SwpEntry) bool {
	switch n.cfg.Fixes.Get(fixes.SwapinRecheckEntry) {
	case fixes.SwapinRecheckNone:
		return false
	case fixes.SwapinRecheckSwapcache:
		return !folio.Test(t, mem.PGSwapCache)
	}
	return !folio.Test(t, mem.PGSwapCache) || folio.Swap() != entry
}
