package fixes

// KeepSlotOnRead is the end of swap_slot_free_notify() (mm/page_io.c,
// v3.11 to v5.17): after reading a swap cache page from a device with
// that hook (zram), the kernel made the page dirty and told the device to
// free the slot's data, keeping the slot itself. Another swap-in of the
// same entry that does not go through the swap cache (the synchronous
// device's bypass, v4.15+) then reads a slot with no data: zram gives
// zeros, and the zeros are mapped.
var KeepSlotOnRead = Register(Info{
	Name:   "keep-slot-on-read",
	Thread: "",
	Commit: "e914d8f00391 (mm: fix unexpected zeroed page mapping with zram swap), after 5df373e95689 " +
		"(mm/page_io.c: do not free shared swap slots)",
	Race: "a swap cache read from zram frees the slot's data (swap_slot_free_notify) while a page table " +
		"still holds the entry; a bypass swap-in of that entry that missed the swap cache reads zeros and " +
		"maps them",
	Variants: []VariantInfo{
		KeepSlotFreeAlways: {
			Status:      StatusBefore,
			Name:        "free-always",
			Source:      "commit b430e9d1c6d4 (mm: remove compressed copy from zram in-memory, v3.11) until 5df373e95689",
			Doc:         "every swap cache read from zram dirties the page and frees the slot's data",
			ClassicOnly: "the page lost is read by the bypass, which the table design has not; and free-unshared reads __swap_count() of swap_map",
		},
		KeepSlotFreeUnshared: {
			Status: StatusMerged,
			Name:   "free-unshared",
			Source: "commit 5df373e95689 (Vinayak Menon, Oct 2019)",
			Doc: "the slot's data is freed only when __swap_count(entry) == 1 (no other page table " +
				"holds it), which threads of one mm (CLONE_VM) and readahead still defeat",
			ClassicOnly: "the page lost is read by the bypass, which the table design has not; and free-unshared reads __swap_count() of swap_map",
		},
		KeepSlotKeep: {
			Status: StatusCurrent,
			Name:   "keep",
			Source: "commit e914d8f00391 (Minchan Kim, Apr 2022) and the kernel since",
			Doc:    "swap_slot_free_notify() is gone from the read path: the slot's data goes only when the slot is freed",
		},
	},
	Unfixed: KeepSlotFreeAlways,
	Merged:  KeepSlotKeep,
})

// The variants of KeepSlotOnRead.
const (
	KeepSlotFreeAlways Variant = iota
	KeepSlotFreeUnshared
	KeepSlotKeep
)
