package mm_test

import (
	"errors"
	"testing"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swap"
	"uswap/swapdev"
	"uswap/system"
	"uswap/workload"
)

func task(name string) *ksync.Task { return ksync.NewTask(name, 0) }

func ramConfig(frames int, limit int64, swapPages uint64) system.Config {
	return system.Config{
		Frames:      frames,
		MemcgLimit:  limit,
		Fixes:       fixes.Default(),
		PageCluster: 3,
		Devices:     []system.DeviceConfig{{Kind: "ram", Pages: swapPages, Priority: -1}},
	}
}

func fileConfig(tb testing.TB, frames int, limit int64, swapPages uint64) system.Config {
	cfg := ramConfig(frames, limit, swapPages)
	cfg.Devices = []system.DeviceConfig{{Kind: "file", Pages: swapPages, Path: tb.TempDir() + "/swapfile", Priority: -1}}
	return cfg
}

func newSystem(tb testing.TB, cfg system.Config) (*system.System, *ksync.Task) {
	tb.Helper()
	t := task("test")
	s, err := system.New(t, cfg)
	if err != nil {
		tb.Fatalf("system.New: %v", err)
	}
	tb.Cleanup(func() { s.Shutdown(task("cleanup")) })
	return s, t
}

// fill writes page i's pattern at addr + i*PageSize for every page.
func fill(tb testing.TB, t *ksync.Task, m *mm.MM, addr uint64, pages int, seed uint64) {
	tb.Helper()
	buf := make([]byte, mem.PageSize)
	for i := range pages {
		workload.FillPage(buf, seed+uint64(i), workload.Mixed)
		if err := m.Store(t, addr+uint64(i)*mem.PageSize, buf); err != nil {
			tb.Fatalf("store page %d: %v", i, err)
		}
	}
}

// verify checks every page written by fill.
func verify(tb testing.TB, t *ksync.Task, m *mm.MM, addr uint64, pages int, seed uint64, order []int) {
	tb.Helper()
	buf := make([]byte, mem.PageSize)
	if order == nil {
		for i := range pages {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if err := m.Load(t, addr+uint64(i)*mem.PageSize, buf); err != nil {
			tb.Fatalf("load page %d: %v", i, err)
		}
		if err := system.CheckPage(buf, seed+uint64(i), workload.Mixed); err != nil {
			tb.Fatalf("page %d: %v", i, err)
		}
	}
}

func audit(tb testing.TB, t *ksync.Task, s *system.System) {
	tb.Helper()
	for _, v := range s.Audit(t) {
		tb.Errorf("audit: %v", v)
	}
}

func auditEmpty(tb testing.TB, t *ksync.Task, s *system.System) {
	tb.Helper()
	for _, v := range s.AuditEmpty(t) {
		tb.Errorf("audit: %v", v)
	}
}

func isOOM(err error) bool { return errors.Is(err, mm.ErrOOM) }

// swaponWrapped swaps on a formatted RAM device of pages pages, seen
// through wrap (a device that injects errors, say), on a system built
// without devices.
func swaponWrapped(tb testing.TB, t *ksync.Task, s *system.System, name string, pages uint64, wrap func(swapdev.Device) swapdev.Device) *swap.SwapInfo {
	tb.Helper()
	ram, err := swapdev.NewRAM(name, pages, "lz4")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := swapdev.MkswapDevice(t, ram, swapdev.MkswapOptions{}); err != nil {
		tb.Fatal(err)
	}
	si, err := s.Core().Swapon(t, wrap(ram), swap.SwaponOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return si
}

// taskGroup lets a spawner wait for n spawned tasks: each calls Done as it
// ends, and Wait returns after the last one (a counted completion).
type taskGroup struct {
	left ksync.Int32
	all  ksync.Completion
}

func newTaskGroup(n int) *taskGroup {
	g := &taskGroup{}
	g.left.Init(int32(n))
	return g
}

// Done marks one task finished.
func (g *taskGroup) Done(t *ksync.Task) {
	if g.left.Add(t, -1) == 0 {
		g.all.Complete(t)
	}
}

// Wait returns once every task has called Done.
func (g *taskGroup) Wait(t *ksync.Task) { g.all.Wait(t) }
