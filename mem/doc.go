// Package mem is uswap's RAM: a fixed pool of 4 KiB frames, each with its
// struct folio (flags, reference and map counts, swap entry). It stands
// for the kernel's page allocator (mm/page_alloc.c) and struct folio
// (include/linux/mm_types.h, page-flags.h); swp_entry_t lives here too,
// as in mm_types.h, so that every layer above can name swap entries.
//
// Lock order:
//
//	folio lock (PG_locked, a bit lock: sleeps)
//	  Pool.lock (zone->lock, spinlock)
package mem
