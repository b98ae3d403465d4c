package fixes

// SwapDevice is seed 003 (../docs/seeds/003.md): swapoff frees swap_map
// while a swap operation that read the entry from a page table still
// uses the device.
var SwapDevice = Register(Info{
	Name:    "swap-device",
	Aliases: []string{"swap-device-ref"},
	Thread:  "003",
	Commit:  "eb085574a752 (mm, swap: fix race between swapoff and some swap operations)",
	Race: "swapoff frees swap_map (and the swap cache) under a swap-in or free_swap_and_cache() " +
		"that looked the device up without holding it",
	Variants: []VariantInfo{
		SwapDeviceNone: {
			Name:   "none",
			Source: "the code before commit eb085574a752 (v4.16)",
			Doc:    "get_swap_device() only looks the device up: it takes no reference",
		},
		SwapDevicePercpuRef: {
			Name: "percpu-ref",
			Source: "commit 63d8620ecf93 (mm/swapfile: use percpu_ref to serialize against concurrent swapoff, " +
				"Miaohe Lin, v5.14), the kernel's form since",
			Doc: "get_swap_device() takes si->users (a percpu_ref) unless it is dying; swapoff kills " +
				"the reference and waits for it to drain before freeing swap_map",
		},
	},
	Unfixed: SwapDeviceNone,
	Merged:  SwapDevicePercpuRef,
})

// The variants of SwapDevice.
const (
	SwapDeviceNone Variant = iota
	SwapDevicePercpuRef
)
