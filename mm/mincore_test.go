package mm_test

import (
	"errors"
	"slices"
	"testing"

	"uswap/mm"
)

// TestMincore: a present page is resident, a swapped-out one is not
// until a fault or readahead leaves it in the swap cache; a shared
// mapping's unfaulted pages answer from the file, in the page cache or
// swapped out; an unmapped address is an error.
func TestMincore(t *testing.T) {
	cfg := ramConfig(64, 0, 64)
	cfg.Devices[0].Async = true // swap-ins go through the swap cache
	cfg.PageCluster = 0
	s, tk := newSystem(t, cfg)
	m := s.NewMM(tk)
	a, _ := m.Mmap(tk, 3*pg, mm.ProtRead|mm.ProtWrite)
	fill(t, tk, m, a, 3, 1)
	if err := m.MadvisePageout(tk, a, 2*pg); err != nil {
		t.Fatal(err)
	}
	mincore := func(addr, length uint64, want ...byte) {
		t.Helper()
		got, err := m.Mincore(tk, addr, length)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Mincore(%#x, %d) = %v, %v; want %v", addr, length, got, err, want)
		}
	}
	mincore(a, 3*pg, 0, 0, 1)
	// A fault through the swap cache: the folio stays cached, and a
	// fork's child still holds the swap entry, resident now.
	kid, err := m.Fork(tk)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tk, m, a, 1, 1, nil)
	if got, err := kid.Mincore(tk, a, pg); err != nil || got[0] != 1 {
		t.Fatalf("child's swap PTE of a cached page: %v, %v; want resident", got, err)
	}
	kid.Exit(tk)

	f, _ := s.ShmemCreate(tk, 2*pg)
	shmemFill(t, tk, f, 0, 2, 3)
	sh, err := m.MmapShared(tk, f, 0, 2*pg, mm.ProtRead)
	if err != nil {
		t.Fatal(err)
	}
	mincore(sh, 2*pg, 1, 1)
	s.Node().Drain(tk)
	if f.NrSwapped(tk) != 2 {
		t.Fatalf("%d shmem pages swapped, want 2", f.NrSwapped(tk))
	}
	mincore(sh, 2*pg, 0, 0)
	if _, err := m.Mincore(tk, a+3*pg, pg); !errors.Is(err, mm.ErrSegv) {
		t.Fatalf("Mincore of an unmapped page: %v, want %v", err, mm.ErrSegv)
	}
	if _, err := m.Mincore(tk, a+1, pg); !errors.Is(err, mm.ErrInval) {
		t.Fatalf("Mincore of an unaligned address: %v, want %v", err, mm.ErrInval)
	}
}
