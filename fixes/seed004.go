package fixes

// ShmemSwapin is seed 004 (../shared/seeds/004_*.txt, Johannes Weiner
// and Joonsoo Kim on shmem_swapin_page(), May 2020): a shmem swap-in that
// confirmed its entry under the folio lock can still fail, at the memcg
// charge or, against a hole punch (free_swap_and_cache() only trylocks
// the folio), at shmem_add_to_page_cache(), with its folio in the swap
// cache. The variants are who deletes that folio, and when. Their code is
// in mm/shmem_swapin.go and mm/shmem.go.
var ShmemSwapin = Register(Info{
	Name:    "shmem-swapin",
	Aliases: []string{"shmem-swapin-keep-cache"},
	Thread:  "004",
	Commit: "14235ab36019 (mm: shmem: remove rare optimization when swapin races with hole punching) " +
		"and 3fea5a499d57 (mm: memcontrol: convert page cache to a new mem_cgroup_charge() API), v5.8",
	Race: "a shmem swap-in that fails its charge deletes its folio from the swap cache, so the next " +
		"read goes to the device again; one racing a hole punch leaves its folio stranded until reclaim",
	Variants: []VariantInfo{
		ShmemSwapinBefore2020: {
			Name:   "before-2020",
			Status: StatusBefore,
			Source: "shmem_swapin_page() of v5.7, the code the patch under review replaced (its deletion " +
				"from 215c02bc33bb)",
			Doc: "charge, then shmem_add_to_page_cache(); a failed charge keeps the folio in the swap " +
				"cache; a failed add (a racing hole punch) cancels the charge and deletes the folio " +
				"from the swap cache",
		},
		ShmemSwapinDeleteAnyError: {
			Name:   "delete-any-error",
			Status: StatusProposed,
			Source: "the patch under review (v1 of \"mm: memcontrol: convert page cache to a new " +
				"mem_cgroup_charge() API\", Johannes Weiner, Apr 2020), as Joonsoo Kim found it",
			Doc: "delete_from_swap_cache() on any error of the charge or of shmem_add_to_page_cache(), " +
				"whether or not the index still holds the entry",
		},
		ShmemSwapinDeleteIfRaced: {
			Name:   "delete-if-raced",
			Status: StatusProposed,
			Source: "the thread's conclusion (Johannes Weiner, May 8 2020), posted as v2 of the same patch " +
				"(-ENOENT); dropped before the merge by 14235ab36019",
			Doc: "delete the folio from the swap cache only when the index no longer holds the entry (a " +
				"racing hole punch); a failed charge keeps it cached",
		},
		ShmemSwapinKeepCache: {
			Name:   "keep-cache",
			Status: StatusCurrent,
			Source: "14235ab36019 and 3fea5a499d57 (Johannes Weiner, v5.8), after Hugh Dickins' review; " +
				"the kernel since",
			Doc: "no error deletes the folio: a failed charge keeps the cached copy, and a folio " +
				"stranded by a racing hole punch is left to reclaim (or swapoff)",
		},
		ShmemSwapinLockInUndo: {
			Name:   "lock-in-undo",
			Status: StatusProposed,
			Source: "Joonsoo Kim in the thread (Apr 23 2020): free the swap entry in shmem_undo_range() " +
				"with a function that takes the folio lock instead of free_swap_and_cache()'s trylock",
			Doc: "truncation and hole punch wait for the folio lock of a swap cache folio whose entry " +
				"they free, so a racing swap-in cannot leave it stranded; the swap-in keeps its folio " +
				"on a failed charge",
			ClassicOnly: "it waits through the classic free_swap_and_cache(), whose SWAP_HAS_CACHE result says a folio may be cached; the table design's swap_put_entries_direct() has no waiting form",
		},
	},
	// The thread fixes the patch it reviews: --revert runs that patch.
	Unfixed: ShmemSwapinDeleteAnyError,
	Merged:  ShmemSwapinKeepCache,
})

// The variants of ShmemSwapin.
const (
	ShmemSwapinBefore2020 Variant = iota
	ShmemSwapinDeleteAnyError
	ShmemSwapinDeleteIfRaced
	ShmemSwapinKeepCache
	ShmemSwapinLockInUndo
)
