package mm_test

import (
	"testing"
	"uswap/design"

	"uswap/mem"
	"uswap/memcg"
	"uswap/mm"
)

func TestAnonymousFault(t *testing.T) { forDesigns(t, testAnonymousFault) }

func testAnonymousFault(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(256, 0, 1024))
	m := s.NewMM(tk)
	addr, err := m.Mmap(tk, 16*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if err := m.Load(tk, addr+100, buf); err != nil {
		t.Fatal(err)
	}
	for _, b := range buf {
		if b != 0 {
			t.Fatalf("fresh page not zero: %v", buf)
		}
	}
	fill(t, tk, m, addr, 16, 7)
	verify(t, tk, m, addr, 16, 7, nil)
	audit(t, tk, s)
	if err := m.Load(tk, addr+16*mem.PageSize, buf); err == nil {
		t.Fatal("load past the mapping succeeded")
	}
	m.Exit(tk)
	auditEmpty(t, tk, s)
}

func TestSwapinBypassRAM(t *testing.T) { forDesigns(t, testSwapinBypassRAM) }

func testSwapinBypassRAM(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(512, 64, 2048))
	const pages = 256
	m, addr := mapFilled(t, tk, s, pages, 1)
	verify(t, tk, m, addr, pages, 1, nil)
	st := &s.Node().Stat
	if st.PgMajFault.Sum() == 0 || s.Core().Stats.PswpOut.Sum() == 0 {
		t.Fatalf("no swap-in: majfault %d pswpout %d", st.PgMajFault.Sum(), s.Core().Stats.PswpOut.Sum())
	}
	switch d {
	case design.Classic:
		// Single-mapped pages of a synchronous device skip the swap
		// cache.
		if st.SwapinBypass.Sum() == 0 {
			t.Fatal("no bypass swap-in in the classic design")
		}
	case design.Table:
		// No bypass: every swap-in went through the swap cache, without
		// readahead (swapin_sync), and the cache copy was dropped at
		// once (should_try_to_free_swap on a synchronous device).
		if st.SwapinBypass.Sum() != 0 || st.SwapRa.Sum() != 0 {
			t.Fatalf("table design: %d bypass swap-ins, %d readahead pages", st.SwapinBypass.Sum(), st.SwapRa.Sum())
		}
		if add := s.Core().Stats.CacheAdd.Sum(); add < s.Core().Stats.PswpIn.Sum()+s.Core().Stats.PswpOut.Sum() {
			t.Fatalf("table design: %d swap cache insertions for %d reads and %d writes", add, s.Core().Stats.PswpIn.Sum(), s.Core().Stats.PswpOut.Sum())
		}
	}
	auditExit(t, tk, s, m)
}

func TestSwapinCacheFile(t *testing.T) { forDesigns(t, testSwapinCacheFile) }

func testSwapinCacheFile(t *testing.T, d design.Design) {
	for _, ra := range []string{"cluster", "vma"} {
		t.Run(ra, func(t *testing.T) {
			cfg := fileConfig(t, 512, 64, 2048)
			cfg.Readahead = ra
			s, tk := newSystemD(t, d, cfg)
			const pages = 256
			m, addr := mapFilled(t, tk, s, pages, 1)
			verify(t, tk, m, addr, pages, 1, nil)
			st := &s.Node().Stat
			t.Logf("swap_ra %d swap_ra_hit %d majfault %d pswpin %d", st.SwapRa.Sum(), st.SwapRaHit.Sum(), st.PgMajFault.Sum(), s.Core().Stats.PswpIn.Sum())
			if st.SwapinBypass.Sum() != 0 {
				t.Fatal("bypass on a file device")
			}
			if st.SwapRa.Sum() == 0 || st.SwapRaHit.Sum() == 0 {
				t.Fatalf("sequential walk: swap_ra %d swap_ra_hit %d", st.SwapRa.Sum(), st.SwapRaHit.Sum())
			}
			auditExit(t, tk, s, m)
		})
	}
}

// The same round trip with cgroup v1 (memsw) accounting, and with
// page_cluster 0 (no readahead) on the swap-cache path.
func TestSwapinMemcgV1NoReadahead(t *testing.T) { forDesigns(t, testSwapinMemcgV1NoReadahead) }

func testSwapinMemcgV1NoReadahead(t *testing.T, d design.Design) {
	cfg := fileConfig(t, 512, 64, 2048)
	cfg.MemcgMode = memcg.V1
	cfg.PageCluster = 0
	s, tk := newSystemD(t, d, cfg)
	const pages = 200
	m, addr := mapFilled(t, tk, s, pages, 5)
	verify(t, tk, m, addr, pages, 5, nil)
	if ra := s.Node().Stat.SwapRa.Sum(); ra != 0 {
		t.Fatalf("page_cluster 0 read ahead %d pages", ra)
	}
	auditExit(t, tk, s, m)
	if u := s.Workload().Memsw().Read(tk); u != 0 {
		t.Fatalf("memsw usage %d after everything exited", u)
	}
}
