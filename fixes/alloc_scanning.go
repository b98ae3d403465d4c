package fixes

// AllocScanning is commit 0ec8bc9e880e: when commit 5f843a9a3a1e split
// the cluster allocator out of scan_swap_map_slots(), it left out the two
// flags that keep an allocation off a device being swapped off:
// SWP_WRITEOK, checked before a slot is taken, and SWP_SCANNING, which
// swapoff waits for before it frees swap_map.
var AllocScanning = Register(Info{
	Name:   "alloc-scanning",
	Commit: "0ec8bc9e880e (mm, swap: fix allocation and scanning race with swapoff)",
	Race: "the cluster allocator takes a slot on a device that swapoff has already cleared SWP_WRITEOK " +
		"on and does not hold the device: swapoff frees swap_map under the allocation, or leaves a slot " +
		"in use on a device that is gone",
	Variants: []VariantInfo{
		AllocScanningNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit 5f843a9a3a1e (mm: swap: separate SSD allocation from " +
				"scan_swap_map_slots(), v6.12-rc1) and 0ec8bc9e880e",
			Doc: "cluster_alloc_range() takes the slot without checking SWP_WRITEOK, and nothing tells " +
				"swapoff that an allocation is in flight",
		},
		AllocScanningUsersRef: {
			Status: StatusCurrent,
			Name:   "users-ref",
			Source: "commit 0ec8bc9e880e (Kairui Song, Nov 2024: SWP_WRITEOK in cluster_alloc_range(), " +
				"SWP_SCANNING around the allocation), in the form of v6.15, where the allocator holds " +
				"si->users (get_swap_device_info()) instead of SWP_SCANNING",
			Doc: "cluster_alloc_range() fails once SWP_WRITEOK is clear; the allocator holds the device's " +
				"si->users, which swapoff kills and waits for before it frees swap_map; swapoff also " +
				"locks every cluster once (wait_for_allocation()) before try_to_unuse",
		},
	},
	Unfixed: AllocScanningNone,
	Merged:  AllocScanningUsersRef,
})

// The variants of AllocScanning.
const (
	AllocScanningNone Variant = iota
	AllocScanningUsersRef
)
