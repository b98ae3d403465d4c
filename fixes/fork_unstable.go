package fixes

// ForkUnstable is commit 1367da7eb875: since commit d24062914837 (fork:
// use __mt_dup() to duplicate maple tree in dup_mmap(), v6.8) a fork
// copies the parent's whole VMA tree first and replaces its entries one
// by one; a fork that fails midway marks where it stopped with
// XA_ZERO_ENTRY and drops the child's mmap_lock before the child is torn
// down. The child is on mmlist as soon as it holds a swap entry, so
// swapoff's unuse_mm() can walk its half-built tree and take the marker
// for a VMA.
var ForkUnstable = Register(Info{
	Name:   "fork-unstable",
	Commit: "1367da7eb875 (mm: swap: check for stable address space before operating on the VMA)",
	Race: "swapoff walks the VMAs of a child whose fork failed midway, between the fork's dropping of the " +
		"child's mmap_lock and its teardown, and takes the XA_ZERO_ENTRY marker for a VMA",
	Variants: []VariantInfo{
		ForkUnstableNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit d24062914837 (v6.8) and 1367da7eb875 (v6.18-rc1)",
			Doc: "unuse_mm() walks every VMA of every mm on mmlist that it can mmget, a half-built " +
				"one included",
		},
		ForkUnstableCheck: {
			Status: StatusCurrent,
			Name:   "check-unstable",
			Source: "commit 1367da7eb875 (Charan Teja Kalla, Sep 2025; suggested by David " +
				"Hildenbrand)",
			Doc: "unuse_mm() skips an address space that check_stable_address_space() finds " +
				"MMF_UNSTABLE, which dup_mmap() sets on failure; its exit frees its swap entries",
		},
		ForkUnstableDestroyPartial: {
			Status: StatusProposed,
			Name:   "destroy-partial",
			Source: "Liam R. Howlett, 'mm: change dup_mmap() recovery' (v1, Sep 2025), the fix " +
				"1367da7eb875 calls the proper one",
			Doc: "a failed dup_mmap() unmaps and frees what it copied and leaves an empty tree " +
				"before it drops the child's mmap_lock: no marker is ever seen",
		},
	},
	Unfixed: ForkUnstableNone,
	Merged:  ForkUnstableCheck,
})

// The variants of ForkUnstable.
const (
	ForkUnstableNone Variant = iota
	ForkUnstableCheck
	ForkUnstableDestroyPartial
)
