package fixes

// ShmemSwapinEexist is shmem swap-in's handling of an index entry that
// changed after it was confirmed under the folio lock (commit
// 215c02bc33bb). The folio lock does not stop a hole punch: its
// free_swap_and_cache() only trylocks the folio, so
// shmem_add_to_page_cache() can fail with -EEXIST after the confirmation.
var ShmemSwapinEexist = Register(Info{
	Name:   "shmem-swapin-eexist",
	Thread: "",
	Commit: "215c02bc33bb (tmpfs: fix shmem_getpage_gfp() VM_BUG_ON)",
	Race: "a shmem swap-in confirms its swap entry under the folio lock and asserts that adding the folio " +
		"to the index cannot fail; a racing hole punch (free_swap_and_cache() only trylocks) empties the " +
		"index in between: VM_BUG_ON",
	Variants: []VariantInfo{
		ShmemSwapinEexistBugOn: {
			Status: StatusBefore,
			Name:   "bug-on",
			Source: "the code before commit 215c02bc33bb (v3.1 to v3.6)",
			Doc: "VM_BUG_ON(error) after shmem_add_to_page_cache(): \"We already confirmed swap, and " +
				"make no allocation\"",
		},
		ShmemSwapinEexistHandle: {
			Status: StatusCurrent,
			Name:   "handle",
			Source: "commit 215c02bc33bb (Hugh Dickins, Nov 2012) and the kernel since",
			Doc: "the error goes to the failure path like any -EEXIST; what happens to the folio's swap " +
				"cache copy is fix shmem-swapin's choice (215c02bc33bb deleted it there)",
		},
	},
	Unfixed: ShmemSwapinEexistBugOn,
	Merged:  ShmemSwapinEexistHandle,
})

// The variants of ShmemSwapinEexist.
const (
	ShmemSwapinEexistBugOn Variant = iota
	ShmemSwapinEexistHandle
)
