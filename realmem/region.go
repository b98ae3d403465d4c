package realmem

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/pager"
	"uswap/swap"
	"uswap/swapdev"
	"uswap/uffd"
)

// Features are the userfaultfd features a region needs.
const Features = uffd.FeaturePagefaultFlagWP | uffd.FeatureEventRemove | uffd.FeatureEventUnmap |
	uffd.FeatureMissingShmem | uffd.FeatureWPHugetlbfsShmem | uffd.FeatureMinorShmem | uffd.FeatureThreadID

// Mode is how a region is registered.
const Mode = uffd.ModeMissing | uffd.ModeWP | uffd.ModeMinor

// Options configure a region. The zero value is a usable default.
type Options struct {
	// Budget is how many bytes of the region may be resident at once
	// (rounded down to pages, at least 64 KiB); 0 means a quarter of
	// the region.
	Budget int64
	// Device is "ram" (compressed RAM, the default) or "file" (a swap
	// file at SwapFile, made with mkswap and removed at Close).
	Device   string
	Comp     string // the RAM device's compressor: lz4 (default) or zstd
	SwapFile string
	// SwapDevice, when set, is the device to use instead: formatted with
	// a swap header, the caller's to close after Close (Device, Comp
	// and SwapFile are then ignored).
	SwapDevice swap.Device
	// Policy is the eviction policy: "workingset" (default) or "fifo".
	Policy string
	// Readahead is how many pages a sequential fault brings in after
	// its own; 0 means 8, and a negative value turns readahead off.
	Readahead int
	// Workers is the number of fault-handling goroutines (default 2).
	Workers int
	// Fixes chooses variants of the pager's fixes; the zero value is the
	// fixed pager.
	Fixes fixes.Set
}

// Region is memory paged by uswap.
type Region struct {
	mem    []byte // the process's mapping (nil for an attached region)
	ops    *kernelOps
	pager  *pager.Pager
	dev    swap.Device
	closer func() error // closes the device (and removes a swap file)
	task   *ksync.Task
	closed bool
}

// Map maps size bytes (rounded up to pages) of memory paged by uswap and
// returns the region; Bytes is the memory. It fails, saying why, where
// userfaultfd is not available.
func Map(size int64, opts Options) (*Region, error) {
	if size <= 0 {
		return nil, fmt.Errorf("realmem: a region of %d bytes", size)
	}
	size = (size + pageSize - 1) &^ (pageSize - 1)
	u, err := uffd.New(Features)
	if err != nil {
		return nil, fmt.Errorf("realmem: %w", err)
	}
	memfd, err := unix.MemfdCreate("uswap-region", unix.MFD_CLOEXEC)
	if err != nil {
		u.Close()
		return nil, fmt.Errorf("realmem: memfd_create: %w", err)
	}
	fail := func(err error) (*Region, error) {
		u.Close()
		unix.Close(memfd)
		return nil, fmt.Errorf("realmem: %w", err)
	}
	if err := unix.Ftruncate(memfd, size); err != nil {
		return fail(fmt.Errorf("sizing the memfd to %d bytes: %w", size, err))
	}
	mem, err := unix.Mmap(memfd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("mmap of %d bytes: %w", size, err))
	}
	if err := unix.Madvise(mem, unix.MADV_DONTFORK); err != nil {
		unix.Munmap(mem)
		return fail(fmt.Errorf("MADV_DONTFORK: %w", err))
	}
	base := uint64(uintptr(unsafe.Pointer(&mem[0])))
	r, err := attach(u, memfd, base, uint64(size), opts)
	if err != nil {
		unix.Munmap(mem)
		return fail(err)
	}
	r.mem = mem
	return r, nil
}

// Attach pages a region of another process: u is its userfaultfd (on
// which nobody agreed the API yet: Attach does the handshake), memfd the
// memfd its region [base, base+size) maps shared. The Region owns both
// descriptors from then on, and closes them at Close; the memory is the
// other process's.
func Attach(ufd, memfd int, base, size uint64, opts Options) (*Region, error) {
	if base%pageSize != 0 || size == 0 || size%pageSize != 0 {
		return nil, fmt.Errorf("realmem: region %#x+%#x is not whole pages", base, size)
	}
	var st unix.Stat_t
	if err := unix.Fstat(memfd, &st); err != nil {
		return nil, fmt.Errorf("realmem: the memfd: %w", err)
	}
	if uint64(st.Size) < size {
		return nil, fmt.Errorf("realmem: the memfd holds %d bytes, the region %d", st.Size, size)
	}
	u, err := uffd.Init(ufd, Features)
	if err != nil {
		return nil, fmt.Errorf("realmem: %w", err)
	}
	r, err := attach(u, memfd, base, size, opts)
	if err != nil {
		u.Close()
		return nil, fmt.Errorf("realmem: %w", err)
	}
	return r, nil
}

// attach registers the range and starts the pager. On error the caller
// keeps u and memfd.
func attach(u *uffd.FD, memfd int, base, size uint64, opts Options) (*Region, error) {
	pages := size / pageSize
	cfg, dev, closeDev, err := pagerConfig(pages, opts)
	if err != nil {
		return nil, err
	}
	ops := &kernelOps{u: u, memfd: memfd, base: base, pages: pages}
	task := ksync.NewTask("realmem", 0)
	p, err := pager.New(task, ops, cfg)
	if err != nil {
		return nil, errors.Join(err, closeDev())
	}
	ioctls, err := u.Register(base, size, Mode)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("registering %#x+%#x: %w", base, size, err), teardown(task, p), closeDev())
	}
	if ioctls&(uffd.IoctlCopy|uffd.IoctlWriteprotect|uffd.IoctlContinue) != uffd.IoctlCopy|uffd.IoctlWriteprotect|uffd.IoctlContinue {
		u.Unregister(base, size)
		return nil, errors.Join(fmt.Errorf("the range's ioctls %#x lack copy, write-protect or continue", ioctls), teardown(task, p), closeDev())
	}
	// Leave Ps for the workers beside the goroutines that fault.
	if want := runtime.NumCPU() + p.Config().Workers + 1; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
	p.Start(task)
	return &Region{ops: ops, pager: p, dev: dev, closer: closeDev, task: task}, nil
}

func pagerConfig(pages uint64, opts Options) (pager.Config, swap.Device, func() error, error) {
	budget := opts.Budget / pageSize
	if opts.Budget == 0 {
		budget = int64(pages / 4)
	}
	budget = max(budget, 16)
	policy, err := pager.ParsePolicy(opts.Policy)
	if err != nil {
		return pager.Config{}, nil, nil, err
	}
	ra := opts.Readahead
	switch {
	case ra == 0:
		ra = 8
	case ra < 0:
		ra = 0
	}
	// The device holds every page the budget does not, and the header.
	devPages := pages + 1 + 64
	var dev swap.Device
	closeDev := func() error { return nil }
	switch {
	case opts.SwapDevice != nil:
		if opts.SwapDevice.Pages() < pages+1 {
			return pager.Config{}, nil, nil, fmt.Errorf("the swap device %s has %d pages, the region needs %d", opts.SwapDevice.Name(), opts.SwapDevice.Pages(), pages+1)
		}
		dev = opts.SwapDevice
	case opts.Device == "" || opts.Device == "ram":
		ram, err := swapdev.NewRAM("uswap-zram", devPages, opts.Comp)
		if err != nil {
			return pager.Config{}, nil, nil, err
		}
		if _, err := swapdev.MkswapDevice(ksync.NewTask("mkswap", 0), ram, swapdev.MkswapOptions{}); err != nil {
			return pager.Config{}, nil, nil, err
		}
		dev, closeDev = ram, ram.Close
	case opts.Device == "file":
		if opts.SwapFile == "" {
			return pager.Config{}, nil, nil, errors.New("device file needs Options.SwapFile")
		}
		if err := swapdev.Mkswap(opts.SwapFile, int64(devPages*pageSize), swapdev.MkswapOptions{}); err != nil {
			return pager.Config{}, nil, nil, err
		}
		f, err := swapdev.OpenFile(opts.SwapFile)
		if err != nil {
			os.Remove(opts.SwapFile)
			return pager.Config{}, nil, nil, err
		}
		dev = f
		closeDev = func() error { return errors.Join(f.Close(), os.Remove(opts.SwapFile)) }
	default:
		return pager.Config{}, nil, nil, fmt.Errorf("device %q: want ram or file", opts.Device)
	}
	return pager.Config{
		Pages: pages, Budget: int(budget), Device: dev, Policy: policy, Readahead: ra,
		Workers: opts.Workers, Kswapd: true, Fixes: opts.Fixes,
	}, dev, closeDev, nil
}

func teardown(t *ksync.Task, p *pager.Pager) error {
	p.Stop(t)
	return p.Teardown(t)
}

// Bytes is the region's memory (nil for an attached region).
func (r *Region) Bytes() []byte { return r.mem }

// Budget is the region's budget in pages.
func (r *Region) Budget() int { return r.pager.Config().Budget }

// Pages is the region's size in pages.
func (r *Region) Pages() uint64 { return r.ops.pages }

// Device is the region's swap device.
func (r *Region) Device() swap.Device { return r.dev }

// Stats are the pager's counters so far.
func (r *Region) Stats() pager.Snapshot { return r.pager.Snapshot() }

// Resident is the number of pages resident now.
func (r *Region) Resident() int64 { return r.pager.Resident(r.task) }

// Err is the first error the pager could not handle, or nil.
func (r *Region) Err() error { return r.pager.Err(r.task) }

// StopAndAudit stops the pager (its workers and reclaimer) and checks
// its books: for tests, once nothing touches the region. After it the
// region can only be closed.
func (r *Region) StopAndAudit() error {
	r.pager.Stop(r.task)
	if vs := r.pager.Audit(r.task); len(vs) > 0 {
		return vs
	}
	return nil
}

// Close stops the pager, unregisters the region, frees its slots and
// unmaps it (a region from Map), and closes the userfaultfd, the memfd
// and the device. Nothing may touch the region during or after Close.
func (r *Region) Close() error {
	if r.closed {
		return errors.New("realmem: region closed twice")
	}
	r.closed = true
	r.pager.Stop(r.task)
	err := r.pager.Err(r.task)
	// Unregistered, the range sends no UNMAP event that munmap would
	// wait for.
	if uerr := r.ops.u.Unregister(r.ops.base, r.ops.pages*pageSize); uerr != nil && !errors.Is(uerr, uffd.ErrGone) {
		err = errors.Join(err, uerr)
	}
	err = errors.Join(err, r.pager.Teardown(r.task))
	if r.mem != nil {
		err = errors.Join(err, unix.Munmap(r.mem))
		r.mem = nil
	}
	err = errors.Join(err, r.ops.u.Close(), unix.Close(r.ops.memfd), r.closer())
	return err
}
