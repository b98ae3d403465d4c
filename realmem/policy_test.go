package realmem

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkPolicyZipf compares the eviction policies on a skewed
// pattern: page reads whose ranks follow a Zipf distribution (s = 1.1)
// over a region four times the budget, the ranks scattered over the
// region so that readahead cannot help. It reports the hit rate (reads
// that found their page resident) and reads per second for each policy:
//
//	go test -run XXX -bench PolicyZipf ./realmem/
func BenchmarkPolicyZipf(b *testing.B) {
	for _, policy := range []string{"fifo", "workingset"} {
		b.Run(policy, func(b *testing.B) {
			if err := probe(); err != nil {
				b.Skipf("userfaultfd is not available here: %v", err)
			}
			const pages = 16384
			const reads = 400_000
			r, err := Map(pages*pageSize, Options{Budget: pages / 4 * pageSize, Policy: policy, Readahead: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			mem := r.Bytes()
			for i := range pages {
				mem[i*pageSize] = byte(i)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			perm := rng.Perm(pages)
			z := rand.NewZipf(rng, 1.1, 1, pages-1)
			seq := make([]int, reads)
			for i := range seq {
				seq[i] = perm[z.Uint64()]
			}
			b.ResetTimer()
			var hits, total float64
			var elapsed time.Duration
			for range b.N {
				before := r.Stats().SwapIns
				start := time.Now()
				var sum byte
				for _, page := range seq {
					sum += mem[page*pageSize]
				}
				sink = sum
				elapsed += time.Since(start)
				misses := float64(r.Stats().SwapIns - before)
				hits += float64(reads) - misses
				total += reads
			}
			b.ReportMetric(hits/total*100, "hit%")
			b.ReportMetric(total/elapsed.Seconds(), "reads/s")
		})
	}
}

func probe() error { return available1() }

var sink byte
