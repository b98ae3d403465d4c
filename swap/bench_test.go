package swap

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"uswap/design"
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

// forDesignsGoroutines is forGoroutines in each design.
func forDesignsGoroutines(b *testing.B, fn func(b *testing.B, d design.Design, g int)) {
	for _, d := range design.All() {
		b.Run("design="+d.String(), func(b *testing.B) {
			forGoroutines(b, func(b *testing.B, g int) { fn(b, d, g) })
		})
	}
}

// BenchmarkAllocFree is one slot allocated and freed per operation:
// getSwapEntry (the allocation half of folio_alloc_swap) and
// put_swap_folio, in the classic design (whose allocator can pin a slot
// without a folio; BenchmarkFolioAllocSwap is the same in both designs).
func BenchmarkAllocFree(b *testing.B) {
	forGoroutines(b, func(b *testing.B, g int) {
		r := newRig(b, 1, benchDevicePages)
		runParallel(b, g, func(t *ksync.Task) func() {
			return func() {
				e := r.c.getSwapEntry(t, nil)
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
// operation: FolioAllocSwap (slot, swap cache) and SwapCacheDelFolio.
func BenchmarkFolioAllocSwap(b *testing.B) {
	forDesignsGoroutines(b, func(b *testing.B, d design.Design, g int) {
		r := newRigDesign(b, d, g, benchDevicePages)
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
				r.c.SwapCacheDelFolio(t, f)
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

// BenchmarkDuplicateFree is fork's and zap's count changes of an entry
// per operation (swap_dup_entry_direct and swap_put_entries_direct;
// classic: swap_duplicate and free_swap_and_cache); each goroutine has its
// own entry (in its own cluster).
func BenchmarkDuplicateFree(b *testing.B) {
	forDesignsGoroutines(b, func(b *testing.B, d design.Design, g int) {
		r := newRigDesign(b, d, 1, benchDevicePages)
		var entries []mem.SwpEntry
		runParallel(b, g, func(t *ksync.Task) func() {
			e := r.allocSlot(t)
			entries = append(entries, e)
			return func() {
				if err := r.c.SwapDupEntryDirect(t, e); err != nil {
					panic(err)
				}
				r.c.SwapPutEntriesDirect(t, e)
			}
		})
		b.StopTimer()
		for _, e := range entries {
			if got := r.slot(e); got != "count 1" {
				b.Fatalf("%v: slot %s after the benchmark", e, got)
			}
			r.free(e)
		}
		r.audit()
	})
}

// metadataPerSlot is the swap core's memory per slot of a device of
// pages slots in design d, from the sizes of the real structures: what
// swapon allocates for every slot (the classic design's swap_map byte; the
// cluster, with its list links, over its 512 slots), the device's
// SwapInfo and the Core (per-CPU clusters, list heads) spread over the
// device; and for a slot of a cluster in use, its share of the cluster's
// table too. Continuation pages and extend tables (only for large counts)
// are not counted.
func metadataPerSlot(d design.Design, pages uint64) (free, used float64) {
	perDevice := float64(unsafe.Sizeof(SwapInfo{}) + unsafe.Sizeof(Core{}))
	free = float64(unsafe.Sizeof(cluster{}))/ClusterSize + perDevice/float64(pages)
	table := unsafe.Sizeof(swapTable{})
	if d == design.Classic {
		free++
		table = unsafe.Sizeof(clusterTable{})
	}
	used = free + float64(table)/ClusterSize
	return free, used
}

// BenchmarkMetadataPerSlot reports metadataPerSlot for a 1 GiB device.
func BenchmarkMetadataPerSlot(b *testing.B) {
	for _, d := range design.All() {
		b.Run("design="+d.String(), func(b *testing.B) {
			free, used := metadataPerSlot(d, 1<<18)
			for range b.N {
			}
			b.ReportMetric(free, "B/free-slot")
			b.ReportMetric(used, "B/used-slot")
		})
	}
}

// TestMetadataPerSlot checks the target of at most 2 bytes of metadata per
// unused slot on a 1 GiB device in both designs, that the table design
// keeps less than the classic one for an unused slot (it has no swap_map),
// and logs the figures, and those of smaller devices, where the fixed
// SwapInfo and Core (per-CPU clusters, padded per-CPU statistics; one
// Core serves every device) weigh more.
func TestMetadataPerSlot(t *testing.T) {
	t.Logf("cluster %d B, classic table %d B, swap table %d B, extend table %d B; fixed: SwapInfo %d B, Core %d B",
		unsafe.Sizeof(cluster{}), unsafe.Sizeof(clusterTable{}), unsafe.Sizeof(swapTable{}), unsafe.Sizeof(extendTable{}),
		unsafe.Sizeof(SwapInfo{}), unsafe.Sizeof(Core{}))
	for _, d := range design.All() {
		for _, pages := range []uint64{1 << 18, 1 << 16, 1 << 14} {
			free, used := metadataPerSlot(d, pages)
			t.Logf("%s, %d MiB device: %.3f B per free slot, %.3f B per slot of a cluster in use", d, pages>>8, free, used)
			if pages == 1<<18 && free > 2 {
				t.Errorf("%s, 1 GiB device: %.3f bytes of metadata per free slot, target at most 2", d, free)
			}
		}
	}
	cf, _ := metadataPerSlot(design.Classic, 1<<18)
	tf, _ := metadataPerSlot(design.Table, 1<<18)
	if tf >= cf {
		t.Errorf("table design keeps %.3f B per free slot, classic %.3f", tf, cf)
	}
}

// BenchmarkAllocFreeBatch allocates a batch of 1024 slots, then frees
// them, and reports the cost per slot: how swap-out and swap-in streams
// use the allocator, a cluster filling and emptying in turn, so that
// cluster list moves are amortized over 512 slots. Classic design (its
// allocator pins a slot without a folio).
func BenchmarkAllocFreeBatch(b *testing.B) {
	const batch = 1024
	forGoroutines(b, func(b *testing.B, g int) {
		r := newRig(b, 1, benchDevicePages)
		runParallel(b, g, func(t *ksync.Task) func() {
			entries := make([]mem.SwpEntry, 0, batch)
			return func() {
				entries = entries[:0]
				for range batch {
					e := r.c.getSwapEntry(t, nil)
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
