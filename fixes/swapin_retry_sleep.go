package fixes

// SwapinRetrySleep is how __read_swap_cache_async() waits when
// swapcache_prepare() fails with -EEXIST: another task holds
// SWAP_HAS_CACHE for the entry but has not put its folio in the swap
// cache yet (commit 029c4628b2eb). cond_resched() gives the CPU to
// nobody on a preemptible kernel or to a task of higher priority only: a
// real-time task spinning there never lets the holder, on the same CPU
// with a lower priority, run.
var SwapinRetrySleep = Register(Info{
	Name:   "swapin-retry-sleep",
	Thread: "",
	Commit: "029c4628b2eb (mm: swap: get rid of livelock in swapin readahead)",
	Race: "a swap-in that finds SWAP_HAS_CACHE held without a swap cache folio retries with cond_resched(): " +
		"when it outranks the holder, the holder never runs again and the retry loop never ends",
	Variants: []VariantInfo{
		SwapinRetryCondResched: {
			Status: StatusBefore,
			Name:   "cond-resched",
			Source: "the code before commit 029c4628b2eb: cond_resched() since cbab0e4eec29 (v3.8), a bare loop before it",
			Doc: "the retry loop calls cond_resched(), which leaves the task runnable (a bare loop runs the " +
				"same way here: every turn passes scheduling points)",
			ClassicOnly: "the retry waits on a SWAP_HAS_CACHE pin that has no folio yet; in the table design the winner's folio is in the swap cache at once and a racer sleeps on its lock",
		},
		SwapinRetrySleepTick: {
			Status: StatusCurrent,
			Name:   "sleep-tick",
			Source: "commit 029c4628b2eb (Guo Ziliang, Mar 2022) and the kernel since",
			Doc: "the retry loop sleeps a tick (schedule_timeout_uninterruptible(1)): the task leaves the " +
				"run queue and the holder runs",
		},
	},
	Unfixed: SwapinRetryCondResched,
	Merged:  SwapinRetrySleepTick,
})

// The variants of SwapinRetrySleep.
const (
	SwapinRetryCondResched Variant = iota
	SwapinRetrySleepTick
)
