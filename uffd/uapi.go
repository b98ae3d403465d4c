package uffd

// This file is include/uapi/linux/userfaultfd.h: the ioctl numbers, the
// argument structures and the message layout, with the values of the
// kernel's header (checked against the C header by TestUAPIConstants
// where a C compiler is present).

// api is UFFD_API.
const api = 0xAA

// Features are UFFD_FEATURE_* bits: what UFFDIO_API asks for and what the
// kernel says it supports.
type Features uint64

// The features, with the kernel's values.
const (
	FeaturePagefaultFlagWP  Features = 1 << 0  // UFFD_FEATURE_PAGEFAULT_FLAG_WP: WP faults say so
	FeatureEventFork        Features = 1 << 1  // UFFD_FEATURE_EVENT_FORK
	FeatureEventRemap       Features = 1 << 2  // UFFD_FEATURE_EVENT_REMAP (mremap)
	FeatureEventRemove      Features = 1 << 3  // UFFD_FEATURE_EVENT_REMOVE (MADV_DONTNEED, MADV_REMOVE)
	FeatureMissingHugetlbfs Features = 1 << 4  // UFFD_FEATURE_MISSING_HUGETLBFS
	FeatureMissingShmem     Features = 1 << 5  // UFFD_FEATURE_MISSING_SHMEM
	FeatureEventUnmap       Features = 1 << 6  // UFFD_FEATURE_EVENT_UNMAP (munmap)
	FeatureSigbus           Features = 1 << 7  // UFFD_FEATURE_SIGBUS
	FeatureThreadID         Features = 1 << 8  // UFFD_FEATURE_THREAD_ID
	FeatureMinorHugetlbfs   Features = 1 << 9  // UFFD_FEATURE_MINOR_HUGETLBFS
	FeatureMinorShmem       Features = 1 << 10 // UFFD_FEATURE_MINOR_SHMEM
	FeatureExactAddress     Features = 1 << 11 // UFFD_FEATURE_EXACT_ADDRESS
	FeatureWPHugetlbfsShmem Features = 1 << 12 // UFFD_FEATURE_WP_HUGETLBFS_SHMEM
	FeatureWPUnpopulated    Features = 1 << 13 // UFFD_FEATURE_WP_UNPOPULATED
	FeaturePoison           Features = 1 << 14 // UFFD_FEATURE_POISON
	FeatureWPAsync          Features = 1 << 15 // UFFD_FEATURE_WP_ASYNC
	FeatureMove             Features = 1 << 16 // UFFD_FEATURE_MOVE
)

var featureNames = [...]string{
	"pagefault_flag_wp", "event_fork", "event_remap", "event_remove",
	"missing_hugetlbfs", "missing_shmem", "event_unmap", "sigbus",
	"thread_id", "minor_hugetlbfs", "minor_shmem", "exact_address",
	"wp_hugetlbfs_shmem", "wp_unpopulated", "poison", "wp_async", "move",
}

// String names the set bits, "|"-separated.
func (f Features) String() string {
	s := ""
	for i, n := range featureNames {
		if f&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if rest := f &^ (1<<len(featureNames) - 1); rest != 0 {
		if s != "" {
			s += "|"
		}
		s += "unknown"
	}
	if s == "" {
		return "none"
	}
	return s
}

// Mode is UFFDIO_REGISTER_MODE_*: which faults of a range are reported.
type Mode uint64

const (
	ModeMissing Mode = 1 << 0 // UFFDIO_REGISTER_MODE_MISSING: access to a page that is not there
	ModeWP      Mode = 1 << 1 // UFFDIO_REGISTER_MODE_WP: a write to a write-protected page
	ModeMinor   Mode = 1 << 2 // UFFDIO_REGISTER_MODE_MINOR: page cache hit with no PTE (shmem, hugetlbfs)
)

// CopyMode is UFFDIO_COPY_MODE_*.
type CopyMode uint64

const (
	CopyDontWake CopyMode = 1 << 0 // UFFDIO_COPY_MODE_DONTWAKE: leave the faulting thread asleep
	CopyWP       CopyMode = 1 << 1 // UFFDIO_COPY_MODE_WP: map the page write-protected
)

// ioctl command numbers: _IOC(dir, UFFDIO, nr, size) with dir 1 = write,
// 2 = read, as <asm-generic/ioctl.h> encodes them.
func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | api<<8 | nr }

const (
	iocRead  = 2
	iocWrite = 1
)

var (
	ioctlAPI          = ioc(iocRead|iocWrite, 0x3F, 24) // UFFDIO_API
	ioctlRegister     = ioc(iocRead|iocWrite, 0x00, 32) // UFFDIO_REGISTER
	ioctlUnregister   = ioc(iocRead, 0x01, 16)          // UFFDIO_UNREGISTER
	ioctlWake         = ioc(iocRead, 0x02, 16)          // UFFDIO_WAKE
	ioctlCopy         = ioc(iocRead|iocWrite, 0x03, 40) // UFFDIO_COPY
	ioctlZeropage     = ioc(iocRead|iocWrite, 0x04, 32) // UFFDIO_ZEROPAGE
	ioctlWriteprotect = ioc(iocRead|iocWrite, 0x06, 24) // UFFDIO_WRITEPROTECT
	ioctlContinue     = ioc(iocRead|iocWrite, 0x07, 32) // UFFDIO_CONTINUE
	ioctlPoison       = ioc(iocRead|iocWrite, 0x08, 32) // UFFDIO_POISON
	// USERFAULTFD_IOC_NEW is _IO(0xAA, 0x00), issued on /dev/userfaultfd.
	ioctlNew = uintptr(api << 8)
)

// The argument structures, field for field.
type uffdioAPI struct {
	API      uint64
	Features uint64
	Ioctls   uint64
}

type uffdioRange struct {
	Start uint64
	Len   uint64
}

type uffdioRegister struct {
	Range  uffdioRange
	Mode   uint64
	Ioctls uint64
}

type uffdioCopy struct {
	Dst  uint64
	Src  uint64
	Len  uint64
	Mode uint64
	Copy int64
}

type uffdioZeropage struct {
	Range    uffdioRange
	Mode     uint64
	Zeropage int64
}

type uffdioWriteprotect struct {
	Range uffdioRange
	Mode  uint64
}

// uffdioContinue is struct uffdio_continue; uffdioPoison struct
// uffdio_poison has the same layout (range, mode, updated).
type uffdioContinue struct {
	Range  uffdioRange
	Mode   uint64
	Mapped int64
}

// UFFDIO_ZEROPAGE_MODE_DONTWAKE and the UFFDIO_WRITEPROTECT modes.
const (
	zeropageDontWake = 1 << 0
	wpModeWP         = 1 << 0
	wpModeDontWake   = 1 << 1
	continueDontWake = 1 << 0 // UFFDIO_CONTINUE_MODE_DONTWAKE
	continueWP       = 1 << 1 // UFFDIO_CONTINUE_MODE_WP
)

// Ioctl bits of uffdio_register.ioctls: 1 << _UFFDIO_*.
const (
	IoctlWake         = 1 << 0x02
	IoctlCopy         = 1 << 0x03
	IoctlZeropage     = 1 << 0x04
	IoctlWriteprotect = 1 << 0x06
	IoctlContinue     = 1 << 0x07
	IoctlPoison       = 1 << 0x08
)

// UFFD_USER_MODE_ONLY: the userfaultfd(2) flag that limits the fd to
// faults taken in user mode (what an unprivileged caller may get when
// vm.unprivileged_userfaultfd is 0).
const userModeOnly = 1

// msgSize is sizeof(struct uffd_msg).
const msgSize = 32
