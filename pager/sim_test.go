package pager_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/pager"
	"uswap/swapdev"
	"uswap/uffdsim"
)

var _ pager.Ops = (*uffdsim.Region)(nil)

const simBase = 0x7f0000000000

// newSimPager makes a pager over a simulated region with a RAM device.
func newSimPager(t *testing.T, task *ksync.Task, pages uint64, cfg pager.Config) (*pager.Pager, *uffdsim.Region) {
	t.Helper()
	dev, err := swapdev.NewRAM("zram-sim", pages+16, "lz4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := swapdev.MkswapDevice(task, dev, swapdev.MkswapOptions{}); err != nil {
		t.Fatal(err)
	}
	r := uffdsim.New(simBase, int(pages))
	cfg.Pages = pages
	cfg.Device = dev
	p, err := pager.New(task, r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// TestSimThreads runs threads that load, store, discard and unmap pages
// of a region four times its budget, against the simulated userfaultfd,
// with two workers and kswapd, and checks every load against a model.
func TestSimThreads(t *testing.T) {
	for _, policy := range []pager.Policy{pager.PolicyWorkingset, pager.PolicyFIFO} {
		t.Run(policy.String(), func(t *testing.T) {
			task := ksync.NewTask("test", 0)
			const pages, threads = 64, 4
			p, r := newSimPager(t, task, pages, pager.Config{
				Budget: pages / 4, Policy: policy, Readahead: 4, Kswapd: true, Fixes: fixes.Default(),
			})
			p.Start(task)
			// Thread k owns pages k, k+threads, ...: the model is
			// per thread, no locking needed for it.
			var wg sync.WaitGroup
			errs := make(chan error, threads)
			for k := range threads {
				wg.Add(1)
				ksync.Spawn(task, fmt.Sprintf("T%d", k), k, func(tt *ksync.Task) {
					defer wg.Done()
					errs <- runThread(tt, r, k, threads, pages)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			p.Stop(task)
			if err := p.Err(task); err != nil {
				t.Fatal(err)
			}
			if vs := p.Audit(task); len(vs) > 0 {
				t.Fatalf("audit: %v", vs)
			}
			s := p.Snapshot()
			t.Logf("%+v", s)
			if s.SwapIns == 0 || s.Written == 0 || s.Evicted == 0 || s.WPFaults == 0 {
				t.Fatalf("the run did not page: %+v", s)
			}
			if err := p.Teardown(task); err != nil {
				t.Fatal(err)
			}
			if free := p.Pool().NrFree(task); free != int64(p.Pool().Frames()) {
				t.Fatalf("%d frames free after teardown, of %d", free, p.Pool().Frames())
			}
		})
	}
}

func runThread(t *ksync.Task, r *uffdsim.Region, k, threads int, pages uint64) error {
	rng := rand.New(rand.NewPCG(uint64(k), 42))
	model := map[uint64]uint64{} // page -> last value stored; absent: zero
	gone := map[uint64]bool{}
	mine := func() uint64 { return uint64(k) + uint64(threads)*rng.Uint64N(pages/uint64(threads)) }
	for i := range 1000 {
		page := mine()
		if gone[page] {
			if _, err := r.Load(t, page); err != uffdsim.ErrSegv {
				return fmt.Errorf("T%d: load of unmapped page %d: %v", k, page, err)
			}
			continue
		}
		switch op := rng.IntN(100); {
		case op < 45:
			v := uint64(k)<<56 | uint64(i)<<16 | page
			if err := r.Store(t, page, v); err != nil {
				return err
			}
			model[page] = v
		case op < 97:
			v, err := r.Load(t, page)
			if err != nil {
				return err
			}
			if v != model[page] {
				return fmt.Errorf("T%d op %d: page %d holds %#x, want %#x", k, i, page, v, model[page])
			}
		case op < 99:
			r.Dontneed(t, page, 1)
			delete(model, page)
		default:
			if i > 700 {
				r.Munmap(t, page, 1)
				gone[page] = true
			}
		}
	}
	return nil
}
