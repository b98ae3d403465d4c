package mm_test

import (
	"errors"
	"testing"
	"uswap/design"

	"uswap/mem"
	"uswap/mm"
)

// MADV_PAGEOUT swaps out the pages of the range at once: their PTEs hold
// swap entries, their frames are free, and they read back intact.
func TestMadvisePageout(t *testing.T) { forDesigns(t, testMadvisePageout) }

func testMadvisePageout(t *testing.T, d design.Design) {
	for _, kind := range []string{"ram", "file"} {
		t.Run(kind, func(t *testing.T) {
			cfg := kindConfig(t, kind, 256, 0, 64)
			s, tk := newSystemD(t, d, cfg)
			const pages = 8
			m, addr := mapFilled(t, tk, s, pages, 30)
			free := s.Pool().NrFree(tk)
			// Page out pages 2..5 only.
			if err := m.MadvisePageout(tk, addr+2*mem.PageSize, 4*mem.PageSize); err != nil {
				t.Fatal(err)
			}
			for i := range pages {
				want := i >= 2 && i < 6
				if got := m.PTEIsSwapForTest(tk, addr+uint64(i)*mem.PageSize); got != want {
					t.Errorf("page %d: swap PTE %v, want %v", i, got, want)
				}
			}
			if got := s.Pool().NrFree(tk) - free; got != 4 {
				t.Errorf("%d frames freed, want 4", got)
			}
			if got := s.SwapInfo(tk, 0).InusePages(tk); got != 4 {
				t.Errorf("%d slots in use, want 4", got)
			}
			audit(t, tk, s)
			verify(t, tk, m, addr, pages, 30, nil)
			// Again after the swap-in, and a page already out is skipped.
			if err := m.MadvisePageout(tk, addr, pages*mem.PageSize); err != nil {
				t.Fatal(err)
			}
			if err := m.MadvisePageout(tk, addr, pages*mem.PageSize); err != nil {
				t.Fatal(err)
			}
			for i := range pages {
				if !m.PTEIsSwapForTest(tk, addr+uint64(i)*mem.PageSize) {
					t.Errorf("page %d not paged out", i)
				}
			}
			audit(t, tk, s)
			verify(t, tk, m, addr, pages, 30, nil)
			// A shared folio (after fork) stays.
			child, err := m.Fork(tk)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.MadvisePageout(tk, addr, pages*mem.PageSize); err != nil {
				t.Fatal(err)
			}
			audit(t, tk, s)
			verify(t, tk, child, addr, pages, 30, nil)
			child.Exit(tk)
			if err := m.MadvisePageout(tk, addr+1, mem.PageSize); !errors.Is(err, mm.ErrInval) {
				t.Errorf("unaligned: %v", err)
			}
			m.Exit(tk)
			if err := m.MadvisePageout(tk, addr, mem.PageSize); !errors.Is(err, mm.ErrExited) {
				t.Errorf("after exit: %v", err)
			}
			auditEmpty(t, tk, s)
		})
	}
}
