package fixes

// The races of a userfaultfd pager (package pager, issue 18): the ones
// that people who page real memory themselves keep having, each closed
// by one rule of the pager's protocol. They are not kernel races; each
// fix cites the kernel rule or commit it follows.

// PagerRecheck is a fault handled twice: two threads fault on one page
// (two messages), and the second handler, which read the page's entry
// before the first one swapped it in, installs what it read from that
// entry's slot; by then the slot may hold another page's data, and the
// page may have been paged out again (the ABA of seed 000, in
// userspace).
var PagerRecheck = Register(Info{
	Name:   "pager-recheck",
	Commit: "do_swap_page()'s pte_same() under the page table lock (mm/memory.c), as seed 000's fix 13ddaf26be32 relies on",
	Race: "two faults on one page: the second handler installs the data of the entry it read before the " +
		"first swapped the page in, after the slot was freed, reused and the page paged out again",
	Variants: []VariantInfo{
		PagerRecheckNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "a handler that trusts the page state it read when it took the message",
			Doc:    "after the unlocked device read, the page is installed without looking at its entry again",
		},
		PagerRecheckPteSame: {
			Status: StatusCurrent,
			Name:   "pte-same",
			Source: "uswap's pager, after do_swap_page()",
			Doc: "under the page lock (and the event lock), the handler checks that the page still holds the " +
				"entry it read; if not, the fault was handled by someone else, and it only wakes the waiter",
		},
	},
	Unfixed: PagerRecheckNone,
	Merged:  PagerRecheckPteSame,
})

// The variants of PagerRecheck.
const (
	PagerRecheckNone Variant = iota
	PagerRecheckPteSame
)

// PagerWake is a copy that finds the page already there and forgets to
// wake the waiter: UFFDIO_COPY fails with EEXIST (or the handler sees
// the page installed), and the handler returns, while the thread that
// faulted sleeps on, because the copy that installed the page was made
// with UFFDIO_COPY_MODE_DONTWAKE (readahead) and woke nobody.
var PagerWake = Register(Info{
	Name: "pager-wake",
	Commit: "ioctl_userfaultfd(2): after EEXIST the faulting thread must still be woken (UFFDIO_WAKE); " +
		"the kernel's selftest does so since 67e803281d1c (userfaultfd: selftest: exercise UFFDIO_COPY/ZEROPAGE -EEXIST)",
	Race: "a fault on a page that readahead installed with DONTWAKE finds it there (EEXIST) and returns " +
		"without waking: the faulting thread sleeps forever",
	Variants: []VariantInfo{
		PagerWakeNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "a handler that takes EEXIST to mean that whoever installed the page woke the waiter",
			Doc:    "a fault that finds its page installed (EEXIST, or the page state) is dropped without a wake",
		},
		PagerWakeAlways: {
			Status: StatusCurrent,
			Name:   "wake",
			Source: "ioctl_userfaultfd(2), UFFDIO_COPY's EEXIST",
			Doc:    "a fault that finds its page installed is answered with UFFDIO_WAKE on the page",
		},
	},
	Unfixed: PagerWakeNone,
	Merged:  PagerWakeAlways,
})

// The variants of PagerWake.
const (
	PagerWakeNone Variant = iota
	PagerWakeAlways
)

// PagerWriteout is a page evicted while it is being written: the pager
// writes a page out and then drops it, and a write that lands in
// between, on a page that was still writable, is lost with the drop.
var PagerWriteout = Register(Info{
	Name: "pager-writeout",
	Commit: "shrink_folio_list() unmaps a folio before pageout() and __remove_mapping() keeps a folio that " +
		"was redirtied or referenced meanwhile (mm/vmscan.c)",
	Race: "a write during writeout, to a page that is not write-protected, is lost when the page is " +
		"dropped after the write-out",
	Variants: []VariantInfo{
		PagerWriteoutNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "a pager that checks only its own dirty bit, kept by write-protect faults of clean pages",
			Doc:    "a dirty page is written out while still writable, then dropped",
		},
		PagerWriteoutProtect: {
			Status: StatusCurrent,
			Name:   "write-protect",
			Source: "uswap's pager, after shrink_folio_list()",
			Doc: "the page is write-protected (UFFDIO_WRITEPROTECT) before it is written out; a write " +
				"meanwhile faults, marks it dirty again and is let through, and the page is kept",
		},
	},
	Unfixed: PagerWriteoutNone,
	Merged:  PagerWriteoutProtect,
})

// The variants of PagerWriteout.
const (
	PagerWriteoutNone Variant = iota
	PagerWriteoutProtect
)

// PagerEvents is a stale copy written over newer data: a handler copies
// a page in while the process's MADV_DONTNEED of it is under way; once
// the REMOVE event is read the kernel no longer refuses copies (EAGAIN
// from mmap_changing), the zap runs, and a copy decided before the event
// lands after it: the process reads old data where it discarded the page.
var PagerEvents = Register(Info{
	Name: "pager-events",
	Commit: "df2cc96e7701 (userfaultfd: prevent non-cooperative events vs mcopy_atomic races): EAGAIN " +
		"until the event is read; what follows the read is the monitor's to order",
	Race: "a copy decided before a REMOVE event was read lands after the process's zap: the discarded page " +
		"comes back with stale data",
	Variants: []VariantInfo{
		PagerEventsNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "a handler that reads events with no lock against its own copies",
			Doc:    "events are read while copies are in flight; their effect on the page state is applied after",
		},
		PagerEventsLock: {
			Status: StatusCurrent,
			Name:   "event-lock",
			Source: "uswap's pager, as the kernel orders faults and munmap with mmap_lock",
			Doc: "messages are read with the event lock held for writing, and every copy holds it for " +
				"reading with the page state checked under it: no copy straddles the read of an event",
		},
	},
	Unfixed: PagerEventsNone,
	Merged:  PagerEventsLock,
})

// The variants of PagerEvents.
const (
	PagerEventsNone Variant = iota
	PagerEventsLock
)
