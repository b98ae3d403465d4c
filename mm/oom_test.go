package mm_test

import (
	"errors"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/memcg"
	"uswap/mm"
	"uswap/system"
)

// A cgroup limit too small for the working set, with no swap: the task
// gets an out-of-memory error that wraps the memcg's, and the system
// goes on.
func TestOOMMemcgLimit(t *testing.T) { forDesigns(t, testOOMMemcgLimit) }

func testOOMMemcgLimit(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, system.Config{Frames: 256, MemcgLimit: 16, Fixes: fixes.Default(), PageCluster: -1})
	m, addr, stored, err := storeUntilError(tk, s, 64)
	var oom *memcg.OOMError
	if !errors.Is(err, mm.ErrOOM) || !errors.As(err, &oom) {
		t.Fatalf("store %d: %v, want an OOM error wrapping *memcg.OOMError", stored, err)
	}
	if stored != 16 {
		t.Fatalf("OOM after %d pages, want 16", stored)
	}
	// The pages already there are intact and the system is consistent.
	buf := []byte{0}
	if err := m.Load(tk, addr, buf); err != nil || buf[0] != 1 {
		t.Fatalf("load after OOM: %v %v", err, buf)
	}
	auditExit(t, tk, s, m)
}

// An exhausted pool with no swap: direct reclaim cannot make room.
func TestOOMPoolExhausted(t *testing.T) { forDesigns(t, testOOMPoolExhausted) }

func testOOMPoolExhausted(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, system.Config{Frames: 32, Fixes: fixes.Default(), PageCluster: -1})
	m, _, stored, err := storeUntilError(tk, s, 64)
	if !errors.Is(err, mm.ErrOOM) || stored != 32 {
		t.Fatalf("store %d: %v, want OOM after 32 pages", stored, err)
	}
	if s.Node().Stat.OOM.Sum() == 0 {
		t.Fatal("oom counter not incremented")
	}
	auditExit(t, tk, s, m)
}

// storeUntilError maps pages pages in a new address space of s and stores
// a 1 into each in turn until a store fails: it returns the address
// space, the mapping, how many stores succeeded and the error.
func storeUntilError(t *ksync.Task, s *system.System, pages int) (*mm.MM, uint64, int, error) {
	m := s.NewMM(t)
	addr, err := m.Mmap(t, uint64(pages)*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		return m, addr, 0, err
	}
	for i := range pages {
		if err := m.Store(t, addr+uint64(i)*mem.PageSize, []byte{1}); err != nil {
			return m, addr, i, err
		}
	}
	return m, addr, pages, nil
}
