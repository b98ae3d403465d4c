package mm_test

import (
	"testing"
	"uswap/design"

	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
)

// Swapoff while pages are swapped out brings them all back; then swapon
// again and keep going.
func TestSwapoffBringsPagesBack(t *testing.T) { forDesigns(t, testSwapoffBringsPagesBack) }

func testSwapoffBringsPagesBack(t *testing.T, d design.Design) {
	for _, kind := range []string{"ram", "file"} {
		t.Run(kind, func(t *testing.T) {
			cfg := kindConfig(t, kind, 512, 0, 1024)
			cfg.MemcgLimit = 64
			s, tk := newSystemD(t, d, cfg)
			const pages = 200
			m, addr := mapFilled(t, tk, s, pages, 9)
			// Swapoff needs room for the pages: raise the limit.
			if err := s.Workload().SetMemoryMax(tk, 400*mem.PageSize); err != nil {
				t.Fatal(err)
			}
			child, err := m.Fork(tk)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Swapoff(tk, 0); err != nil {
				t.Fatal(err)
			}
			audit(t, tk, s)
			verify(t, tk, m, addr, pages, 9, nil)
			verify(t, tk, child, addr, pages, 9, nil)
			if err := s.Swapon(tk, 0); err != nil {
				t.Fatal(err)
			}
			child.Exit(tk)
			m.Exit(tk)
			auditEmpty(t, tk, s)
		})
	}
}

// Swapoff that cannot bring everything in (the cgroup limit) fails, and
// the device stays usable.
func TestSwapoffFailsCleanly(t *testing.T) { forDesigns(t, testSwapoffFailsCleanly) }

func testSwapoffFailsCleanly(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(512, 32, 1024))
	const pages = 128
	m, addr := mapFilled(t, tk, s, pages, 4)
	if err := s.Swapoff(tk, 0); err == nil {
		t.Fatal("swapoff of 128 pages into a 32-page cgroup succeeded")
	} else {
		t.Logf("swapoff: %v", err)
	}
	if s.SwapInfo(tk, 0) == nil || !s.SwapInfo(tk, 0).Writable(tk) {
		t.Fatal("device not usable after a failed swapoff")
	}
	audit(t, tk, s)
	// Still swapping: write more, read everything.
	fill(t, tk, m, addr, pages, 40)
	verify(t, tk, m, addr, pages, 40, nil)
	auditExit(t, tk, s, m)
}

// Swapoff and swapon cycles while tasks keep touching their pages.
func TestSwapoffWhileRunning(t *testing.T) { forDesigns(t, testSwapoffWhileRunning) }

func testSwapoffWhileRunning(t *testing.T, d design.Design) {
	cfg := ramConfig(1024, 96, 2048)
	cfg.Devices = append(cfg.Devices, system.DeviceConfig{Kind: "file", Pages: 2048, Path: t.TempDir() + "/swap", Priority: -1})
	s, tk := newSystemD(t, d, cfg)
	const workers, pages = 3, 64
	rounds := 6
	if testing.Short() {
		rounds = 3
	}
	done := newTaskGroup(workers)
	errs := make([]error, workers)
	for w := range workers {
		ksync.Spawn(tk, "worker", w, func(t2 *ksync.Task) {
			defer done.Done(t2)
			m := s.NewMM(t2)
			defer m.Exit(t2)
			addr, _ := m.Mmap(t2, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite)
			errs[w] = usemem(t2, m, addr, pages, uint64(w)<<20, rounds)
		})
	}
	for i := 0; i < 2*rounds; i++ {
		dev := i % 2
		if err := s.Swapoff(tk, dev); err != nil {
			t.Logf("swapoff %d: %v", dev, err)
			continue
		}
		if err := s.Swapon(tk, dev); err != nil {
			t.Fatal(err)
		}
	}
	done.Wait(tk)
	for w, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
		}
	}
	auditEmpty(t, tk, s)
}
