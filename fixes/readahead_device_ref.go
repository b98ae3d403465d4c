package fixes

// ReadaheadDeviceRef is commit 1c2a936edd71: swap_vma_readahead() reads
// the swap entries of the PTEs around a fault, and a PTE may hold an
// entry of another device than the faulting one, which the fault's
// reference does not keep from being swapped off.
var ReadaheadDeviceRef = Register(Info{
	Name:   "readahead-device-ref",
	Commit: "1c2a936edd71 (mm, swap: fix potential UAF issue for VMA readahead)",
	Race: "VMA readahead reads a neighbouring PTE's entry of another swap device with no reference to it, " +
		"and swapoff of that device frees swap_map under the read",
	Variants: []VariantInfo{
		ReadaheadDeviceRefNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit 78524b05f1a3 (mm, swap: avoid redundant swap device pinning, " +
				"v6.18-rc1), which took the reference out of __read_swap_cache_async(), and 1c2a936edd71",
			Doc: "swap_vma_readahead() calls __read_swap_cache_async() on every swap entry of the window, " +
				"holding only the faulting entry's device",
		},
		ReadaheadDeviceRefGetOther: {
			Status: StatusCurrent,
			Name:   "get-other-device",
			Source: "commit 1c2a936edd71 (Kairui Song, Nov 2025; suggested by Huang Ying)",
			Doc: "an entry of another device than the faulting one is read ahead only under a " +
				"get_swap_device() reference to its device, and skipped if that fails",
		},
	},
	Unfixed: ReadaheadDeviceRefNone,
	Merged:  ReadaheadDeviceRefGetOther,
})

// The variants of ReadaheadDeviceRef.
const (
	ReadaheadDeviceRefNone Variant = iota
	ReadaheadDeviceRefGetOther
)
