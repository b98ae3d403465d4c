package system_test

import (
	"fmt"
	"testing"

	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

// The pages of these tests hold workload.Mixed content of a generation
// number each; gen[i] is page i's.

// gens is the generations base, base+1, ... of n pages.
func gens(n int, base uint64) []uint64 {
	g := make([]uint64, n)
	for i := range g {
		g[i] = base + uint64(i)
	}
	return g
}

// store writes page i's generation g at addr + i pages.
func store(t *ksync.Task, m *mm.MM, addr uint64, i int, g uint64) error {
	buf := make([]byte, mem.PageSize)
	workload.FillPage(buf, g, workload.Mixed)
	if err := m.Store(t, addr+uint64(i)*mem.PageSize, buf); err != nil {
		return fmt.Errorf("store page %d: %w", i, err)
	}
	return nil
}

// storeGens stores each page's generation at addr, failing the test on
// an error.
func storeGens(tb testing.TB, t *ksync.Task, m *mm.MM, addr uint64, gen []uint64) {
	tb.Helper()
	for i, g := range gen {
		if err := store(t, m, addr, i, g); err != nil {
			tb.Fatal(err)
		}
	}
}

// withGens runs fn on gen's pages mapped and stored (mapGens) in a new
// address space of s, which exits when fn returns.
func withGens(t *ksync.Task, s *system.System, gen []uint64, fn func(m *mm.MM, addr uint64, gen []uint64) error) error {
	m, addr, err := mapGens(t, s, gen)
	defer m.Exit(t)
	if err != nil {
		return err
	}
	return fn(m, addr, gen)
}

// mustMapGens is mapGens failing the test on an error.
func mustMapGens(tb testing.TB, t *ksync.Task, s *system.System, gen []uint64) (*mm.MM, uint64) {
	tb.Helper()
	m, addr, err := mapGens(t, s, gen)
	if err != nil {
		tb.Fatal(err)
	}
	return m, addr
}

// mapGens maps len(gen) pages in a new address space of s and stores
// each page's generation into it.
func mapGens(t *ksync.Task, s *system.System, gen []uint64) (*mm.MM, uint64, error) {
	m := s.NewMM(t)
	addr, err := m.Mmap(t, uint64(len(gen))*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	for i := 0; err == nil && i < len(gen); i++ {
		err = store(t, m, addr, i, gen[i])
	}
	return m, addr, err
}

// checkPages reads back every page and compares it with its generation.
func checkPages(t *ksync.Task, m *mm.MM, addr uint64, gen []uint64) error {
	buf := make([]byte, mem.PageSize)
	for i, g := range gen {
		if err := m.Load(t, addr+uint64(i)*mem.PageSize, buf); err != nil {
			return fmt.Errorf("load page %d: %w", i, err)
		}
		if err := system.CheckPage(buf, g, workload.Mixed); err != nil {
			return err
		}
	}
	return nil
}

// loadPages loads every page: a nil error must come with the right bytes;
// it returns the pages whose load failed and their errors.
func loadPages(t testing.TB, tk *ksync.Task, m *mm.MM, addr uint64, gen []uint64) map[int]error {
	t.Helper()
	buf := make([]byte, mem.PageSize)
	failed := map[int]error{}
	for i, g := range gen {
		if err := m.Load(tk, addr+uint64(i)*mem.PageSize, buf); err != nil {
			failed[i] = err
			continue
		}
		if err := system.CheckPage(buf, g, workload.Mixed); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	return failed
}

func auditClean(t testing.TB, tk *ksync.Task, s *system.System, empty bool) {
	t.Helper()
	vs := s.Audit(tk)
	if empty {
		vs = s.AuditEmpty(tk)
	}
	for _, v := range vs {
		t.Errorf("audit: %v", v)
	}
}
