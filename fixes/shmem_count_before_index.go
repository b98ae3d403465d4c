package fixes

// ShmemCountBeforeIndex is the order of shmem_writepage(): the swap
// entry's count must be taken before the entry is visible in the file's
// index (commit 826267cf1e6c). A truncation or hole punch that finds the
// entry in between frees a count that was never taken; the writeout's
// count then has no owner, and swapoff can never bring the slot in.
var ShmemCountBeforeIndex = Register(Info{
	Name:   "shmem-count-before-index",
	Thread: "",
	Commit: "826267cf1e6c (tmpfs: fix race between truncate and writepage)",
	Race: "shmem writeout puts the swap entry in the index and drops the lock before taking the entry's count: " +
		"a racing truncation frees the count that is not there yet, the writeout's count is orphaned, and " +
		"swapoff never finds its owner",
	Variants: []VariantInfo{
		ShmemCountAfterUnlock: {
			Status: StatusBefore,
			Name:   "after-unlock",
			Source: "the code before commit 826267cf1e6c (v2.6.33 to v2.6.38)",
			Doc: "shmem_writepage sets the index entry under info->lock, drops the lock, then calls " +
				"swap_shmem_alloc()",
		},
		ShmemCountUnderLock: {
			Status: StatusMerged,
			Name:   "under-lock",
			Source: "commit 826267cf1e6c (Hugh Dickins, Mar 2011)",
			Doc:    "swap_shmem_alloc() moves under info->lock, before the lock that published the entry is dropped",
		},
		ShmemCountBeforeIndexV6: {
			Status: StatusCurrent,
			Name:   "before-index",
			Source: "the radix-swap shmem_writepage (Hugh Dickins, v3.1) and the kernel since " +
				"(v6.15's shmem_writeout: swap_shmem_alloc, then shmem_delete_from_page_cache)",
			Doc: "the count is taken before the entry replaces the folio in the index, so no one can " +
				"find the entry without its count",
		},
	},
	Unfixed: ShmemCountAfterUnlock,
	Merged:  ShmemCountBeforeIndexV6,
})

// The variants of ShmemCountBeforeIndex.
const (
	ShmemCountAfterUnlock Variant = iota
	ShmemCountUnderLock
	ShmemCountBeforeIndexV6
)
