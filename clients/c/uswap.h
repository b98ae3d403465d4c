/*
 * uswap.h: memory paged by `uswap serve`, for programs in C.
 *
 * uswap_map() maps a region of memory whose pages the uswap daemon keeps
 * under a budget, swapping the rest out to its compressed RAM (or a swap
 * file): the region is a memfd mapped shared, registered with a
 * userfaultfd, and both descriptors go to the daemon over its Unix
 * socket (docs/serve.md has the protocol). The memory behaves as
 * anonymous memory: MADV_DONTNEED discards pages, munmap of part of it
 * works, fork does not copy it (MADV_DONTFORK).
 *
 *	struct uswap_region r;
 *	char *p = uswap_map("/run/uswap.sock", 1 << 30, 256 << 20, &r);
 *	if (!p) { fprintf(stderr, "%s\n", r.error); ... }
 *	... use p[0 .. (1 << 30) - 1] ...
 *	uswap_unmap(&r);
 */
#ifndef USWAP_H
#define USWAP_H

#include <stddef.h>
#include <stdint.h>

struct uswap_region {
	void *addr;          /* the region, page-aligned */
	size_t size;         /* its size in bytes, whole pages */
	int sock;            /* the connection to the daemon, open while paged */
	uint64_t id;         /* the daemon's number for the region */
	uint64_t budget_pages;
	char error[256];     /* why uswap_map or uswap_unmap failed */
};

/*
 * uswap_map maps size bytes (rounded up to pages) paged by the daemon
 * listening at socket_path, of which at most budget bytes are resident
 * (0: the daemon's default, a quarter). It returns the memory, or NULL
 * with r->error saying why (and errno set).
 */
void *uswap_map(const char *socket_path, size_t size, size_t budget, struct uswap_region *r);

/*
 * uswap_stats fills *resident and *swap_ins from the daemon's counters
 * for the region; 0 on success, -1 with r->error.
 */
int uswap_stats(struct uswap_region *r, int64_t *resident, uint64_t *swap_ins);

/*
 * uswap_unmap asks the daemon to stop paging the region, then unmaps it
 * and closes the connection. 0 on success, -1 with r->error (the region
 * is unmapped in any case). If the process exits without it, the daemon
 * notices the closed connection and frees what the region held.
 */
int uswap_unmap(struct uswap_region *r);

#endif
