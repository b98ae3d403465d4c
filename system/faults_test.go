package system_test

import (
	"errors"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swapdev"
	"uswap/system"
	"uswap/workload"
)

// Tests of the error paths: device faults (swapdev.Faulty through
// DeviceConfig.Faults), full devices and full cgroups, bad configurations.

// forDesigns runs fn as a subtest in each design of the swap core.
func forDesigns(t *testing.T, fn func(t *testing.T, d design.Design)) {
	for _, d := range design.All() {
		t.Run(d.String(), func(t *testing.T) { fn(t, d) })
	}
}

func faultRules(t *testing.T, specs ...string) []swapdev.FaultRule {
	t.Helper()
	rs, err := swapdev.ParseFaultRules(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func faultySystem(t *testing.T, d design.Design, kind string, limit int64, swapPages uint64, specs ...string) (*system.System, *ksync.Task) {
	t.Helper()
	dev := system.DeviceConfig{Kind: kind, Pages: swapPages, Priority: -1, Faults: faultRules(t, specs...), FaultSeed: 7}
	if kind == "file" {
		dev.Path = t.TempDir() + "/swapfile"
	}
	tk := ksync.NewTask("test", 0)
	s, err := system.New(tk, system.Config{Frames: 512, MemcgLimit: limit, Fixes: fixes.Default(), PageCluster: 3, Design: d, Devices: []system.DeviceConfig{dev}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(ksync.NewTask("cleanup", 0)) })
	return s, tk
}

// A failed swap-out keeps the page resident, dirty and readable; a slot
// that always fails its writes never loses a page.
func TestSwapoutWriteError(t *testing.T) { forDesigns(t, testSwapoutWriteError) }

func testSwapoutWriteError(t *testing.T, d design.Design) {
	for _, kind := range []string{"ram", "file"} {
		t.Run(kind, func(t *testing.T) {
			// Slots 1-3 fail every write; the first 20 other writes fail
			// once each.
			s, tk := faultySystem(t, d, kind, 32, 1024, "write:offset=1,2,3", "write:times=20")
			m := s.NewMM(tk)
			const pages = 128
			addr, _ := m.Mmap(tk, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite)
			for round := range 3 {
				g := gens(pages, uint64(round)*1000+1)
				storeGens(t, tk, m, addr, g)
				if failed := loadPages(t, tk, m, addr, g); len(failed) != 0 {
					t.Fatalf("round %d: loads failed: %v", round, failed)
				}
				auditClean(t, tk, s, false)
			}
			st := s.FaultStats()
			if st.WriteErrors < 20 {
				t.Errorf("write errors injected: %d, want at least 20", st.WriteErrors)
			}
			if s.Core().Stats.PswpOut.Sum() == 0 || s.Core().Stats.PswpIn.Sum() == 0 {
				t.Errorf("no paging")
			}
			m.Exit(tk)
			auditClean(t, tk, s, true)
		})
	}
}

// A failed swap-in gives SIGBUS for that address only; on the RAM
// device (the synchronous bypass, no swap cache) the failed folio is
// dropped, so once the transient error is gone the page reads back whole.
func TestSwapinReadErrorTransient(t *testing.T) { forDesigns(t, testSwapinReadErrorTransient) }

func testSwapinReadErrorTransient(t *testing.T, d design.Design) {
	s, tk := faultySystem(t, d, "ram", 32, 1024, "read:times=1")
	const pages = 96
	g := gens(pages, 1)
	m, addr := mustMapGens(t, tk, s, g)
	failed := loadPages(t, tk, m, addr, g)
	if len(failed) != 1 {
		t.Fatalf("failed loads %v, want exactly one", failed)
	}
	for i, err := range failed {
		if !errors.Is(err, mm.ErrBus) {
			t.Fatalf("page %d: %v, want SIGBUS", i, err)
		}
	}
	auditClean(t, tk, s, false)
	// The error was transient: every page, the failed one included,
	// reads back right.
	if failed := loadPages(t, tk, m, addr, g); len(failed) != 0 {
		t.Fatalf("second pass: %v", failed)
	}
	m.Exit(tk)
	auditClean(t, tk, s, true)
}

// A permanent read error on the file device (swap cache, readahead): the
// pages whose reads fail get SIGBUS, again on every later access while
// the folio stays in the swap cache not uptodate; the others are fine;
// swapoff completes, installing the swapin-error marker (SIGBUS for
// good), and every readable page survives.
func TestSwapinReadErrorSwapoffMarker(t *testing.T) { forDesigns(t, testSwapinReadErrorSwapoffMarker) }

func testSwapinReadErrorSwapoffMarker(t *testing.T, d design.Design) {
	for _, kind := range []string{"ram", "file"} {
		t.Run(kind, func(t *testing.T) {
			s, tk := faultySystem(t, d, kind, 32, 1024, "read:rate=0.25")
			const pages = 128
			g := gens(pages, 1)
			m, addr := mustMapGens(t, tk, s, g)
			failed := loadPages(t, tk, m, addr, g)
			if len(failed) == 0 || len(failed) == pages {
				t.Fatalf("%d of %d loads failed: want some", len(failed), pages)
			}
			for i, err := range failed {
				if !errors.Is(err, mm.ErrBus) {
					t.Fatalf("page %d: %v, want SIGBUS", i, err)
				}
			}
			// A store to an unreadable page is SIGBUS too, and changes
			// nothing.
			for i := range failed {
				buf := make([]byte, mem.PageSize)
				if err := m.Store(tk, addr+uint64(i)*mem.PageSize, buf); err != nil && !errors.Is(err, mm.ErrBus) {
					t.Fatalf("store to page %d: %v", i, err)
				} else if err == nil {
					// The page was read back (the error was a draw):
					// it now holds zeros.
					delete(failed, i)
					g[i] = 0
				}
				break
			}
			auditClean(t, tk, s, false)
			// Room for every page, so that only read errors matter.
			if err := s.Workload().SetMemoryMax(tk, 512*mem.PageSize); err != nil {
				t.Fatal(err)
			}
			if err := s.Swapoff(tk, 0); err != nil {
				t.Fatalf("swapoff over unreadable slots: %v", err)
			}
			buf := make([]byte, mem.PageSize)
			bus := 0
			for i := range g {
				err := m.Load(tk, addr+uint64(i)*mem.PageSize, buf)
				switch {
				case errors.Is(err, mm.ErrBus):
					bus++
				case err != nil:
					t.Fatalf("page %d after swapoff: %v", i, err)
				case g[i] == 0:
					if buf[0] != 0 {
						t.Fatalf("page %d: not the zeros stored", i)
					}
				default:
					if err := system.CheckPage(buf, g[i], workload.Mixed); err != nil {
						t.Fatalf("page %d after swapoff: %v", i, err)
					}
				}
			}
			if bus == 0 {
				t.Errorf("no swapin-error marker after swapoff")
			}
			// A marker stays: SIGBUS again.
			for i := range g {
				if err := m.Load(tk, addr+uint64(i)*mem.PageSize, buf); errors.Is(err, mm.ErrBus) {
					if err := m.Load(tk, addr+uint64(i)*mem.PageSize, buf); !errors.Is(err, mm.ErrBus) {
						t.Fatalf("page %d: marker gone: %v", i, err)
					}
					break
				}
			}
			t.Logf("%s: %d SIGBUS before swapoff, %d markers after; %d read errors injected", kind, len(failed), bus, s.FaultStats().ReadErrors)
			auditClean(t, tk, s, false)
			if err := s.Swapon(tk, 0); err != nil {
				t.Fatal(err)
			}
			m.Exit(tk)
			auditClean(t, tk, s, true)
		})
	}
}

// A full device under a cgroup limit: stores past limit+swap get OOM
// (reclaim skips anon pages with no slot free), nothing hangs or
// corrupts, and after munmap frees slots work goes on.
func TestFullSwapAndCgroup(t *testing.T) { forDesigns(t, testFullSwapAndCgroup) }

func testFullSwapAndCgroup(t *testing.T, d design.Design) {
	for _, c := range []struct {
		name      string
		swapPages uint64
		swapLimit int64
	}{
		{"device-full", 65, 0},
		{"swap.max-full", 4096, 64},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk := ksync.NewTask("test", 0)
			s, err := system.New(tk, system.Config{Frames: 512, MemcgLimit: 32, SwapLimit: c.swapLimit, Fixes: fixes.Default(), PageCluster: 3, Design: d,
				Devices: []system.DeviceConfig{{Kind: "ram", Pages: c.swapPages, Priority: -1}}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown(tk)
			m := s.NewMM(tk)
			const pages = 256
			addr, _ := m.Mmap(tk, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite)
			buf := make([]byte, mem.PageSize)
			stored := 0
			for i := range pages {
				workload.FillPage(buf, uint64(i+1), workload.Mixed)
				err := m.Store(tk, addr+uint64(i)*mem.PageSize, buf)
				if errors.Is(err, mm.ErrOOM) {
					break
				}
				if err != nil {
					t.Fatalf("store %d: %v", i, err)
				}
				stored++
			}
			if stored == pages || stored < 32+32 {
				t.Fatalf("%d pages stored before OOM (limit 32, swap 64)", stored)
			}
			// What was stored reads back (a load may itself get OOM: a
			// swap-in needs a frame and none can be freed).
			g := gens(stored, 1)
			for i, err := range loadPages(t, tk, m, addr, g) {
				if !errors.Is(err, mm.ErrOOM) {
					t.Fatalf("load %d: %v", i, err)
				}
			}
			auditClean(t, tk, s, false)
			// Space returns: unmap the first half; stores go on.
			half := uint64(stored/2) * mem.PageSize
			if err := m.Munmap(tk, addr, half); err != nil {
				t.Fatal(err)
			}
			addr2, _ := m.Mmap(tk, uint64(stored/4)*mem.PageSize, mm.ProtRead|mm.ProtWrite)
			g2 := gens(stored/4, 5000)
			storeGens(t, tk, m, addr2, g2)
			if failed := loadPages(t, tk, m, addr2, g2); len(failed) != 0 {
				t.Fatalf("after munmap: %v", failed)
			}
			for i, err := range loadPages(t, tk, m, addr+half, g[stored/2:]) {
				if !errors.Is(err, mm.ErrOOM) {
					t.Fatalf("load %d: %v", i, err)
				}
			}
			auditClean(t, tk, s, false)
			m.Exit(tk)
			auditClean(t, tk, s, true)
		})
	}
}
