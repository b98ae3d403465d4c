package mm_test

import (
	"errors"
	"fmt"
	"testing"

	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/sched"
	"uswap/system"
	"uswap/workload"
)

// zapVsSwapin is the anonymous half of seed 004: swap-ins (with
// readahead, through the swap cache) race munmap of the same pages,
// whose free_swap_and_cache only trylocks the swap cache folios, and
// reclaim. Folios stranded in the swap cache must be picked up by
// reclaim: after exit everything is free.
func zapVsSwapin(kind, ra, dir string) (func(*ksync.Task), func() error) {
	var failure error
	fail := func(err error) {
		if err != nil && failure == nil {
			failure = err
		}
	}
	main := func(t *ksync.Task) {
		cfg := ramConfig(64, 0, 64)
		cfg.Readahead = ra
		if kind == "file" {
			cfg.Devices[0] = system.DeviceConfig{Kind: "file", Pages: 64, Path: dir + "/swap", Priority: -1}
		}
		s, err := system.New(t, cfg)
		if err != nil {
			fail(err)
			return
		}
		m := s.NewMM(t)
		const pages = 6
		addr, _ := m.Mmap(t, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite)
		b := make([]byte, mem.PageSize)
		for i := range pages {
			workload.FillPage(b, uint64(i), workload.Mixed)
			fail(m.Store(t, addr+uint64(i)*mem.PageSize, b))
		}
		s.Node().Drain(t)
		done := newTaskGroup(3)
		errs := make([]error, 3)
		spawn := func(k int, name string, fn func(t2 *ksync.Task) error) {
			ksync.Spawn(t, name, k, func(t2 *ksync.Task) {
				defer done.Done(t2)
				errs[k] = fn(t2)
			})
		}
		spawn(0, "reader", func(t2 *ksync.Task) error {
			b := make([]byte, mem.PageSize)
			for i := range pages {
				err := m.Load(t2, addr+uint64(i)*mem.PageSize, b)
				if errors.Is(err, mm.ErrSegv) && i >= 2 {
					continue // unmapped under us
				}
				if err != nil {
					return err
				}
				if err := system.CheckPage(b, uint64(i), workload.Mixed); err != nil {
					return err
				}
			}
			return nil
		})
		spawn(1, "munmap", func(t2 *ksync.Task) error {
			return m.Munmap(t2, addr+2*mem.PageSize, (pages-2)*mem.PageSize)
		})
		spawn(2, "reclaim", func(t2 *ksync.Task) error {
			s.Node().Drain(t2)
			return nil
		})
		done.Wait(t)
		for _, err := range errs {
			fail(err)
		}
		for _, v := range s.Audit(t) {
			fail(fmt.Errorf("audit: %v", v))
		}
		m.Exit(t)
		for _, v := range s.AuditEmpty(t) {
			fail(fmt.Errorf("audit after exit: %v", v))
		}
		fail(s.Shutdown(t))
	}
	return main, func() error { return failure }
}

func TestExploreZapVsSwapin(t *testing.T) {
	seeds := int64(60)
	if testing.Short() {
		seeds = 15
	}
	for _, c := range []struct{ kind, ra string }{{"file", "cluster"}, {"file", "vma"}, {"ram", "cluster"}} {
		t.Run(c.kind+"-"+c.ra, func(t *testing.T) {
			dir := t.TempDir()
			for seed := int64(1); seed <= seeds; seed++ {
				for _, st := range []sched.Strategy{sched.Random(seed), sched.PCT(seed, 3, 3000)} {
					main, check := zapVsSwapin(c.kind, c.ra, dir)
					if r := sched.Run(st, sched.Options{Check: check}, main); r.Failure != nil {
						t.Fatalf("seed %d: %v\n%s", seed, r.Failure, r.Failure.Stack)
					}
				}
			}
		})
	}
}
