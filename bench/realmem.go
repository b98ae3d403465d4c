package bench

import (
	"encoding/binary"
	"errors"
	"fmt"

	"uswap/realmem"
	"uswap/swap"
	"uswap/swapdev"
	"uswap/uffd"
	"uswap/workload"
)

// RealmemEngine runs the workload in real memory paged by uswap (package
// realmem): a region of Options.SizeMiB whose pages the CPU touches
// directly, taking real page faults, at most Options.LimitMiB resident,
// the rest swapped by uswap's pager through a userfaultfd to a
// compressed RAM device or a swap file. It needs userfaultfd (root, or
// access to /dev/userfaultfd), no cgroup and no kernel swap: the same
// faults as the kernel engine's, resolved by uswap instead of the
// kernel's swap.
type RealmemEngine struct {
	region *realmem.Region
	dev    swap.Device // the swap file's device, closed at Teardown
	ram    *swapdev.RAM
}

// Name is "realmem".
func (*RealmemEngine) Name() string { return "realmem" }

// RealmemAvailable reports why the realmem engine cannot run here, or nil.
func RealmemAvailable() error {
	if err := uffd.Available(realmem.Features); err != nil {
		return fmt.Errorf("the realmem engine needs userfaultfd with shmem and write-protect support: %w", err)
	}
	return nil
}

// Setup maps the region. The swap file of DeviceFile is made as
// prepareSwapFile says, and its removal recorded on opts.Undo.
func (e *RealmemEngine) Setup(opts Options) (Memory, error) {
	p, err := workload.ParsePattern(opts.Pattern)
	if err != nil {
		return nil, err
	}
	ro := realmem.Options{
		Budget: int64(opts.LimitMiB << 20),
		Comp:   opts.Comp,
		// vm.page-cluster's 2^N pages, as the kernel's readahead.
		Readahead: 1 << 3,
	}
	if opts.PageCluster >= 0 {
		ro.Readahead = 1<<opts.PageCluster - 1
		if ro.Readahead == 0 {
			ro.Readahead = -1
		}
	}
	devPages := opts.Pages() + 1024
	if opts.Device == DeviceFile {
		if opts.Undo == nil {
			opts.Undo = new(Undo)
		}
		sf, err := prepareSwapFile(opts, opts.Undo)
		if err != nil {
			return nil, err
		}
		err = sf.make(opts.Undo, func() error {
			if err := swapdev.Mkswap(sf.path, int64(devPages*PageSize), sf.mk); err != nil {
				return err
			}
			f, err := swapdev.OpenFile(sf.path)
			if err != nil {
				return err
			}
			e.dev = f
			return nil
		})
		if err != nil {
			return nil, err
		}
		ro.SwapDevice = e.dev
	}
	r, err := realmem.Map(int64(opts.Pages()*PageSize), ro)
	if err != nil {
		return nil, errors.Join(err, e.Teardown())
	}
	e.region = r
	return &realMemory{anonMemory: anonMemory{mem: r.Bytes(), pattern: p}, e: e, buf: make([]byte, PageSize)}, nil
}

// Teardown closes the region (and the swap file's device).
func (e *RealmemEngine) Teardown() error {
	var err error
	if e.region != nil {
		err = e.region.Close()
		e.region = nil
	}
	if f, ok := e.dev.(*swapdev.File); ok {
		err = errors.Join(err, f.Close())
		e.dev = nil
	}
	return err
}

// realMemory is the working set in the region: plain loads and stores,
// as in the kernel engine's anonymous memory, but for Fill.
type realMemory struct {
	anonMemory
	e   *RealmemEngine
	buf []byte // Fill's page, built before it is stored into the region
}

// Fill builds page i's content and stores it into the region word by
// word, in Go code. A fault inside copy() would be inside the runtime's
// memmove, which the runtime cannot preempt: a garbage collection's
// stop-the-world would then wait for this goroutine, which waits for the
// pager's workers, which the stop-the-world has stopped.
func (m *realMemory) Fill(i uint64) error {
	workload.FillPage(m.buf, i, m.pattern)
	dst := m.page(i)
	for off := 0; off < len(dst); off += 8 {
		binary.LittleEndian.PutUint64(dst[off:], binary.LittleEndian.Uint64(m.buf[off:]))
	}
	return nil
}

// Counters are the pager's: pgfault counts the fault messages it
// handled (every fault the kernel passed to it), pgmajfault those that
// read the device, swap_ra the readahead copies.
func (m *realMemory) Counters() Counters {
	s := m.e.region.Stats()
	return Counters{
		Pswpin: s.PswpIn, Pswpout: s.PswpOut, SwapRa: s.Readahead,
		Pgfault: s.MissingFaults + s.WPFaults + s.MinorFaults, Pgmajfault: s.SwapIns,
	}
}

// Device is the swap device's statistics: mm_stat for the RAM device.
func (m *realMemory) Device() DeviceStats { return deviceStats(m.e.region.Device()) }
