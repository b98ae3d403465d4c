package mm_test

import (
	"errors"
	"testing"

	"uswap/fixes"
	"uswap/mem"
	"uswap/memcg"
	"uswap/mm"
	"uswap/swap"
)

func TestNodeConfigErrors(t *testing.T) {
	tk := task("test")
	for _, c := range []struct {
		name string
		cfg  mm.Config
	}{
		{"watermarks out of order", mm.Config{WatermarkMin: 10, WatermarkLow: 5, WatermarkHigh: 20}},
		{"high above the pool", mm.Config{WatermarkMin: 1, WatermarkLow: 2, WatermarkHigh: 1000}},
		{"page cluster", mm.Config{PageCluster: 11}},
		{"readahead mode", mm.Config{Readahead: "both"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, _ := mem.NewPool(64)
			root := memcg.NewRoot(memcg.V2)
			core := swap.NewCore(swap.Config{Fixes: fixes.Default(), Accounting: root.Hierarchy()})
			if _, err := mm.NewNode(tk, pool, core, root, c.cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSyscallErrors(t *testing.T) {
	s, tk := newSystem(t, ramConfig(64, 0, 256))
	m := s.NewMM(tk)
	if _, err := m.Mmap(tk, 0, mm.ProtRead); !errors.Is(err, mm.ErrInval) {
		t.Fatalf("mmap of 0 bytes: %v", err)
	}
	ro, _ := m.Mmap(tk, mem.PageSize, mm.ProtRead)
	if err := m.Store(tk, ro, []byte{1}); !errors.Is(err, mm.ErrSegv) {
		t.Fatalf("store to a read-only mapping: %v", err)
	}
	b := []byte{9}
	if err := m.Load(tk, ro, b); err != nil || b[0] != 0 {
		t.Fatalf("load of a read-only page: %v %v", err, b)
	}
	if err := m.Munmap(tk, ro+1, mem.PageSize); !errors.Is(err, mm.ErrInval) {
		t.Fatalf("munmap of an unaligned address: %v", err)
	}
	// An access that spans two pages.
	rw, _ := m.Mmap(tk, 2*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err := m.Store(tk, rw+mem.PageSize-2, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if err := m.Load(tk, rw+mem.PageSize-2, got); err != nil || string(got) != "\x01\x02\x03\x04" {
		t.Fatalf("cross-page load: %v %v", err, got)
	}
	m.Exit(tk)
	if err := m.Load(tk, rw, got); !errors.Is(err, mm.ErrExited) {
		t.Fatalf("load after exit: %v", err)
	}
	if _, err := m.Fork(tk); !errors.Is(err, mm.ErrExited) {
		t.Fatalf("fork after exit: %v", err)
	}
	auditEmpty(t, tk, s)
}
