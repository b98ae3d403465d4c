package fixes

// SwapDevice is seed 003 (../shared/seeds/003_*.txt, "[PATCH -V5b -mm]
// mm, swap: Fix race between swapoff and some swap operations"): swapoff
// frees swap_map while a swap operation that read the entry from a page
// table still uses the device. The variants are how get_swap_device()
// keeps swapoff away: not at all, a preempt-disabled section that
// stop_machine() waits for (-V5b), an RCU-sched read-side section that a
// grace period waits for (-V5a), and the percpu_ref of today's kernel.
// Their code is in swap/device.go and swap/swapon.go.
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
			Status: StatusBefore,
			Source: "the code before commit eb085574a752 (v5.1)",
			Doc:    "get_swap_device() only looks the device up: it takes no reference",
		},
		SwapDeviceStopMachine: {
			Name:   "stop-machine",
			Status: StatusProposed,
			Source: "the -V5b patch (Huang Ying, Dec 2017; posted again as -V7, Feb 2019)",
			Doc: "get_swap_device() disables preemption and checks SWP_VALID around each swap_map, count " +
				"and swap cache lookup; swapoff clears SWP_VALID and runs stop_machine() with an empty " +
				"function, which waits for every CPU to leave its section; callers hold nothing across a " +
				"sleep",
			ClassicOnly: "the -V5a sections are in the classic functions that read swap_map and its counts (__swap_duplicate, __swap_count, swap_free, lookup_swap_cache); the table design's entry operations have none, so there it would run as none",
		},
		SwapDeviceRCUSched: {
			Name:   "rcu-sched",
			Status: StatusMerged,
			Source: "the -V5a patch (Huang Ying, Dec 2017); merged as eb085574a752 (v5.1) with " +
				"rcu_read_lock() and synchronize_rcu(), which since v4.20 wait for the same readers; " +
				"replaced by 63d8620ecf93 (v5.14)",
			Doc: "the same sections as rcu_read_lock_sched() read-side sections; swapoff clears SWP_VALID " +
				"and waits for a grace period (synchronize_sched)",
			ClassicOnly: "the -V5b sections are in the classic functions that read swap_map and its counts (__swap_duplicate, __swap_count, swap_free, lookup_swap_cache); the table design's entry operations have none, so there it would run as none",
		},
		SwapDevicePercpuRef: {
			Name:   "percpu-ref",
			Status: StatusCurrent,
			Source: "commit 63d8620ecf93 (Miaohe Lin, v5.14, \"mm/swapfile: use percpu_ref to serialize " +
				"against concurrent swapoff\"), which let 2799e77529c2 and 2efa33fc7f6e hold the device " +
				"across a sleeping swap-in; 82b1c07a0af6 (v6.9) took it in free_swap_and_cache()",
			Doc: "get_swap_device() takes si->users (a percpu_ref) unless it is dying, and callers hold it " +
				"for the whole swap-in; swapoff kills the reference and waits for it to drain before " +
				"freeing swap_map",
		},
	},
	Unfixed: SwapDeviceNone,
	Merged:  SwapDevicePercpuRef,
})

// The variants of SwapDevice.
const (
	SwapDeviceNone Variant = iota
	SwapDeviceStopMachine
	SwapDeviceRCUSched
	SwapDevicePercpuRef
)
