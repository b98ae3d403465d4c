// Package fixes names the race fixes that uswap can revert. Each fix from
// the seed threads (and each later one reproduced from the kernel's
// history) is a switch, on by default; with a switch off the engine runs
// the code as it was before the fix, so that the explorer can show both
// halves: the race with the fix off, nothing with it on.
package fixes

import (
	"fmt"
	"sort"
	"strings"
)

// Set holds one switch per fix. The zero value has every fix off; use All.
// A Set is immutable once a system is built from it.
type Set struct {
	// SwapcachePin is seed 000 (commit 13ddaf26be32, "mm/swap: fix race
	// when skipping swapcache"): on a synchronous device do_swap_page
	// skips the swap cache, and pins the entry with swapcache_prepare()
	// (SWAP_HAS_CACHE as a lock) before reading it; a racer that fails
	// to pin waits on swapcache_wq and refaults. Off: two faults on one
	// entry both read it, both map it, and both free the slot.
	SwapcachePin bool
	// SwapDeviceRef is seed 003 (commit eb085574a752, "mm, swap: fix
	// race between swapoff and some swap operations"): swap-in paths hold
	// get_swap_device()/put_swap_device() and swapoff kills the reference
	// and waits for it before freeing swap_map. Off: swapoff frees
	// swap_map while a swap-in still dereferences it.
	SwapDeviceRef bool
	// ShmemSwapinKeepCache is seed 004 (Johannes Weiner and Joonsoo Kim,
	// May 2020, on "mm: memcontrol: charge swapin pages on
	// instantiation"): shmem_swapin_folio charges the file's cgroup
	// after confirming, under the folio lock, that the index still
	// holds the swap entry. On: when it fails, the folio is deleted from
	// the swap cache only if the index entry is seen purged (a racing
	// truncation or hole punch), and then only through
	// folio_free_swap(), i.e. if nothing but the cache holds the slot; a
	// failed charge (-ENOMEM) keeps the folio cached, so the next fault
	// does not read the device again; a folio stranded by
	// free_swap_and_cache()'s trylock is left to reclaim. Off (the patch
	// under review): delete_from_swap_cache() on any error of the charge
	// or of shmem_add_to_page_cache, whether or not the entry is still
	// in the index.
	ShmemSwapinKeepCache bool
}

// All has every fix on: the default configuration.
func All() Set {
	return Set{SwapcachePin: true, SwapDeviceRef: true, ShmemSwapinKeepCache: true}
}

type fix struct {
	name  string
	field func(*Set) *bool
	doc   string
}

var table = []fix{
	{"swapcache-pin", func(s *Set) *bool { return &s.SwapcachePin },
		"seed 000: pin the entry with swapcache_prepare() when do_swap_page skips the swap cache"},
	{"swap-device-ref", func(s *Set) *bool { return &s.SwapDeviceRef },
		"seed 003: get_swap_device()/put_swap_device() against swapoff freeing swap_map"},
	{"shmem-swapin-keep-cache", func(s *Set) *bool { return &s.ShmemSwapinKeepCache },
		"seed 004: a failed shmem swap-in keeps its folio in the swap cache unless truncation purged the entry"},
}

// Names lists the fixes' names, sorted.
func Names() []string {
	var n []string
	for _, f := range table {
		n = append(n, f.name)
	}
	sort.Strings(n)
	return n
}

// Describe returns a fix's one-line description.
func Describe(name string) string {
	for _, f := range table {
		if f.name == name {
			return f.doc
		}
	}
	return ""
}

// Revert returns s with the named fix turned off; an unknown name is an
// error that lists the known ones.
func (s Set) Revert(name string) (Set, error) {
	for _, f := range table {
		if f.name == name {
			*f.field(&s) = false
			return s, nil
		}
	}
	return s, fmt.Errorf("unknown fix %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Reverted lists the fixes that s turns off.
func (s Set) Reverted() []string {
	var n []string
	for _, f := range table {
		if !*f.field(&s) {
			n = append(n, f.name)
		}
	}
	sort.Strings(n)
	return n
}
