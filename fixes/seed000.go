package fixes

// Swapcache is seed 000 (../shared/seeds/000_*.txt, "[PATCH v2] mm/swap:
// fix race when skipping swapcache"): do_swap_page() on a synchronous
// device (zram) skips the swap cache, so nothing stops two faults on one
// entry from both reading it, both mapping it and both freeing the slot.
// The variants are the ways the thread weighed to serialize them; their
// code is in mm/fault_swap.go (the classic design's bypass path) and
// swap/count.go.
var Swapcache = Register(Info{
	Name:    "swapcache",
	Aliases: []string{"swapcache-pin"},
	Thread:  "000",
	Commit:  "13ddaf26be32 (mm/swap: fix race when skipping swapcache)",
	Race: "two faults on one entry of a synchronous device both skip the swap cache, both read it " +
		"and both free the slot: a store is lost and the swap map corrupted",
	Variants: []VariantInfo{
		SwapcacheNone: {
			Name:   "none",
			Status: StatusBefore,
			Source: "the code from 0bcac06f27d7 (v4.15, \"mm, swap: skip swapcache for swapin of synchronous " +
				"device\") to 13ddaf26be32 (v6.8)",
			Doc:         "the bypass path reads the entry and maps it with nothing held but the PTE check",
			ClassicOnly: "the table design has no bypass: every swap-in of a synchronous device goes through the swap cache, whose folio is the synchronisation, and SWAP_HAS_CACHE, the count raise and SWAP_MAP_LOCK do not exist there",
		},
		SwapcachePinRefault: {
			Name:   "pin-refault",
			Status: StatusProposed,
			Source: "v1 and v2 of the patch (Kairui Song, Feb 5 and 6 2024), the version the thread reviews",
			Doc: "swapcache_prepare() pins the entry (SWAP_HAS_CACHE as a lock); a racer that cannot pin " +
				"it refaults at once",
			ClassicOnly: "the table design has no bypass: every swap-in of a synchronous device goes through the swap cache, whose folio is the synchronisation, and SWAP_HAS_CACHE, the count raise and SWAP_MAP_LOCK do not exist there",
		},
		SwapcachePinSleep: {
			Name:   "pin-sleep",
			Status: StatusMerged,
			Source: "Kairui Song in the thread (Feb 8 2024): back off with schedule_timeout_uninterruptible(1), " +
				"as __read_swap_cache_async does; v3 tried schedule(), v4 the one-tick sleep, merged as " +
				"13ddaf26be32 (v6.8) and replaced by 01626a182302 (v6.12)",
			Doc:         "the same pin; a racer that cannot take it sleeps one tick, then refaults",
			ClassicOnly: "the table design has no bypass: every swap-in of a synchronous device goes through the swap cache, whose folio is the synchronisation, and SWAP_HAS_CACHE, the count raise and SWAP_MAP_LOCK do not exist there",
		},
		SwapcachePinWaitqueue: {
			Name:   "pin-waitqueue",
			Status: StatusCurrent,
			Source: "commit 01626a182302 (Barry Song, v6.12, \"mm: avoid unconditional one-tick sleep when " +
				"swapcache_prepare fails\") on top of 13ddaf26be32",
			Doc: "the same pin; a racer sleeps on swapcache_wq until the pin is dropped (at most a tick), " +
				"then refaults",
		},
		SwapcacheSwapCount: {
			Name:   "swap-count",
			Status: StatusProposed,
			Source: "Minchan Kim's suggestion, in the steps Kairui Song gives for it in the thread (Feb 8 " +
				"2024); never posted",
			Doc: "under the cluster lock, check the count is still 1 and raise it to 2; a racer that sees " +
				"more goes through the swap cache, and the fault then frees its two counts with " +
				"free_swap_and_cache(), which cleans up a folio the racer left in the swap cache",
			ClassicOnly: "the table design has no bypass: every swap-in of a synchronous device goes through the swap cache, whose folio is the synchronisation, and SWAP_HAS_CACHE, the count raise and SWAP_MAP_LOCK do not exist there",
		},
		SwapcacheMapLock: {
			Name:   "map-lock",
			Status: StatusProposed,
			Source: "Kairui Song in the thread (Feb 8 2024), \"I'm currently trying to add a SWAP_MAP_LOCK\"; " +
				"never posted",
			Doc: "under the cluster lock, replace a map byte of exactly 1 by the special value " +
				"SWAP_MAP_LOCK; everyone else who meets the value spins until the fault has mapped " +
				"the page and freed the slot",
			ClassicOnly: "the table design has no bypass: every swap-in of a synchronous device goes through the swap cache, whose folio is the synchronisation, and SWAP_HAS_CACHE, the count raise and SWAP_MAP_LOCK do not exist there",
		},
		SwapcacheNoBypass: {
			Name:   "no-bypass",
			Status: StatusLater,
			Source: "the kernel's later form: the swap table series (Kairui Song, 2025, \"mm, swap: use " +
				"swap cache as the swap in synchronize layer\"); the commit message's \"Cached\" figure " +
				"measured the swap cache path",
			Doc: "no bypass: a synchronous device's page is read into the swap cache (no readahead), " +
				"racers find it there, and the fault frees the swap copy once it is mapped",
			ClassicOnly: "the table design has no bypass: every swap-in of a synchronous device goes through the swap cache, whose folio is the synchronisation, and SWAP_HAS_CACHE, the count raise and SWAP_MAP_LOCK do not exist there",
		},
	},
	Unfixed: SwapcacheNone,
	Merged:  SwapcachePinWaitqueue,
})

// The variants of Swapcache.
const (
	SwapcacheNone Variant = iota
	SwapcachePinRefault
	SwapcachePinSleep
	SwapcachePinWaitqueue
	SwapcacheSwapCount
	SwapcacheMapLock
	SwapcacheNoBypass
)
