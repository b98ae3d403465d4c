package fixes

// Swapcache is seed 000 (../docs/seeds/000.md): do_swap_page() on a
// synchronous device (zram) skips the swap cache, so nothing stops two
// faults on one entry from both reading it, both mapping it and both
// freeing the slot.
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
			Source: "the code before commit 13ddaf26be32 (v6.7)",
			Doc:    "the bypass path reads the entry and maps it with nothing held but the PTE check",
		},
		SwapcachePinWaitqueue: {
			Name: "pin-waitqueue",
			Source: "commit 13ddaf26be32 (Kairui Song, Feb 2024), with the wait queue of " +
				"commit 01626a182302 (Barry Song, Oct 2024)",
			Doc: "swapcache_prepare() pins the entry (SWAP_HAS_CACHE as a lock); a racer that " +
				"cannot pin it sleeps on swapcache_wq until the pin is dropped, then refaults",
		},
	},
	Unfixed: SwapcacheNone,
	Merged:  SwapcachePinWaitqueue,
})

// The variants of Swapcache.
const (
	SwapcacheNone Variant = iota
	SwapcachePinWaitqueue
)
