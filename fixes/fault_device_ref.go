package fixes

// FaultDeviceRef is commit 2799e77529c2: after commit eb085574a752 (seed
// 003's fix) do_swap_page() held the device only inside each swap
// operation that took get_swap_device() itself (the swap cache lookup,
// __swap_count()); the synchronous device's bypass then read the page
// from the device holding nothing, and a page read through the swap
// cache was safe only because its locked folio and SWAP_HAS_CACHE held
// swapoff back.
var FaultDeviceRef = Register(Info{
	Name:   "fault-device-ref",
	Commit: "2799e77529c2 (swap: fix do_swap_page() race with swapoff)",
	Race: "do_swap_page()'s bypass reads a synchronous device holding no reference, and swapoff clears " +
		"the device (si->swap_file, si->bdev) under the read",
	Variants: []VariantInfo{
		FaultDeviceRefNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit eb085574a752 (mm, swap: fix race between swapoff and some " +
				"swap operations, v5.1) and 2799e77529c2 (v5.14)",
			Doc: "the device is held only around the swap cache lookup and __swap_count(); the " +
				"bypass's swap_readpage() holds nothing",
			ClassicOnly: "the unprotected read is the bypass's; the table design has no bypass and reads through the swap cache under the fault's device reference",
		},
		FaultDeviceRefWholeFault: {
			Status: StatusCurrent,
			Name:   "whole-fault",
			Source: "commit 2799e77529c2 (Miaohe Lin, Jun 2021), the kernel's form since",
			Doc: "do_swap_page() takes get_swap_device() once the PTE is read and holds it to the " +
				"end of the fault",
		},
	},
	Unfixed: FaultDeviceRefNone,
	Merged:  FaultDeviceRefWholeFault,
})

// The variants of FaultDeviceRef.
const (
	FaultDeviceRefNone Variant = iota
	FaultDeviceRefWholeFault
)
