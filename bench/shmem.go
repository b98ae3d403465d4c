package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

// ShmemOptions is seed 004's cost: what a shmem swap-in that fails (its
// charge, or against a hole punch) costs under each variant of
// fixes.ShmemSwapin, in device reads, in folios stranded in the swap
// cache, and in read throughput.
type ShmemOptions struct {
	// Pages is the size of the racing phase's file; the workload
	// cgroup's limit is half of it. ChargePages is the charge phase's
	// file (every failed charge runs memcg reclaim over the cgroup's
	// pages, so it stays small).
	Pages       int
	ChargePages int
	// Ops is the number of reads (and, in the racing phase, as many
	// hole punches and rewrites between them) per phase.
	Ops     int
	Readers int
	Fixes   fixes.Set
	Seed    uint64
	// Design is the swap core's design (docs/swap-table.md).
	Design design.Design
}

// DefaultShmemOptions are a few seconds' work.
func DefaultShmemOptions() ShmemOptions {
	return ShmemOptions{Pages: 2048, ChargePages: 256, Ops: 20000, Readers: 2}
}

// ShmemResult is one run of the two phases.
type ShmemResult struct {
	Options ShmemOptions `json:"options"`
	// The charge phase: the cgroup is full of anonymous memory that
	// cannot be swapped, and every page of a swapped-out file is read
	// twice: every swap-in's charge fails. Then the memory is freed and
	// every page read once more.
	FailedCharges uint64 `json:"failed_charges"`
	// ChargeReads are the device reads of the two failing reads of every
	// page; ReadsPerFailedCharge is their ratio to the failures.
	ChargeReads          uint64  `json:"charge_reads"`
	ReadsPerFailedCharge float64 `json:"reads_per_failed_charge"`
	// ReadBack are the device reads of the read after memory was freed:
	// 0 when the failed swap-ins kept their copies in the swap cache.
	ReadBack uint64 `json:"read_back_reads"`
	// The racing phase: readers read random pages of a file bigger than
	// the limit while a task punches holes in it and rewrites them, with
	// reclaim running. Strays are the swap cache folios left stranded,
	// StraysFreed those reclaim freed during the phase, with their mean
	// time in the cache; StraysLeft the rest, freed by the final drain.
	Strays        uint64        `json:"strays"`
	StraysFreed   uint64        `json:"strays_freed"`
	StrayLifetime time.Duration `json:"stray_mean_lifetime_ns"`
	StraysLeft    int           `json:"strays_left"`
	RaceReads     uint64        `json:"race_device_reads"`
	PagesPerS     float64       `json:"pages_per_s"`
	Corrupt       uint64        `json:"corrupt"`
}

// Shmem runs the two phases of the seed-004 benchmark.
func Shmem(o ShmemOptions) (*ShmemResult, error) {
	if o.Pages < 16 || o.ChargePages < 16 || o.Ops < 1 || o.Readers < 1 || o.Readers > 16 {
		return nil, fmt.Errorf("shmem bench: %d and %d pages, %d ops, %d readers: want at least 16 pages, 1 op, 1 to 16 readers", o.Pages, o.ChargePages, o.Ops, o.Readers)
	}
	if err := checkDesign(o.Design, o.Fixes); err != nil {
		return nil, fmt.Errorf("shmem bench: %w", err)
	}
	r := &ShmemResult{Options: o}
	if err := shmemChargePhase(o, r); err != nil {
		return r, err
	}
	return r, shmemRacePhase(o, r)
}

// shmemMachine is cfg with a RAM device twice o.Pages, o's fixes and
// design and no readahead, and a file of the workload cgroup with o.Pages pages of the
// mixed pattern, all pushed out to swap. The caller shuts it down.
func shmemMachine(t *ksync.Task, o ShmemOptions, cfg system.Config) (*system.System, *mm.ShmemFile, error) {
	cfg.Devices = []system.DeviceConfig{{Kind: "ram", Pages: uint64(2*o.Pages) + 1024, Priority: -1}}
	cfg.Fixes, cfg.PageCluster, cfg.Design = o.Fixes, 0, o.Design
	sys, err := system.New(t, cfg)
	if err != nil {
		return nil, nil, err
	}
	f, err := sys.ShmemCreate(t, 0)
	if err != nil {
		sys.Shutdown(t)
		return nil, nil, err
	}
	buf := make([]byte, PageSize)
	for i := range o.Pages {
		workload.FillPage(buf, uint64(i), workload.Mixed)
		if _, err := f.Write(t, int64(i)*PageSize, buf); err != nil {
			sys.Shutdown(t)
			return nil, nil, err
		}
	}
	sys.Node().Drain(t)
	return sys, f, nil
}

// shmemChargePhase measures the device reads of failed charges.
func shmemChargePhase(o ShmemOptions, r *ShmemResult) error {
	t := ksync.NewTask("bench", 0)
	o.Pages = o.ChargePages
	p := int64(o.Pages)
	sys, f, err := shmemMachine(t, o, system.Config{Frames: 3*o.Pages + 1024, MemcgLimit: p / 2, SwapLimit: p})
	if err != nil {
		return err
	}
	defer sys.Shutdown(t)
	buf := make([]byte, PageSize)
	// Anonymous memory up to the limit: swap.max is reached by the
	// file, so none of it can go.
	m := sys.NewMM(t)
	addr, err := m.Mmap(t, uint64(p/2)*PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		return err
	}
	for i := range uint64(p / 2) {
		if err := m.Store(t, addr+i*PageSize, buf[:8]); err != nil && !errors.Is(err, mm.ErrOOM) {
			return err
		}
	}
	st, cs := &sys.Node().Stat, &sys.Core().Stats
	fail0, in0 := st.ShmemChargeFail.Sum(), cs.PswpIn.Sum()
	for range 2 {
		for i := range o.Pages {
			if _, err := f.Read(t, int64(i)*PageSize, buf[:8]); err != nil && !errors.Is(err, mm.ErrOOM) {
				return err
			}
		}
	}
	r.FailedCharges, r.ChargeReads = st.ShmemChargeFail.Sum()-fail0, cs.PswpIn.Sum()-in0
	if r.FailedCharges > 0 {
		r.ReadsPerFailedCharge = float64(r.ChargeReads) / float64(r.FailedCharges)
	}
	m.Exit(t)
	in1 := cs.PswpIn.Sum()
	for i := range o.Pages {
		if _, err := f.Read(t, int64(i)*PageSize, buf); err != nil {
			return err
		}
		if err := system.CheckPage(buf, uint64(i), workload.Mixed); err != nil {
			r.Corrupt++
		}
	}
	r.ReadBack = cs.PswpIn.Sum() - in1
	return f.Delete(t)
}

// shmemRacePhase measures strays and throughput with hole punches racing
// the readers' swap-ins.
func shmemRacePhase(o ShmemOptions, r *ShmemResult) error {
	t := ksync.NewTask("bench", 0)
	p := int64(o.Pages)
	sys, f, err := shmemMachine(t, o, system.Config{Frames: o.Pages + 512, MemcgLimit: p / 2, Kswapd: true})
	if err != nil {
		return err
	}
	defer sys.Shutdown(t)
	cs := &sys.Core().Stats
	marked0, freed0, life0, in0 := cs.StrayMarked.Sum(), cs.StrayFreed.Sum(), cs.StrayLifetime.Sum(), cs.PswpIn.Sum()
	var wg sync.WaitGroup
	errs := make([]error, o.Readers+1)
	reads := o.Ops / o.Readers
	start := time.Now()
	for k := range o.Readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := ksync.NewTask(fmt.Sprintf("reader/%d", k), k+1)
			rng := rand.New(rand.NewPCG(o.Seed, uint64(k)))
			b := make([]byte, 64)
			for range reads {
				i := rng.Int64N(p)
				if _, err := f.Read(tk, i*PageSize, b); err != nil && !errors.Is(err, mm.ErrOOM) {
					errs[k] = err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := ksync.NewTask("puncher", 0)
		rng := rand.New(rand.NewPCG(o.Seed, 99))
		page := make([]byte, PageSize)
		for n := range o.Ops / 4 {
			i := rng.Int64N(p)
			if err := f.PunchHole(tk, i*PageSize, PageSize); err != nil {
				errs[o.Readers] = err
				return
			}
			workload.FillPage(page, uint64(i)+uint64(n), workload.Mixed)
			if _, err := f.Write(tk, i*PageSize, page); err != nil && !errors.Is(err, mm.ErrOOM) {
				errs[o.Readers] = err
				return
			}
		}
	}()
	wg.Wait()
	el := time.Since(start)
	r.PagesPerS = float64(reads*o.Readers) / el.Seconds()
	r.Strays, r.StraysFreed = cs.StrayMarked.Sum()-marked0, cs.StrayFreed.Sum()-freed0
	if r.StraysFreed > 0 {
		r.StrayLifetime = time.Duration((cs.StrayLifetime.Sum() - life0) / r.StraysFreed)
	}
	r.StraysLeft = sys.Core().StraysLeft(t)
	r.RaceReads = cs.PswpIn.Sum() - in0
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := f.Delete(t); err != nil {
		return err
	}
	sys.Node().Drain(t)
	if n := sys.Core().StraysLeft(t); n != 0 {
		return fmt.Errorf("shmem bench: %d stranded folios survived the drain", n)
	}
	return nil
}

// String is two lines, one per phase.
func (r *ShmemResult) String() string {
	return fmt.Sprintf("shmem swap-in, fixes %s:\n  failed charges %d, device reads %d (%.2f per failed charge), reads when read again %d, corrupt %d\n"+
		"  racing hole punches: %.0f pages/s, device reads %d, stranded %d (freed by reclaim %d after %.1f ms on average, %d left to the drain)",
		r.Options.Fixes, r.FailedCharges, r.ChargeReads, r.ReadsPerFailedCharge, r.ReadBack, r.Corrupt,
		r.PagesPerS, r.RaceReads, r.Strays, r.StraysFreed, float64(r.StrayLifetime)/float64(time.Millisecond), r.StraysLeft)
}
