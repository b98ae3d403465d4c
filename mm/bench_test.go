package mm_test

import (
	"testing"
	"time"

	"github.com/pierrec/lz4/v4"

	"uswap/design"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

const (
	benchLimit = 1024           // memcg limit in pages
	benchWSS   = 4 * benchLimit // working set: four times the limit
)

// benchSwapin measures the swap-in path in each design of the swap core:
// one task walks a working set four times its cgroup's limit on a RAM
// (lz4) device, so that most loads fault, reclaim a page and swap one in.
// It reports pages per second.
func benchSwapin(b *testing.B, random bool) {
	for _, d := range design.All() {
		b.Run("design="+d.String(), func(b *testing.B) { benchSwapinDesign(b, d, random) })
	}
}

func benchSwapinDesign(b *testing.B, d design.Design, random bool) {
	cfg := ramConfig(2*benchWSS, benchLimit, 2*benchWSS)
	cfg.Design = d
	s, tk := newSystem(b, cfg)
	m, addr := mapWSS(b, tk, s)
	in := walkWSS(b, tk, s, m, addr, random, make([]byte, mem.PageSize))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(in)/float64(b.N), "swapins/op")
	m.Exit(tk)
}

// mapWSS maps the benchmarks' working set in an address space of s and
// fills it.
func mapWSS(b *testing.B, tk *ksync.Task, s *system.System) (*mm.MM, uint64) {
	m := s.NewMM(tk)
	addr, err := m.Mmap(tk, benchWSS*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, tk, m, addr, benchWSS, 1)
	return m, addr
}

// walkWSS times b.N loads of the working set at addr, in order or in a
// random order (splitmix64), and returns the pages swapped in meanwhile.
func walkWSS(b *testing.B, tk *ksync.Task, s *system.System, m *mm.MM, addr uint64, random bool, buf []byte) uint64 {
	rng := uint64(42)
	in0 := s.Core().Stats.PswpIn.Sum()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := uint64(i % benchWSS)
		if random {
			p = workload.SplitMix64(&rng) % benchWSS
		}
		if err := m.Load(tk, addr+p*mem.PageSize, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	return s.Core().Stats.PswpIn.Sum() - in0
}

func BenchmarkSwapinSeq(b *testing.B)    { benchSwapin(b, false) }
func BenchmarkSwapinRandom(b *testing.B) { benchSwapin(b, true) }

// BenchmarkLZ4RoundTrip is the floor under the swap-in path on the RAM
// device: lz4 compress plus decompress of the same pages (the Mixed
// pattern the swap-in benchmarks store), one page per op.
func BenchmarkLZ4RoundTrip(b *testing.B) {
	const npages = 256
	pages := make([][]byte, npages)
	for i := range pages {
		pages[i] = make([]byte, mem.PageSize)
		workload.FillPage(pages[i], uint64(i+1), workload.Mixed)
	}
	var c lz4.Compressor
	dst := make([]byte, lz4.CompressBlockBound(mem.PageSize))
	out := make([]byte, mem.PageSize)
	b.SetBytes(mem.PageSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := c.CompressBlock(pages[i%npages], dst)
		if err != nil || n == 0 {
			b.Fatalf("compress: %d, %v", n, err)
		}
		if _, err := lz4.UncompressBlock(dst[:n], out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// opCounter is a Scheduler that lets its one task run and counts the
// task's scheduling points by operation: every lock, atomic and wait the
// engine does.
type opCounter struct{ n [32]uint64 }

func (c *opCounter) Point(t *ksync.Task, op ksync.Op, obj any) { c.n[op]++ }
func (c *opCounter) Block(t *ksync.Task, op ksync.Op, obj any, timeout time.Duration) bool {
	if timeout < 0 {
		panic("opCounter: a sleep only a wake ends, with one task")
	}
	return false
}
func (c *opCounter) Wake(t *ksync.Task, obj any)                           {}
func (c *opCounter) Spawn(parent, child *ksync.Task, fn func(*ksync.Task)) { panic("opCounter: spawn") }
func (c *opCounter) Note(t *ksync.Task, msg string)                        {}
func (c *opCounter) Access(t *ksync.Task, op ksync.Op, obj any)            {}
func (c *opCounter) Now() time.Duration                                    { return 0 }

// BenchmarkSwapinSeqOps counts what one swapped page costs the engine in
// locks and atomics, outside the compressor: one task walks a working set
// four times its cgroup's limit in order (every load swaps a page in and
// reclaim swaps one out), under a scheduler that only counts. The counts
// are exact and repeatable on a busy machine, unlike times.
func BenchmarkSwapinSeqOps(b *testing.B) { benchSwapinOps(b, false) }

// BenchmarkSwapinRandomOps is BenchmarkSwapinSeqOps in a random order
// (splitmix64): a quarter of the loads find their page resident, and
// reclaim meets pages referenced since they were faulted.
func BenchmarkSwapinRandomOps(b *testing.B) { benchSwapinOps(b, true) }

func benchSwapinOps(b *testing.B, random bool) {
	c := &opCounter{}
	tk := ksync.NewControlledTask(1, "usemem", 0, c)
	s, err := system.New(tk, ramConfig(2*benchWSS, benchLimit, 2*benchWSS))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(tk)
	m, addr := mapWSS(b, tk, s)
	c.n = [32]uint64{}
	in := float64(walkWSS(b, tk, s, m, addr, random, make([]byte, 8)))
	if in == 0 {
		if b.N < benchWSS { // a few random loads may all find their pages
			return
		}
		b.Fatal("no swap-ins")
	}
	var locks, rmw, loads, other uint64
	for op, n := range c.n {
		switch ksync.Op(op) {
		case ksync.OpLock, ksync.OpTryLock, ksync.OpRLock, ksync.OpTryRLock, ksync.OpBitLock, ksync.OpBitTryLock:
			locks += n
		case ksync.OpUnlock, ksync.OpRUnlock, ksync.OpBitUnlock:
		case ksync.OpAdd, ksync.OpCmpXchg, ksync.OpXchg, ksync.OpOr, ksync.OpAnd, ksync.OpRefGet, ksync.OpRefPut:
			rmw += n
		case ksync.OpLoad, ksync.OpStore:
			loads += n
		default:
			other += n
		}
	}
	b.ReportMetric(float64(locks)/in, "locks/swapin")
	b.ReportMetric(float64(rmw)/in, "atomic-rmw/swapin")
	b.ReportMetric(float64(loads)/in, "atomic-load-store/swapin")
	b.ReportMetric(float64(other)/in, "waits-wakes/swapin")
	b.ReportMetric(in/float64(b.N), "swapins/op")
	st := &s.Node().Stat
	b.ReportMetric(float64(st.PgScan.Sum())/float64(st.PgSteal.Sum()), "scanned/reclaimed")
	if testing.Verbose() {
		for op, n := range c.n {
			if n > 0 {
				b.Logf("%-20s %8.2f per swap-in", ksync.Op(op), float64(n)/in)
			}
		}
	}
	m.Exit(tk)
}
