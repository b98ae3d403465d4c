package fixes

// ContLock is commit 2628bd6fc052: the count continuation pages of one
// page of swap_map are a list on that page's struct page, and the map
// page holds the counts of several clusters. Since commit 235b62176712
// (mm/swap: add cluster lock, v4.11) swap_count_continued() ran under a
// cluster lock only, while add_swap_count_continuation() for a slot of
// another cluster of the same map page changed the list under si->lock.
var ContLock = Register(Info{
	Name:   "cont-lock",
	Commit: "2628bd6fc052 (mm, swap: fix race between swap count continuation operations)",
	Race: "a count carry on one cluster walks the continuation list of its swap_map page while a fork on " +
		"another cluster of the same page is adding the list's first page: the carry takes the map page " +
		"itself for a continuation page and the count is lost",
	Variants: []VariantInfo{
		ContLockNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit 235b62176712 (mm/swap: add cluster lock, v4.11) and " +
				"2628bd6fc052 (v4.14)",
			Doc: "swap_count_continued() walks the list under its slot's cluster lock only; " +
				"add_swap_count_continuation() sets page_private(head) and then links its page, " +
				"serialized against other adders (by si->lock) but not against the walkers",
			ClassicOnly: "count continuation pages and cont_lock are the classic design's; the table design keeps large counts in the cluster's extend table under the cluster lock",
		},
		ContLockSpin: {
			Status: StatusCurrent,
			Name:   "cont-lock",
			Source: "commit 2628bd6fc052 (Huang Ying, Oct 2017), the kernel's form since",
			Doc: "si->cont_lock, a spinlock of the device, guards the continuation lists: the adder " +
				"marks the head and links its page under it, and swap_count_continued() walks under it",
		},
	},
	Unfixed: ContLockNone,
	Merged:  ContLockSpin,
})

// The variants of ContLock.
const (
	ContLockNone Variant = iota
	ContLockSpin
)
