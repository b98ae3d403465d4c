package fixes

// ShmemSwapin is seed 004 (../docs/seeds/004.md): shmem_swapin_folio()
// against a hole punch or truncation (free_swap_and_cache() only trylocks
// the folio) and against a failed memcg charge.
var ShmemSwapin = Register(Info{
	Name:    "shmem-swapin",
	Aliases: []string{"shmem-swapin-keep-cache"},
	Thread:  "004",
	Commit: "the thread's conclusion, merged in v5.8 with 'mm: memcontrol: charge swapin pages " +
		"on instantiation' (Johannes Weiner, May 2020)",
	Race: "a shmem swap-in that fails deletes its folio from the swap cache on any error: a failed " +
		"charge throws the cached copy away and the next fault reads the device again",
	Variants: []VariantInfo{
		ShmemSwapinDeleteAnyError: {
			Name:   "delete-any-error",
			Source: "the patch under review (Johannes Weiner, Apr 2020), as Joonsoo Kim found it",
			Doc: "delete_from_swap_cache() on any error of the charge or of shmem_add_to_page_cache, " +
				"whether or not the index still holds the entry",
		},
		ShmemSwapinKeepCache: {
			Name:   "keep-cache",
			Source: "the thread's conclusion (Johannes Weiner, May 8 2020) and the kernel since",
			Doc: "delete the folio from the swap cache only when the index entry was purged (a racing " +
				"truncation), through folio_free_swap(); -ENOMEM keeps it cached; a stranded folio is " +
				"left to reclaim",
		},
	},
	Unfixed: ShmemSwapinDeleteAnyError,
	Merged:  ShmemSwapinKeepCache,
})

// The variants of ShmemSwapin.
const (
	ShmemSwapinDeleteAnyError Variant = iota
	ShmemSwapinKeepCache
)
