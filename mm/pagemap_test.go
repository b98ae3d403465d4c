package mm_test

import (
	"testing"

	"uswap/mem"
	"uswap/mm"
)

// Pagemap decodes a PTE through its life: none, present, swapped out,
// present again.
func TestPagemap(t *testing.T) {
	s, tk := newSystem(t, ramConfig(64, 0, 16))
	m := s.NewMM(tk)
	addr, err := m.Mmap(tk, mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	want := func(what string) mm.PageState {
		t.Helper()
		p := m.Pagemap(tk, addr)
		if p.String() != what {
			t.Fatalf("pagemap = %v, want %s", p, what)
		}
		return p
	}
	want("none")
	fill(t, tk, m, addr, 1, 7)
	if p := want("present"); p.PFN < 0 || p.PFN >= s.Pool().Frames() {
		t.Fatalf("pfn %d out of the pool", p.PFN)
	}
	if err := m.MadvisePageout(tk, addr, mem.PageSize); err != nil {
		t.Fatal(err)
	}
	if p := want("swap"); p.Entry.Type() != 0 || p.Entry.Offset() == 0 {
		t.Fatalf("swap entry %v", p.Entry)
	}
	verify(t, tk, m, addr, 1, 7, nil)
	want("present")
	m.Exit(tk)
	auditEmpty(t, tk, s)
}
