package fixes

// SwapinRecheckEntry is do_swap_page()'s check, once it holds the folio
// lock, that the folio it found in the swap cache is still the swap
// cache's folio of the faulting entry (commits 4969c1192d15 and
// 31c4a3d3a0f8). The lookup took only a reference, and a reference does
// not stop the folio from leaving the swap cache (folio_free_swap() does
// not look at references) nor the freed entry from being handed out again:
// the PTE can then hold the same entry for another page, and pte_same()
// cannot tell.
var SwapinRecheckEntry = Register(Info{
	Name:   "swapin-recheck-entry",
	Thread: "",
	Commit: "31c4a3d3a0f8 (mm: further fix swapin race condition), after 4969c1192d15 (mm: fix swapin race condition)",
	Race: "a swap-in that found its folio in the swap cache locks it after the folio left the swap cache " +
		"(or moved to another entry) and the entry went to another page: pte_same() passes and the " +
		"fault maps the stale folio over the new page's entry",
	Variants: []VariantInfo{
		SwapinRecheckNone: {
			Status:      StatusBefore,
			Name:        "none",
			Source:      "the code before commit 4969c1192d15 (v2.6.35 and before)",
			Doc:         "after lock_page() only pte_same() is checked",
			ClassicOnly: "the table design's do_swap_page() always checks folio_matches_swap_entry(), and its folio_put_swap() drops the folio's own entry: there is no code before the fix",
		},
		SwapinRecheckSwapcache: {
			Status: StatusMerged,
			Name:   "swapcache",
			Source: "commit 4969c1192d15 (Andrea Arcangeli, v2.6.36, with the KSM copy of do_swap_page)",
			Doc: "after lock_page(), back out if the page is no longer in the swap cache " +
				"(try_to_free_swap() removed it under our reference)",
			ClassicOnly: "the table design's do_swap_page() always checks folio_matches_swap_entry(), and its folio_put_swap() drops the folio's own entry: there is no code before the fix",
		},
		SwapinRecheckSwapcacheEntry: {
			Status: StatusCurrent,
			Name:   "swapcache-entry",
			Source: "commit 31c4a3d3a0f8 (Hugh Dickins, Sep 2010, v2.6.36) and the kernel since (v6.15's folio->swap check)",
			Doc: "after lock_page(), back out unless the page is in the swap cache and its swap entry " +
				"is still the faulting one (page_private(page) == entry.val)",
		},
	},
	Unfixed: SwapinRecheckNone,
	Merged:  SwapinRecheckSwapcacheEntry,
})

// The variants of SwapinRecheckEntry.
const (
	SwapinRecheckNone Variant = iota
	SwapinRecheckSwapcache
	SwapinRecheckSwapcacheEntry
)
