package fixes

// AvailWriteOK is commit 6fe7d6b99211: swapoff took its device off
// swap_avail_head before it took si->lock to clear SWP_WRITEOK, so a slot
// free on a full device, which puts the device back on the list when it
// sees SWP_WRITEOK still set, could put it back after swapoff had taken
// it off: the swapped-off device stays on the available list.
var AvailWriteOK = Register(Info{
	Name:   "avail-writeok",
	Commit: "6fe7d6b99211 (mm/swap: fix swap_info_struct race between swapoff and get_swap_pages())",
	Race: "swapoff takes a full device off the available list before it clears SWP_WRITEOK, and a slot " +
		"freed meanwhile puts the device back: it stays on swap_avail_head after swapoff",
	Variants: []VariantInfo{
		AvailWriteOKNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code before commit 6fe7d6b99211 (v6.3), since a2468cc9bfdf (swap: choose swap " +
				"device according to numa node, v4.14)",
			Doc: "swapoff: del_from_avail_list(), then spin_lock(&si->lock) and clear SWP_WRITEOK; " +
				"swap_range_free() of a full device checks SWP_WRITEOK, then add_to_avail_list()",
		},
		AvailWriteOKClearFirst: {
			Status: StatusCurrent,
			Name:   "clear-first",
			Source: "commit 6fe7d6b99211 (Rongwei Wang, Apr 2023), in the form of v6.14's " +
				"del_from_avail_list(si, true) (Kairui Song)",
			Doc: "swapoff clears SWP_WRITEOK under si->lock before it takes the device off the list, and " +
				"the free that would put it back checks SWP_WRITEOK under swap_avail_lock: one of the " +
				"two sees the other",
		},
	},
	Unfixed: AvailWriteOKNone,
	Merged:  AvailWriteOKClearFirst,
})

// The variants of AvailWriteOK.
const (
	AvailWriteOKNone Variant = iota
	AvailWriteOKClearFirst
)
