package swap

import "errors"

// swap_map byte encoding (include/linux/swap.h).
const (
	SwapHasCache   = 0x40 // SWAP_HAS_CACHE: a folio is (or is being put) in the swap cache
	CountContinued = 0x80 // COUNT_CONTINUED: the count goes on in a continuation page
	SwapMapMax     = 0x3e // SWAP_MAP_MAX: the largest count a map byte holds by itself
	SwapMapBad     = 0x3f // SWAP_MAP_BAD: a bad page or the header: never allocated
	SwapContMax    = 0x7f // SWAP_CONT_MAX: the largest digit of a continuation page
)

// ClusterSize is SWAPFILE_CLUSTER (HPAGE_PMD_NR with CONFIG_THP_SWAP):
// slots per cluster.
const ClusterSize = 512

// contPageSize is how many map bytes one continuation page covers: a
// continuation page shadows one page of swap_map.
const contPageSize = 4096

// Cluster list membership, enum swap_cluster_flags (v6.15).
const (
	clusterFlagNone    uint8 = iota // isolated: on no list, its locker owns it
	clusterFlagFree                 // count == 0
	clusterFlagNonfull              // had a slot freed: 0 < count < ClusterSize
	clusterFlagFrag                 // partially used by an allocator: 0 < count < ClusterSize
	clusterFlagFull                 // count == ClusterSize
)

var clusterFlagNames = [...]string{"none", "free", "nonfull", "frag", "full"}

// Errors of the swap core, the kernel's errnos for these paths.
var (
	// ErrNoEnt is -ENOENT: the entry is free or bad.
	ErrNoEnt = errors.New("swap entry not in use")
	// ErrExist is -EEXIST: SWAP_HAS_CACHE is already set (someone else
	// has the entry in the swap cache or pinned).
	ErrExist = errors.New("swap entry already has a swap cache folio or pin")
	// ErrInval is -EINVAL: the entry's count is corrupt.
	ErrInval = errors.New("swap entry count out of range")
	// ErrNoSwap is folio_alloc_swap's -ENOMEM: no free slot on any device.
	ErrNoSwap = errors.New("no free swap slot")
	// ErrBusy: the device is in use or being swapped off.
	ErrBusy = errors.New("swap device busy")
	// ErrBadEntry: the entry names no active device or an offset past its end.
	ErrBadEntry = errors.New("bad swap entry")
)

// errNeedCont is __swap_duplicate's -ENOMEM: a count continuation page
// must be added before the count can grow.
var errNeedCont = errors.New("swap count continuation needed")

// Device flags, si->flags.
const (
	swpUsed        uint32 = 1 << iota // SWP_USED: the type slot is taken
	swpWriteOK                        // SWP_WRITEOK: slots may be allocated
	swpSynchronous                    // SWP_SYNCHRONOUS_IO: swap-in may bypass the swap cache
	// swpValid is SWP_VALID of the -V5a/-V5b patches and of v5.1 to
	// v5.13: get_swap_device() may use the device. Swapoff clears it
	// after try_to_unuse(), then waits for the sections that saw it set.
	swpValid
)
