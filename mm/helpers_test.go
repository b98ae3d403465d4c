package mm_test

import (
	"errors"
	"testing"
	"uswap/design"

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

// kindConfig is ramConfig or fileConfig, as kind ("ram" or "file") says.
func kindConfig(tb testing.TB, kind string, frames int, limit int64, swapPages uint64) system.Config {
	if kind == "file" {
		return fileConfig(tb, frames, limit, swapPages)
	}
	return ramConfig(frames, limit, swapPages)
}

// forDesigns runs fn as a subtest in each design of the swap core.
func forDesigns(t *testing.T, fn func(t *testing.T, d design.Design)) {
	for _, d := range design.All() {
		t.Run(d.String(), func(t *testing.T) { fn(t, d) })
	}
}

// newSystemD is newSystem with the swap core in design d.
func newSystemD(tb testing.TB, d design.Design, cfg system.Config) (*system.System, *ksync.Task) {
	tb.Helper()
	cfg.Design = d
	return newSystem(tb, cfg)
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

// mapFilled maps pages pages of anonymous memory in a new address space
// of s and fills them (fill, from seed).
func mapFilled(tb testing.TB, t *ksync.Task, s *system.System, pages int, seed uint64) (*mm.MM, uint64) {
	tb.Helper()
	m := s.NewMM(t)
	addr, err := m.Mmap(t, uint64(pages)*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		tb.Fatal(err)
	}
	fill(tb, t, m, addr, pages, seed)
	return m, addr
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

// auditExit audits s, exits the address spaces ms, and audits the empty
// machine (every frame and slot free).
func auditExit(tb testing.TB, t *ksync.Task, s *system.System, ms ...*mm.MM) {
	tb.Helper()
	audit(tb, t, s)
	for _, m := range ms {
		m.Exit(t)
	}
	auditEmpty(tb, t, s)
}

func isOOM(err error) bool { return errors.Is(err, mm.ErrOOM) }

// readFailDevice is a RAM swap device whose page reads fail with
// errInjected while failReads is not zero: a positive failReads counts the
// reads still to fail, -1 fails every read. The header (offset 0) always
// reads, and reads counts the page reads asked for.
type readFailDevice struct {
	swapdev.Device
	failReads ksync.Int64
	reads     ksync.Int64
}

var errInjected = errors.New("injected read error")

func (d *readFailDevice) ReadPage(t *ksync.Task, off uint64, dst []byte) error {
	if off == 0 {
		return d.Device.ReadPage(t, off, dst)
	}
	d.reads.Add(t, 1)
	switch n := d.failReads.Load(t); {
	case n < 0:
		return errInjected
	case n > 0:
		d.failReads.Add(t, -1)
		return errInjected
	}
	return d.Device.ReadPage(t, off, dst)
}

// newReadFailSystem is a machine of frames frames with a memcg limit of
// limit pages, whose one swap device is a formatted RAM device of pages
// pages behind a readFailDevice, swapped on.
func newReadFailSystem(tb testing.TB, frames int, limit int64, pages uint64) (*system.System, *ksync.Task, *swap.SwapInfo, *readFailDevice) {
	tb.Helper()
	return newReadFailSystemD(tb, design.Classic, frames, limit, pages)
}

// newReadFailSystemD is newReadFailSystem with the swap core in design d.
func newReadFailSystemD(tb testing.TB, d design.Design, frames int, limit int64, pages uint64) (*system.System, *ksync.Task, *swap.SwapInfo, *readFailDevice) {
	tb.Helper()
	cfg := ramConfig(frames, limit, 0)
	cfg.Devices = nil
	s, t := newSystemD(tb, d, cfg)
	ram, err := swapdev.NewRAM("zram-faulty", pages, "lz4")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := swapdev.MkswapDevice(t, ram, swapdev.MkswapOptions{}); err != nil {
		tb.Fatal(err)
	}
	dev := &readFailDevice{Device: ram}
	si, err := s.Core().Swapon(t, dev, swap.SwaponOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return s, t, si, dev
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
