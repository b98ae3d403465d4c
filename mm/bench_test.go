package mm_test

import (
	"testing"

	"github.com/pierrec/lz4/v4"

	"uswap/design"
	"uswap/mem"
	"uswap/mm"
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
	m := s.NewMM(tk)
	addr, err := m.Mmap(tk, benchWSS*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, tk, m, addr, benchWSS, 1)
	buf := make([]byte, mem.PageSize)
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(s.Core().Stats.PswpIn.Sum()-in0)/float64(b.N), "swapins/op")
	m.Exit(tk)
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
