package swap

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"uswap/ksync"
	"uswap/mem"
)

// benchDevicePages is the size of the benchmarks' device: 64 clusters.
const benchDevicePages = 64 * ClusterSize

// runParallel splits b.N operations over g goroutines, each with a task on
// a CPU of its own; setup runs on each task before the timer starts.
func runParallel(b *testing.B, g int, setup func(t *ksync.Task) func()) {
	ops := make([]func(), g)
	tasks := make([]*ksync.Task, g)
	for i := range g {
		tasks[i] = ksync.NewTask(fmt.Sprintf("bench%d", i), i)
	}
	var wg sync.WaitGroup
	b.ResetTimer()
	b.StopTimer()
	for i := range g {
		ops[i] = setup(tasks[i])
	}
	b.StartTimer()
	for i := range g {
		n := b.N / g
		if i == 0 {
			n += b.N % g
		}
		wg.Add(1)
		go func(op func(), n int) {
			defer wg.Done()
			for range n {
				op()
			}
		}(ops[i], n)
	}
	wg.Wait()
}

func forGoroutines(b *testing.B, fn func(b *testing.B, g int)) {
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) { fn(b, g) })
	}
}

// BenchmarkAllocFree is one slot allocated and freed per operation:
// getSwapEntry (the allocation half of folio_alloc_swap) and
// put_swap_folio.
func BenchmarkAllocFree(b *testing.B) {
	forGoroutines(b, func(b *testing.B, g int) {
		r := newRig(b, 1, benchDevicePages)
		runParallel(b, g, func(t *ksync.Task) func() {
			return func() {
				e := r.c.getSwapEntry(t)
				if e == 0 {
					panic("no slot")
				}
				r.c.PutSwapFolio(t, e)
			}
		})
		b.StopTimer()
		r.audit()
	})
}

// BenchmarkFolioAllocSwap is the whole of add_to_swap and its undo per
// operation: FolioAllocSwap (slot, swap cache) and DeleteFromSwapCache.
func BenchmarkFolioAllocSwap(b *testing.B) {
	forGoroutines(b, func(b *testing.B, g int) {
		r := newRig(b, g, benchDevicePages)
		var folios []*mem.Folio
		runParallel(b, g, func(t *ksync.Task) func() {
			f := r.pool.Alloc(t)
			f.Flags.Set(t, mem.PGSwapBacked)
			f.Lock(t)
			folios = append(folios, f)
			return func() {
				if _, err := r.c.FolioAllocSwap(t, f, nil); err != nil {
					panic(err)
				}
				r.c.DeleteFromSwapCache(t, f)
			}
		})
		b.StopTimer()
		for _, f := range folios {
			f.Unlock(r.t)
			f.Put(r.t)
		}
		r.audit()
	})
}

// BenchmarkDuplicateFree is swap_duplicate and swap_free of an entry
// per operation; each goroutine has its own entry (in its own cluster).
func BenchmarkDuplicateFree(b *testing.B) {
	forGoroutines(b, func(b *testing.B, g int) {
		r := newRig(b, 1, benchDevicePages)
		var entries []mem.SwpEntry
		runParallel(b, g, func(t *ksync.Task) func() {
			e := r.allocSlot(t)
			entries = append(entries, e)
			return func() {
				if err := r.c.SwapDuplicate(t, e); err != nil {
					panic(err)
				}
				r.c.SwapFree(t, e)
			}
		})
		b.StopTimer()
		for _, e := range entries {
			if r.mapByte(e) != 1 {
				b.Fatalf("%v: map %#x after the benchmark", e, r.mapByte(e))
			}
			r.c.SwapFree(r.t, e)
		}
		r.audit()
	})
}

// metadataPerSlot is the swap core's memory per slot of a device of
// pages slots, from the sizes of the real structures: the swap_map byte,
// the cluster (with its list links) over its 512 slots, the device's
// SwapInfo and the Core (per-CPU clusters, lists heads) spread over the
// device; and for a slot of a cluster in use, its share of the swap
// table too. Continuation pages (only for counts above SWAP_MAP_MAX)
// are not counted.
func metadataPerSlot(pages uint64) (free, used float64) {
	perDevice := float64(unsafe.Sizeof(SwapInfo{}) + unsafe.Sizeof(Core{}))
	free = 1 + float64(unsafe.Sizeof(cluster{}))/ClusterSize + perDevice/float64(pages)
	used = free + float64(unsafe.Sizeof(clusterTable{}))/ClusterSize
	return free, used
}

// BenchmarkMetadataPerSlot reports metadataPerSlot for a 1 GiB device.
func BenchmarkMetadataPerSlot(b *testing.B) {
	free, used := metadataPerSlot(1 << 18)
	for range b.N {
	}
	b.ReportMetric(free, "B/free-slot")
	b.ReportMetric(used, "B/used-slot")
}

// TestMetadataPerSlot checks the target of at most 2 bytes of metadata per
// unused slot on a 1 GiB device, and logs the figures for smaller ones,
// where the fixed SwapInfo and Core (per-CPU clusters, padded per-CPU
// statistics; one Core serves every device) weigh more.
func TestMetadataPerSlot(t *testing.T) {
	perCluster := 1 + float64(unsafe.Sizeof(cluster{}))/ClusterSize
	t.Logf("per slot without the fixed part: %.3f B free, %.3f B in use (cluster %d B, swap table %d B); fixed: SwapInfo %d B, Core %d B",
		perCluster, perCluster+float64(unsafe.Sizeof(clusterTable{}))/ClusterSize,
		unsafe.Sizeof(cluster{}), unsafe.Sizeof(clusterTable{}), unsafe.Sizeof(SwapInfo{}), unsafe.Sizeof(Core{}))
	for _, pages := range []uint64{1 << 18, 1 << 16, 1 << 14} {
		free, used := metadataPerSlot(pages)
		t.Logf("%d MiB device: %.3f B per free slot, %.3f B per slot of a cluster in use", pages>>8, free, used)
		if pages == 1<<18 && free > 2 {
			t.Errorf("1 GiB device: %.3f bytes of metadata per free slot, target at most 2", free)
		}
	}
}

// BenchmarkAllocFreeBatch allocates a batch of 1024 slots, then frees
// them, and reports the cost per slot: how swap-out and swap-in streams
// use the allocator, a cluster filling and emptying in turn, so that
// cluster list moves are amortized over 512 slots.
func BenchmarkAllocFreeBatch(b *testing.B) {
	const batch = 1024
	forGoroutines(b, func(b *testing.B, g int) {
		r := newRig(b, 1, benchDevicePages)
		runParallel(b, g, func(t *ksync.Task) func() {
			entries := make([]mem.SwpEntry, 0, batch)
			return func() {
				entries = entries[:0]
				for range batch {
					e := r.c.getSwapEntry(t)
					if e == 0 {
						panic("no slot")
					}
					entries = append(entries, e)
				}
				for _, e := range entries {
					r.c.PutSwapFolio(t, e)
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/slot")
		r.audit()
	})
}
