// Package pager pages real memory through a userfaultfd with uswap's
// swap core: a region of pages, of which at most a budget are resident,
// the rest swapped out to any uswap device (compressed RAM, a swap file)
// through swap.Core's slots and swap cache. It is the userspace half of
// what mm/memory.c, mm/swap_state.c and mm/vmscan.c do for anonymous
// memory, where the page table is the kernel's and the pager only hears
// about faults.
//
// Go types and their kernel counterparts:
//
//	Pager      a memory cgroup's worth of anonymous memory: its page
//	           table entries, its LRU, its limit (the budget)
//	pte        the pager's view of one page table entry, with the page
//	           table lock (ptl) and the workingset shadow
//	Ops        what the pager asks of the kernel: the userfaultfd ioctls,
//	           reading a page, dropping a page (package realmem binds it
//	           to a real userfaultfd; package uffdsim simulates it)
//	lruvec     struct lruvec: the inactive and active lists
//	worker     a fault-handling task (a thread reading the userfaultfd)
//	mem.Folio  struct folio for a resident page; its frame is the
//	           kernel's, the folio only describes it (a descriptor pool)
//
// Design:
//
//  1. A page is none (never written, or discarded), present (resident,
//     with a folio), swap (its data in a slot, the slot's count held by
//     the pte) or gone (unmapped by the process). Resident pages are
//     mapped write-protected while clean, so the first write after a
//     swap-in or a zero fill reports a WP fault: dirty tracking without
//     the page table's dirty bit.
//  2. A missing fault on a swap pte is do_swap_page(): look the entry up
//     in the swap cache, or pin it (swapcache_prepare) and add a new folio
//     for it; read the slot with the folio locked (the data lives on the
//     device until it is mapped); then, under the event lock and the page
//     lock, check that the pte still holds the entry (pte_same, fix
//     pager-recheck) and install the page with UFFDIO_COPY: write-protected
//     for a read fault, which keeps the slot (a clean swap cache page),
//     writable for a write fault, which frees it. A missing fault on a
//     none pte installs a zero page the same way.
//  3. A fault whose page is already installed (the pte says so, or the
//     copy fails with EEXIST) is answered with UFFDIO_WAKE: whoever
//     installed the page may have done so without waking (readahead copies
//     with DONTWAKE), and the faulting thread would sleep forever (fix
//     pager-wake).
//  4. Eviction is shrink_folio_list(): isolate folios from the inactive
//     tail, lock each, write-protect it if it is dirty (fix
//     pager-writeout), clear its dirty bit and write it to its slot
//     (allocating one if it has none); then, under each page's lock in
//     turn, check that it was not dirtied again meanwhile (a WP fault
//     during writeout sets the dirty bit and lifts the protection: the
//     write lands, the page stays) — the dirty check of
//     __remove_mapping() — and mark its pte dropping; punch the holes of
//     each run of consecutive marked pages at once; and point each pte at
//     its slot. A fault on a dropping page is tried again after. A clean
//     page that still has its slot (swap cache) is dropped without
//     writing; a clean page with no slot (a zero fill never written)
//     becomes none.
//  5. The process's own MADV_DONTNEED and munmap arrive as REMOVE and
//     UNMAP events. Messages are read with the event lock held for
//     writing, and every change of a page's state (copies, protection,
//     drops) holds it for reading: an event is applied before any copy
//     that could land after the process's zap (fix pager-events). While
//     an event is queued and not read the kernel fails copies with
//     EAGAIN: the worker puts the fault back and reads events first.
//  6. Workers read messages in turns and handle the faults they read;
//     readahead follows a sequential fault with copies of the next
//     swapped-out pages (DONTWAKE: nobody waits for them). A background
//     reclaimer (kswapd) keeps free frames between its watermarks, and a
//     worker that finds none reclaims directly.
//  7. The eviction policy is FIFO or the kernel's workingset: new pages
//     enter the inactive list; a page that is paged in again soon after
//     its eviction (its refault distance, the evictions since, is within
//     the active list's size) enters the active list; a write (a WP
//     fault) marks a page referenced, which gives it a second round.
//
// Lock order (outermost first; ksync's rank table checks it under the
// invariants tag):
//
//	folio lock (mem.PGLocked; reclaim holds several, taken by trylock)
//	  Pager.eventLock (read side; the reader of messages takes it for
//	  writing, and then only trylocks folios)
//	    pte.ptl (per page; one at a time)
//	      lruvec.lock
//	      swap core locks (swap.Core's order)
//	      the Ops' own locks (uffdsim's is a leaf)
//
// Every lock, atomic and wait is a ksync operation on the calling task,
// so that package sched can run the whole protocol under the explorer.
package pager
