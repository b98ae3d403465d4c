package mm_test

import (
	"fmt"
	"testing"

	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/sched"
	"uswap/system"
	"uswap/workload"
)

// mixScenario runs, on three swapped-out pages, a writer, a reader that
// forks a child which writes its own copy, reclaim, and a swapoff/swapon
// cycle, all at once; then checks every page's last value and the audit,
// exits and checks that everything is free.
//
// kind is "ram" (one RAM device), "two" (two RAM devices) or "file" (a
// swap file in dir); limit, if positive, is the cgroup limit in pages,
// so that faults reclaim through memcg.
func mixScenario(kind, readahead, dir string, limit int64) (func(*ksync.Task), func() error) {
	var failure error
	fail := func(err error) {
		if err != nil && failure == nil {
			failure = err
		}
	}
	main := func(t *ksync.Task) {
		cfg := ramConfig(64, limit, 64)
		switch kind {
		case "two":
			cfg.Devices = append(cfg.Devices, system.DeviceConfig{Kind: "ram", Pages: 64, Priority: -1})
		case "file":
			cfg.Devices[0] = system.DeviceConfig{Kind: "file", Pages: 64, Path: dir + "/swap", Priority: -1}
		}
		cfg.Readahead = readahead
		s, err := system.New(t, cfg)
		if err != nil {
			fail(err)
			return
		}
		m := s.NewMM(t)
		const pages = 3
		addr, _ := m.Mmap(t, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite)
		page := func(i int) uint64 { return addr + uint64(i)*mem.PageSize }
		store := func(t *ksync.Task, m *mm.MM, i int, g uint64) error {
			b := make([]byte, mem.PageSize)
			workload.FillPage(b, g, workload.Mixed)
			return m.Store(t, page(i), b)
		}
		check := func(t *ksync.Task, m *mm.MM, i int, gens ...uint64) error {
			b := make([]byte, mem.PageSize)
			if err := m.Load(t, page(i), b); err != nil {
				return err
			}
			var err error
			for _, g := range gens {
				if err = system.CheckPage(b, g, workload.Mixed); err == nil {
					return nil
				}
			}
			return fmt.Errorf("%v: page %d", err, i)
		}
		for i := range pages {
			fail(store(t, m, i, 10+uint64(i)))
		}
		s.Node().Drain(t)
		const workers = 4
		done := newTaskGroup(workers)
		errs := make([]error, workers)
		spawn := func(k int, name string, fn func(t2 *ksync.Task) error) {
			ksync.Spawn(t, name, k, func(t2 *ksync.Task) {
				defer done.Done(t2)
				errs[k] = fn(t2)
			})
		}
		spawn(0, "writer", func(t2 *ksync.Task) error {
			if err := store(t2, m, 0, 20); err != nil {
				return err
			}
			return check(t2, m, 1, 11)
		})
		spawn(1, "forker", func(t2 *ksync.Task) error {
			if err := check(t2, m, 0, 10, 20); err != nil {
				return err
			}
			c, err := m.Fork(t2)
			if err != nil {
				return err
			}
			defer c.Exit(t2)
			if err := store(t2, c, 2, 30); err != nil {
				return err
			}
			if err := check(t2, c, 1, 11); err != nil {
				return err
			}
			return check(t2, c, 2, 30)
		})
		spawn(2, "reclaim", func(t2 *ksync.Task) error {
			s.Node().Drain(t2)
			return nil
		})
		spawn(3, "swapoff", func(t2 *ksync.Task) error {
			if err := s.Swapoff(t2, 0); err != nil {
				return err
			}
			return s.Swapon(t2, 0)
		})
		done.Wait(t)
		for _, err := range errs {
			fail(err)
		}
		fail(check(t, m, 0, 20))
		fail(check(t, m, 1, 11))
		fail(check(t, m, 2, 12))
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

func TestExploreMix(t *testing.T) {
	seeds := int64(40)
	if testing.Short() {
		seeds = 10
	}
	for _, c := range []struct {
		kind, ra string
		limit    int64
	}{{"ram", "vma", 0}, {"two", "cluster", 0}, {"file", "cluster", 0}, {"two", "vma", 4}} {
		t.Run(fmt.Sprintf("%s-%s-limit%d", c.kind, c.ra, c.limit), func(t *testing.T) {
			dir := t.TempDir()
			for seed := int64(1); seed <= seeds; seed++ {
				for _, st := range []sched.Strategy{sched.Random(seed), sched.PCT(seed, 3, 5000)} {
					main, check := mixScenario(c.kind, c.ra, dir, c.limit)
					if r := sched.Run(st, sched.Options{Check: check}, main); r.Failure != nil {
						t.Fatalf("seed %d: %v\n%s", seed, r.Failure, r.Failure.Stack)
					}
				}
			}
		})
	}
}
