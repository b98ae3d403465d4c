package fixes

// MincoreDeviceRef is commit aeb309b81c6b: mincore() of a shmem mapping
// finds, for a page the mapping has not faulted in, the file's index
// entry; a swapped-out page's entry is a swap entry, whose swap cache
// mincore looked up holding nothing that kept swapoff from freeing it.
var MincoreDeviceRef = Register(Info{
	Name:   "mincore-device-ref",
	Commit: "aeb309b81c6b (mm/mincore.c: fix race between swapoff and mincore)",
	Race: "mincore() of a shmem mapping looks up the swap cache of a page's swap entry, found in the " +
		"file's index, with no reference to the device, and swapoff frees the swap cache under it",
	Variants: []VariantInfo{
		MincoreDeviceRefNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit 4b3ef9daa4fc (mm/swap: split swap cache into 64MB trunks, " +
				"v4.11), which made swapoff free the swap cache, and aeb309b81c6b (v5.3)",
			Doc: "mincore_page() looks the swap entry up in the swap cache of its device directly",
		},
		MincoreDeviceRefGet: {
			Status: StatusCurrent,
			Name:   "get-swap-device",
			Source: "commit aeb309b81c6b (Huang Ying, 2019); filemap_get_incore_folio() since " +
				"v6.0 keeps it",
			Doc: "the lookup is made under get_swap_device(), and the page counts as not resident if " +
				"the device is being swapped off",
		},
	},
	Unfixed: MincoreDeviceRefNone,
	Merged:  MincoreDeviceRefGet,
})

// The variants of MincoreDeviceRef.
const (
	MincoreDeviceRefNone Variant = iota
	MincoreDeviceRefGet
)
