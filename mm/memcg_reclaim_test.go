package mm_test

import (
	"sync"
	"testing"
	"uswap/design"

	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
)

func TestMemcgHighMarks(t *testing.T) {
	for _, c := range []struct{ limit, high, low int64 }{
		{65536, 64512, 63488},
		{1024, 960, 896},
		{100, 36, 0},
		{10, 0, 0},
	} {
		if h, l := mm.MemcgHighMarks(c.limit); h != c.high || l != c.low {
			t.Errorf("MemcgHighMarks(%d) = %d, %d; want %d, %d", c.limit, h, l, c.high, c.low)
		}
	}
}

// TestMemcgBackgroundReclaim runs a usemem load in a limited cgroup with
// the background reclaimer on (Config.MemcgBgReclaim), from two tasks:
// the data stays right, the
// cgroup's usage never goes above its limit (its watermark), the
// reclaimer does the reclaiming that it is for, it stops cleanly, and the
// audit is clean after.
func TestMemcgBackgroundReclaim(t *testing.T) { forDesigns(t, testMemcgBackgroundReclaim) }

func testMemcgBackgroundReclaim(t *testing.T, d design.Design) {
	const limit, pages = 256, 1024
	cfg := ramConfig(limit+128, limit, 4*pages)
	cfg.MemcgBgReclaim = true
	s, tk := newSystemD(t, d, cfg)
	s.Node().StartMemcgReclaim(tk) // started by the config: a no-op
	m := s.NewMM(tk)
	const threads = 2
	addrs := make([]uint64, threads)
	for k := range addrs {
		a, err := m.Mmap(tk, pages/threads*mem.PageSize, mm.ProtRead|mm.ProtWrite)
		if err != nil {
			t.Fatal(err)
		}
		addrs[k] = a
	}
	var wg sync.WaitGroup
	errs := make([]error, threads)
	for k := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = usemem(ksync.NewTask("usemem", k), m, addrs[k], pages/threads, uint64(k)<<32, 4)
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Fatalf("thread %d: %v", k, err)
		}
	}
	w := s.Workload().Memory()
	if wm := w.Watermark(tk); wm > limit {
		t.Errorf("memcg watermark %d pages above the limit %d", wm, limit)
	}
	if failed := w.Failcnt(tk); failed != 0 {
		t.Logf("%d charges hit the limit and reclaimed directly", failed)
	}
	s.Node().StopMemcgReclaim(tk)
	s.Node().StopMemcgReclaim(tk) // a second stop returns at once
	reclaimed, wakeups := s.Node().MemcgReclaimStats()
	if reclaimed == 0 || wakeups == 0 {
		t.Errorf("background reclaim freed %d pages in %d wakeups: want some", reclaimed, wakeups)
	}
	t.Logf("background reclaim: %d pages in %d wakeups", reclaimed, wakeups)
	// With the reclaimer stopped, charges go on (and reclaim directly).
	if err := usemem(tk, m, addrs[0], pages/threads, 99, 1); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.Node().MemcgReclaimStats(); after != reclaimed {
		t.Errorf("background reclaim freed %d pages after it was stopped", after-reclaimed)
	}
	auditExit(t, tk, s, m)
}

// TestMemcgBackgroundReclaimOff: without StartMemcgReclaim nothing runs
// in the background and stopping is a no-op.
func TestMemcgBackgroundReclaimOff(t *testing.T) { forDesigns(t, testMemcgBackgroundReclaimOff) }

func testMemcgBackgroundReclaimOff(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(384, 256, 2048))
	m := s.NewMM(tk)
	a, err := m.Mmap(tk, 512*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := usemem(tk, m, a, 512, 1, 1); err != nil {
		t.Fatal(err)
	}
	if r, w := s.Node().MemcgReclaimStats(); r != 0 || w != 0 {
		t.Errorf("background reclaim ran while off: %d pages, %d wakeups", r, w)
	}
	s.Node().StopMemcgReclaim(tk)
	m.Exit(tk)
	auditEmpty(t, tk, s)
}
