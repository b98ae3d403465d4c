package bench

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
)

// SwapoffOptions is seed 003's cost on the swapoff side: how long a
// swapoff takes while tasks keep faulting pages of the device in (each
// fault holds get_swap_device() as the variant of fixes.SwapDevice
// does), and how the faulting goes meanwhile.
type SwapoffOptions struct {
	SizeMiB  uint64
	Faulters int
	Comp     string
	Fixes    fixes.Set
	Design   design.Design
}

// SwapoffResult is one swapoff.
type SwapoffResult struct {
	Options SwapoffOptions `json:"options"`
	Pages   uint64         `json:"pages"`
	// Swapoff is the swapoff's wall time; Faults the faulters' loads
	// meanwhile, and FaultsPerS their rate.
	Swapoff    time.Duration `json:"swapoff_ns"`
	Faults     uint64        `json:"faults"`
	FaultsPerS float64       `json:"faults_per_s"`
	Corrupt    uint64        `json:"corrupt"`
	// Crashed is what a task panicked with, if the variant let the race
	// happen here (a broken variant can: the explorer says which).
	Crashed string `json:"crashed,omitempty"`
}

// swapoffTimeout bounds a swapoff whose faulter crashed holding a lock.
const swapoffTimeout = time.Minute

// Swapoff runs one swapoff benchmark: the working set is pushed out, the
// faulters start loading random pages of it, and once they run the
// device is swapped off.
func Swapoff(o SwapoffOptions) (*SwapoffResult, error) {
	if o.SizeMiB == 0 || o.Faulters < 0 || o.Faulters > 64 {
		return nil, fmt.Errorf("swapoff bench: size %d MiB, %d faulters: want a size and 0 to 64 faulters", o.SizeMiB, o.Faulters)
	}
	if err := checkDesign(o.Design, o.Fixes); err != nil {
		return nil, fmt.Errorf("swapoff bench: %w", err)
	}
	pages := o.SizeMiB << 20 / PageSize
	m, err := newSwapinMachine(pages, "mixed", o.Comp, false, -1, o.Fixes, o.Design)
	if err != nil {
		return nil, err
	}
	r := &SwapoffResult{Options: o, Pages: pages}
	var (
		stop, faults, corrupt atomic.Uint64
		crash                 atomic.Pointer[string]
		started, wg           sync.WaitGroup
	)
	recoverInto := func() {
		if v := recover(); v != nil {
			s := fmt.Sprint(v)
			crash.CompareAndSwap(nil, &s)
		}
	}
	for k := range o.Faulters {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			defer recoverInto()
			t := ksync.NewTask(fmt.Sprintf("faulter/%d", k), k+1)
			rng := rand.New(rand.NewPCG(uint64(k), 42))
			var w [8]byte
			for n := 0; stop.Load() == 0; n++ {
				if n == 100 {
					started.Done()
				}
				i := rng.Uint64N(pages)
				if err := m.mm.Load(t, m.base+i*PageSize, w[:]); err != nil {
					s := err.Error()
					crash.CompareAndSwap(nil, &s)
					break
				}
				if binary.LittleEndian.Uint64(w[:]) != i {
					corrupt.Add(1)
				}
				faults.Add(1)
			}
			if stop.Load() == 0 {
				started.Done()
			}
		}()
	}
	started.Wait()
	f0 := faults.Load()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		defer recoverInto()
		done <- m.sys.Swapoff(ksync.NewTask("swapoff", 0), 0)
	}()
	select {
	case err = <-done:
	case <-time.After(swapoffTimeout):
		err = fmt.Errorf("swapoff bench: swapoff did not end in %v", swapoffTimeout)
	}
	r.Swapoff = time.Since(start)
	r.Faults = faults.Load() - f0
	r.FaultsPerS = float64(r.Faults) / r.Swapoff.Seconds()
	stop.Store(1)
	if p := crash.Load(); p != nil {
		// A task died holding what it held: the machine is not to be
		// trusted or shut down; leave it.
		r.Crashed = *p
		return r, nil
	}
	wg.Wait()
	r.Corrupt = corrupt.Load()
	if err != nil {
		return r, err
	}
	return r, m.close()
}

// String is one line.
func (r *SwapoffResult) String() string {
	s := fmt.Sprintf("swapoff of %d MiB with %d faulters, fixes %s: %.1f ms, %.0f faults/s meanwhile, corrupt=%d",
		r.Options.SizeMiB, r.Options.Faulters, r.Options.Fixes, float64(r.Swapoff)/float64(time.Millisecond), r.FaultsPerS, r.Corrupt)
	if r.Crashed != "" {
		s += "; crashed: " + r.Crashed
	}
	return s
}
