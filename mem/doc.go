// Package mem is uswap's RAM: a fixed pool of 4 KiB frames, each with its
// struct folio (flags, reference and map counts, swap entry). It stands
// for the kernel's page allocator (mm/page_alloc.c) and struct folio
// (include/linux/mm_types.h, page-flags.h); swp_entry_t lives here too,
// as in mm_types.h, so that every layer above can name swap entries.
//
// Lock order:
//
//	folio lock (PG_locked, a bit lock: sleeps)
//	  (the owner's locks: the release hook runs with whatever the caller
//	  of the last Put holds, and takes the mm layer's lruvec lock)
//	    Pool.lock (zone->lock, spinlock)
//
// A folio's last reference (Put, or FreeFrozen after RefFreeze) calls the
// pool's release hook (the mm layer's half of __folio_put: off the LRU,
// uncharge the memory cgroup) before the frame returns to the free list.
package mem
