package mm_test

import (
	"errors"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

func TestWriteProtectReuseAndCopy(t *testing.T) { forDesigns(t, testWriteProtectReuseAndCopy) }

func testWriteProtectReuseAndCopy(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(256, 0, 1024))
	m := s.NewMM(tk)
	addr, _ := m.Mmap(tk, 4*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	fill(t, tk, m, addr, 4, 10)
	child, err := m.Fork(tk)
	if err != nil {
		t.Fatal(err)
	}
	st := &s.Node().Stat
	// Parent writes page 0: shared with the child, so it is copied.
	fill(t, tk, m, addr, 1, 100)
	if st.CowFault.Sum() != 1 {
		t.Fatalf("cow faults %d, want 1", st.CowFault.Sum())
	}
	// The child writes page 0: it is alone on the old folio now: reuse.
	fill(t, tk, child, addr, 1, 200)
	if st.PgReuse.Sum() != 1 {
		t.Fatalf("reuses %d, want 1", st.PgReuse.Sum())
	}
	verify(t, tk, m, addr, 1, 100, nil)
	verify(t, tk, child, addr, 1, 200, nil)
	verify(t, tk, m, addr+mem.PageSize, 3, 11, nil)
	verify(t, tk, child, addr+mem.PageSize, 3, 11, nil)
	auditExit(t, tk, s, child, m)
}

// A swap-cache page that is reused on a write fault loses its slot.
func TestReuseFreesSwapSlot(t *testing.T) { forDesigns(t, testReuseFreesSwapSlot) }

func testReuseFreesSwapSlot(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, fileConfig(t, 256, 32, 1024))
	const pages = 128
	m, addr := mapFilled(t, tk, s, pages, 1)
	// Read everything back (swap-cache path, mapped read-only, slots kept),
	// then write: each write fault must reuse and free the slot.
	verify(t, tk, m, addr, pages, 1, nil)
	fill(t, tk, m, addr, pages, 1000)
	verify(t, tk, m, addr, pages, 1000, nil)
	auditExit(t, tk, s, m)
}

// Pages swapped out in a parent are shared by more than SWAP_MAP_MAX
// forks, so that their swap counts go into continuation; then every fork
// writes (copy-on-write from a swapped page) and exits.
func TestForkSwappedCOWContinuation(t *testing.T) { forDesigns(t, testForkSwappedCOWContinuation) }

func testForkSwappedCOWContinuation(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(1024, 48, 2048))
	const pages = 96
	m, addr := mapFilled(t, tk, s, pages, 1)
	nforks := 70
	if testing.Short() {
		nforks = 64
	}
	var kids []*mm.MM
	for range nforks {
		c, err := m.Fork(tk)
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, c)
	}
	// The counts pass what a slot's own state holds: classic adds
	// count-continuation pages (past SWAP_MAP_MAX, 62), the table design
	// an extend table (past SWP_TB_COUNT_MAX - 1, 14).
	if over := s.Core().Stats.ContAdded.Sum() + s.Core().Stats.ExtendAdd.Sum(); over == 0 {
		t.Fatalf("no count continuation or extend table with %d forks", nforks)
	}
	audit(t, tk, s)
	for i, c := range kids {
		verify(t, tk, c, addr, pages, 1, []int{i % pages, (i * 7) % pages})
		fill(t, tk, c, addr+uint64(i%pages)*mem.PageSize, 1, uint64(5000+i))
		buf := make([]byte, mem.PageSize)
		if err := c.Load(tk, addr+uint64(i%pages)*mem.PageSize, buf); err != nil {
			t.Fatal(err)
		}
		if err := system.CheckPage(buf, uint64(5000+i), workload.Mixed); err != nil {
			t.Fatal(err)
		}
	}
	verify(t, tk, m, addr, pages, 1, nil)
	audit(t, tk, s)
	for _, c := range kids {
		c.Exit(tk)
	}
	verify(t, tk, m, addr, pages, 1, nil)
	m.Exit(tk)
	auditEmpty(t, tk, s)
}

func TestMunmapFreesEverything(t *testing.T) { forDesigns(t, testMunmapFreesEverything) }

func testMunmapFreesEverything(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(256, 32, 1024))
	const pages = 100
	m, addr := mapFilled(t, tk, s, pages, 3)
	// A hole in the middle, then the rest.
	if err := m.Munmap(tk, addr+10*mem.PageSize, 20*mem.PageSize); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if err := m.Load(tk, addr+15*mem.PageSize, buf); !errors.Is(err, mm.ErrSegv) {
		t.Fatalf("load in the hole: %v, want SIGSEGV", err)
	}
	verify(t, tk, m, addr, 10, 3, nil)
	verify(t, tk, m, addr+30*mem.PageSize, 70, 33, nil)
	audit(t, tk, s)
	if err := m.Munmap(tk, addr, pages*mem.PageSize); err != nil {
		t.Fatal(err)
	}
	s.Node().Drain(tk)
	for _, v := range s.Node().AuditEmpty(tk) {
		if v.Object != "mmlist" {
			t.Errorf("audit: %v", v)
		}
	}
	m.Exit(tk)
	auditEmpty(t, tk, s)
}

func TestSwapinErrorSIGBUS(t *testing.T) { forDesigns(t, testSwapinErrorSIGBUS) }

func testSwapinErrorSIGBUS(t *testing.T, d design.Design) {
	s, tk, si, dev := newReadFailSystemD(t, d, 256, 32, 1024)
	const pages = 64
	m, addr := mapFilled(t, tk, s, pages, 1)
	dev.failReads.Store(tk, -1)
	buf := make([]byte, 8)
	if err := m.Load(tk, addr, buf); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("load of an unreadable page: %v, want SIGBUS", err)
	}
	// swapoff turns every unreadable PTE into a swapin-error marker.
	if err := s.Core().Swapoff(tk, si, s.Node()); err != nil {
		t.Fatal(err)
	}
	if err := m.Load(tk, addr, buf); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("load of a marker: %v, want SIGBUS", err)
	}
	auditExit(t, tk, s, m)
}

// TestForkKilled: a fork that a fatal signal interrupts at its second
// VMA has copied the first one's swap entry and mapped page, and its
// teardown gives both back, in each variant of the failure path; a
// signal due past the last VMA is never seen, which is an error.
func TestForkKilled(t *testing.T) {
	for _, v := range []fixes.Variant{fixes.ForkUnstableCheck, fixes.ForkUnstableDestroyPartial} {
		t.Run(fixes.ForkUnstable.VariantName(v), func(t *testing.T) {
			cfg := ramConfig(64, 0, 64)
			cfg.Fixes = cfg.Fixes.With(fixes.ForkUnstable, v)
			s, tk := newSystem(t, cfg)
			m := s.NewMM(tk)
			a, _ := m.Mmap(tk, 2*mem.PageSize, mm.ProtRead|mm.ProtWrite)
			b, _ := m.Mmap(tk, mem.PageSize, mm.ProtRead|mm.ProtWrite)
			fill(t, tk, m, a, 2, 1)
			fill(t, tk, m, b, 1, 9)
			if err := m.MadvisePageout(tk, a, mem.PageSize); err != nil {
				t.Fatal(err)
			}
			if err := m.ForkKilled(tk, 1); !errors.Is(err, mm.ErrKilled) {
				t.Fatalf("ForkKilled(1) = %v, want %v", err, mm.ErrKilled)
			}
			if err := m.ForkKilled(tk, 2); err == nil || errors.Is(err, mm.ErrKilled) {
				t.Fatalf("ForkKilled(2) of 2 VMAs = %v, want an error saying no signal was seen", err)
			}
			verify(t, tk, m, a, 2, 1, nil)
			verify(t, tk, m, b, 1, 9, nil)
			auditExit(t, tk, s, m)
		})
	}
}
