/*
 * usemem.c: the usemem work (/work/shared/bench/README.md) on memory
 * paged by `uswap serve`, through the C client: fill every page with
 * usemem's mixed content, then make passes that read each page's first
 * word (its index) and flip a bit of byte 8 (-w), in order or shuffled
 * (-r), and at the end check every byte of every page.
 *
 *	usemem -S SOCKET -s MiB -l MiB [-p passes] [-r] [-w] [-D]
 *
 * -D discards (MADV_DONTNEED) every 7th page between passes and checks
 * that it reads as zeros. It prints usemem's result line and exits 0 if
 * every check passed, 1 otherwise, 2 on a bad argument, 3 if the region
 * could not be mapped.
 */
#define _GNU_SOURCE
#include "uswap.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* fill writes usemem's "mixed" page i. */
static void fill(unsigned char *p, uint64_t i)
{
	uint64_t s = i, tok[16][2];
	for (int t = 0; t < 16; t++) {
		tok[t][0] = splitmix64(&s);
		tok[t][1] = splitmix64(&s);
	}
	for (int k = 0; k < 256; k++)
		memcpy(p + 16 * k, tok[splitmix64(&s) & 15], 16);
	memcpy(p, &i, 8);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	size_t size_mib = 64, limit_mib = 16;
	int passes = 3, rnd = 0, wr = 0, discard = 0, c;
	while ((c = getopt(argc, argv, "S:s:l:p:rwD")) != -1) {
		switch (c) {
		case 'S': sock = optarg; break;
		case 's': size_mib = strtoul(optarg, NULL, 10); break;
		case 'l': limit_mib = strtoul(optarg, NULL, 10); break;
		case 'p': passes = atoi(optarg); break;
		case 'r': rnd = 1; break;
		case 'w': wr = 1; break;
		case 'D': discard = 1; break;
		default: return 2;
		}
	}
	if (!sock || size_mib == 0 || passes < 1) {
		fprintf(stderr, "usage: usemem -S SOCKET -s MiB -l MiB [-p passes] [-r] [-w] [-D]\n");
		return 2;
	}
	uint64_t pages = size_mib * 256;
	struct uswap_region r;
	unsigned char *mem = uswap_map(sock, pages * PAGE, limit_mib << 20, &r);
	if (!mem) {
		fprintf(stderr, "%s\n", r.error);
		return 3;
	}
	uint64_t *order = malloc(pages * sizeof *order);
	unsigned char *flips = calloc(pages, 1), *gone = calloc(pages, 1);
	for (uint64_t i = 0; i < pages; i++)
		order[i] = i;
	if (rnd) {
		uint64_t s = 42;
		for (uint64_t i = pages - 1; i > 0; i--) {
			uint64_t j = splitmix64(&s) % (i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	}
	double t0 = now();
	for (uint64_t i = 0; i < pages; i++)
		fill(mem + i * PAGE, i);
	double fill_s = now() - t0;
	printf("fill pages=%" PRIu64 " seconds=%.3f pages_per_s=%.0f\n", pages, fill_s, pages / fill_s);
	uint64_t corrupt = 0;
	double best = 0;
	for (int p = 0; p < passes; p++) {
		t0 = now();
		for (uint64_t k = 0; k < pages; k++) {
			uint64_t i = order[k];
			unsigned char *pg = mem + i * PAGE;
			uint64_t w;
			memcpy(&w, pg, 8);
			if (w != (gone[i] ? 0 : i))
				corrupt++;
			if (wr && !gone[i]) {
				pg[8] ^= 1;
				flips[i] ^= 1;
			}
		}
		double s = now() - t0;
		printf("pass %d seconds=%.3f pages_per_s=%.0f\n", p, s, pages / s);
		if (pages / s > best)
			best = pages / s;
		if (discard && p == 0) {
			for (uint64_t i = 3; i < pages; i += 7) {
				madvise(mem + i * PAGE, PAGE, MADV_DONTNEED);
				gone[i] = 1;
				uint64_t w;
				memcpy(&w, mem + i * PAGE, 8);
				if (w != 0)
					corrupt++;
			}
		}
	}
	/* Every byte of every page. */
	unsigned char want[PAGE];
	for (uint64_t i = 0; i < pages; i++) {
		if (gone[i]) {
			memset(want, 0, PAGE);
		} else {
			fill(want, i);
			want[8] ^= flips[i];
		}
		if (memcmp(want, mem + i * PAGE, PAGE) != 0)
			corrupt++;
	}
	int64_t resident = 0;
	uint64_t swap_ins = 0;
	if (uswap_stats(&r, &resident, &swap_ins) < 0)
		fprintf(stderr, "%s\n", r.error);
	printf("uswap region=%" PRIu64 " budget_pages=%" PRIu64 " resident_pages=%" PRId64 " swap_ins=%" PRIu64 "\n",
	       r.id, r.budget_pages, resident, swap_ins);
	printf("result pages_per_s=%.0f pages=%" PRIu64 " threads=1 access=%s write=%d pattern=mixed corrupt=%" PRIu64 "\n",
	       best, pages, rnd ? "random" : "seq", wr, corrupt);
	if (uswap_unmap(&r) < 0) {
		fprintf(stderr, "%s\n", r.error);
		return 1;
	}
	return corrupt ? 1 : 0;
}
