package mm_test

import (
	"errors"
	"testing"

	"uswap/fixes"
	"uswap/mem"
	"uswap/memcg"
	"uswap/mm"
	"uswap/system"
)

// A cgroup limit too small for the working set, with no swap: the task
// gets an out-of-memory error that wraps the memcg's, and the system
// goes on.
func TestOOMMemcgLimit(t *testing.T) {
	s, tk := newSystem(t, system.Config{Frames: 256, MemcgLimit: 16, Fixes: fixes.Default(), PageCluster: -1})
	m := s.NewMM(tk)
	addr, _ := m.Mmap(tk, 64*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	var err error
	i := 0
	for ; i < 64 && err == nil; i++ {
		err = m.Store(tk, addr+uint64(i)*mem.PageSize, []byte{1})
	}
	var oom *memcg.OOMError
	if !errors.Is(err, mm.ErrOOM) || !errors.As(err, &oom) {
		t.Fatalf("store %d: %v, want an OOM error wrapping *memcg.OOMError", i, err)
	}
	if i-1 != 16 {
		t.Fatalf("OOM after %d pages, want 16", i-1)
	}
	// The pages already there are intact and the system is consistent.
	buf := []byte{0}
	if err := m.Load(tk, addr, buf); err != nil || buf[0] != 1 {
		t.Fatalf("load after OOM: %v %v", err, buf)
	}
	audit(t, tk, s)
	m.Exit(tk)
	auditEmpty(t, tk, s)
}

// An exhausted pool with no swap: direct reclaim cannot make room.
func TestOOMPoolExhausted(t *testing.T) {
	s, tk := newSystem(t, system.Config{Frames: 32, Fixes: fixes.Default(), PageCluster: -1})
	m := s.NewMM(tk)
	addr, _ := m.Mmap(tk, 64*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	var err error
	i := 0
	for ; i < 64 && err == nil; i++ {
		err = m.Store(tk, addr+uint64(i)*mem.PageSize, []byte{1})
	}
	if !errors.Is(err, mm.ErrOOM) || i-1 != 32 {
		t.Fatalf("store %d: %v, want OOM after 32 pages", i-1, err)
	}
	if s.Node().Stat.OOM.Sum() == 0 {
		t.Fatal("oom counter not incremented")
	}
	audit(t, tk, s)
	m.Exit(tk)
	auditEmpty(t, tk, s)
}
