package memcg

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"uswap/ksync"
)

// TestConcurrentChargeUncharge charges and uncharges from many tasks at
// once on a 4-level tree with limits at every level. Every task counts
// the pages it holds (after a successful charge, before its uncharge) in
// a per-cgroup tally of its own: at every moment a tally is at most the
// cgroup's real charge, so a tally above a limit is a charge that got
// through a full counter. At the end every counter is zero and no
// watermark is above its limit.
func TestConcurrentChargeUncharge(t0 *testing.T) {
	for _, mode := range []Mode{V1, V2} {
		t0.Run(mode.String(), func(t0 *testing.T) {
			t := ksync.NewTask("setup", 0)
			root := NewRoot(mode)
			a := mustChild(t0, t, root, "a")
			must(t0, a.SetMemoryMax(t, 48*pg))
			var leaves []*MemCgroup
			all := []*MemCgroup{a}
			for i := range 2 {
				m := mustChild(t0, t, a, fmt.Sprint("m", i))
				must(t0, m.SetMemoryMax(t, 32*pg))
				all = append(all, m)
				for j := range 2 {
					l := mustChild(t0, t, m, fmt.Sprint("l", j))
					must(t0, l.SetMemoryMax(t, 20*pg))
					all = append(all, l)
					leaves = append(leaves, l)
				}
			}
			if mode == V1 {
				for _, m := range all {
					must(t0, m.SetMemswMax(t, (m.Memory().Max(t)+8)*pg))
				}
			} else {
				must(t0, a.SetSwapMax(t, 24*pg))
			}
			tally := map[*MemCgroup]*atomic.Int64{}
			for _, m := range all {
				tally[m] = new(atomic.Int64)
			}
			hold := func(m *MemCgroup, n int64) error {
				for c := m; !c.IsRoot(); c = c.parent {
					v := tally[c].Add(n)
					if lim := c.Memory().Max(t); v > lim {
						return fmt.Errorf("%s holds %d pages, limit %d", c.Path(), v, lim)
					}
				}
				return nil
			}
			const tasks, iters = 16, 3000
			var wg sync.WaitGroup
			var ok, failed atomic.Int64
			errs := make(chan error, tasks)
			for i := range tasks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t := ksync.NewTask(fmt.Sprint("charger", i), i)
					seed := uint32(i*7919 + 1)
					for k := range iters {
						seed = seed*1664525 + 1013904223
						leaf := leaves[int(seed>>8)%len(leaves)]
						n := int(seed>>16)%4 + 1
						if err := leaf.TryCharge(t, n); err != nil {
							var oom *OOMError
							if !errors.As(err, &oom) {
								errs <- err
								return
							}
							failed.Add(1)
							continue
						}
						ok.Add(1)
						if err := hold(leaf, int64(n)); err != nil {
							errs <- err
							return
						}
						if k%3 == 0 {
							// Swap one page out and back: a slot charge.
							if err := TryChargeSwap(t, leaf, 1); err == nil {
								leaf.Hierarchy().UnchargeSwap(t, leaf.ID(), 1)
							}
						}
						ksync.CondResched(t)
						hold(leaf, -int64(n))
						Uncharge(t, leaf, n)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t0.Fatal(err)
			}
			if ok.Load() == 0 || failed.Load() == 0 {
				t0.Fatalf("%d charges succeeded, %d failed: the limits were not exercised", ok.Load(), failed.Load())
			}
			for _, c := range append(all, root) {
				for _, pc := range []*PageCounter{c.Memory(), c.Swap(), c.Memsw()} {
					if u := pc.Read(t); u != 0 {
						t0.Errorf("%s %s usage %d at the end", c.Path(), pc.Name(), u)
					}
					// v1 charges swap slots to memsw whatever its limit
					// (swap-out is never refused), so only there may
					// memsw go above it.
					if !c.IsRoot() && pc != c.Memsw() && pc.Watermark(t) > pc.Max(t) {
						t0.Errorf("%s %s watermark %d above limit %d", c.Path(), pc.Name(), pc.Watermark(t), pc.Max(t))
					}
				}
			}
			t0.Logf("%d charges, %d failed; a: %d max events", ok.Load(), failed.Load(), a.Events(t, EventMax))
		})
	}
}

// TestRemoveRacesCharge removes a leaf while tasks charge it: either
// Remove sees a charge and refuses, or the chargers see the cgroup
// dying and back off; nothing is left charged either way.
func TestRemoveRacesCharge(t0 *testing.T) {
	totalRefused := 0
	defer func() { t0.Logf("Remove refused %d time(s) in all", totalRefused) }()
	for round := range 10 {
		t := ksync.NewTask("remover", 0)
		root := NewRoot(V2)
		a := mustChild(t0, t, root, "a")
		leaf := mustChild(t0, t, a, "leaf")
		var wg sync.WaitGroup
		var stop atomic.Bool
		var charges atomic.Int64
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := ksync.NewTask("charger", i+1)
				for !stop.Load() {
					err := leaf.TryCharge(t, 1)
					if err != nil {
						if !errors.Is(err, ErrRemoved) {
							t0.Error(err)
						}
						if leaf.Online(t) {
							t0.Error("ErrRemoved from an online cgroup")
						}
						return
					}
					Uncharge(t, leaf, 1)
					if charges.Add(1)%16 == 0 {
						ksync.CondResched(t)
					}
				}
			}()
		}
		for charges.Load() < 200 {
			ksync.CondResched(t)
		}
		refused := 0
		for k := 0; ; k++ {
			err := leaf.Remove(t)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) {
				t0.Fatal(err)
			}
			refused++
			if k > 1_000_000 {
				t0.Fatalf("round %d: Remove never succeeded", round)
			}
			ksync.CondResched(t)
		}
		stop.Store(true)
		wg.Wait()
		if u := usage(t, a); u != 0 {
			t0.Fatalf("round %d: a usage %d after Remove", round, u)
		}
		totalRefused += refused
	}
}

// BenchmarkTryChargeUncharge is one page charged and uncharged on the
// leaf of root → a → b → c, limits at every level.
func BenchmarkTryChargeUncharge(b *testing.B) {
	// leaf makes root → a → b → c with a 1 GiB limit at every level.
	leaf := func(b *testing.B, t *ksync.Task, mode Mode) *MemCgroup {
		m := NewRoot(mode)
		for _, name := range []string{"a", "b", "c"} {
			m = mustChild(b, t, m, name)
			must(b, m.SetMemoryMax(t, 1<<30))
		}
		return m
	}
	for _, mode := range []Mode{V2, V1} {
		b.Run(mode.String(), func(b *testing.B) {
			t := ksync.NewTask("bench", 0)
			m := leaf(b, t, mode)
			b.ResetTimer()
			for range b.N {
				if err := m.TryCharge(t, 1); err != nil {
					b.Fatal(err)
				}
				Uncharge(t, m, 1)
			}
		})
	}
	b.Run("v2-parallel", func(b *testing.B) {
		m := leaf(b, ksync.NewTask("bench", 0), V2)
		var cpu atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			t := ksync.NewTask("bench", int(cpu.Add(1)))
			for pb.Next() {
				if err := m.TryCharge(t, 1); err != nil {
					b.Fatal(err)
				}
				Uncharge(t, m, 1)
			}
		})
	})
}
