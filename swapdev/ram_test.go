package swapdev

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pierrec/lz4/v4"

	"uswap/ksync"
	"uswap/workload"
)

func page(idx uint64, p workload.Pattern) []byte {
	b := make([]byte, PageSize)
	workload.FillPage(b, idx, p)
	return b
}

func sameFilledPage(v uint64) []byte {
	b := make([]byte, PageSize)
	fillPage(b, v)
	return b
}

func TestRAMRoundTrip(t *testing.T) {
	random := make([]byte, PageSize)
	rand.Read(random)
	for _, comp := range Compressors {
		t.Run(comp, func(t *testing.T) {
			task := ksync.NewTask("test", 0)
			z, err := NewRAM("zram0", 64, comp)
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			cases := []struct {
				name string
				page []byte
			}{
				{"zero", make([]byte, PageSize)},
				{"same-filled", sameFilledPage(0xdeadbeefcafef00d)},
				{"zero pattern", page(7, workload.Zero)}, // index in word 0: not same-filled
				{"mixed", page(3, workload.Mixed)},
				{"workload random", page(4, workload.Random)},
				{"crypto random", random},
			}
			for i, c := range cases {
				if err := z.WritePage(task, uint64(i+1), c.page); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			got := make([]byte, PageSize)
			for i, c := range cases {
				if err := z.ReadPage(task, uint64(i+1), got); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if !bytes.Equal(got, c.page) {
					t.Errorf("%s: read back differs", c.name)
				}
			}
			// Never written: zeros, like zram.
			got[5] = 1
			if err := z.ReadPage(task, 40, got); err != nil || !bytes.Equal(got, make([]byte, PageSize)) {
				t.Errorf("unwritten slot: err %v, zero %v", err, bytes.Equal(got, make([]byte, PageSize)))
			}
			m := z.MMStat()
			if m.SamePages != 2 || m.HugePages != 2 || m.HugePagesSince != 2 || m.PagesStored != 6 {
				t.Errorf("mm_stat %+v: want 2 same, 2 huge, 6 stored", m)
			}
			if m.OrigDataSize != 6*PageSize {
				t.Errorf("orig_data_size %d, want %d", m.OrigDataSize, 6*PageSize)
			}
			// Two huge pages of PageSize, plus two compressible ones.
			if m.ComprDataSize <= 2*PageSize || m.ComprDataSize >= 4*PageSize {
				t.Errorf("compr_data_size %d, want between %d and %d", m.ComprDataSize, 2*PageSize, 4*PageSize)
			}
			if m.MemUsedTotal < m.ComprDataSize || m.MemUsedMax < m.MemUsedTotal {
				t.Errorf("mem_used_total %d, mem_used_max %d, compr %d", m.MemUsedTotal, m.MemUsedMax, m.ComprDataSize)
			}
			if f := strings.Fields(m.String()); len(f) != 9 || f[0] != fmt.Sprint(m.OrigDataSize) || f[5] != "2" {
				t.Errorf("mm_stat line %q", m.String())
			}
			// Overwrite a huge page with a same-filled one: counters move.
			if err := z.WritePage(task, 5, make([]byte, PageSize)); err != nil {
				t.Fatal(err)
			}
			if m := z.MMStat(); m.SamePages != 3 || m.HugePages != 1 || m.PagesStored != 6 {
				t.Errorf("after overwrite: %+v", m)
			}
			io := z.IOStat()
			if io.NumWrites != 7 || io.NumReads != 7 || io.FailedReads != 0 {
				t.Errorf("io_stat %+v", io)
			}
		})
	}
}

func TestRAMMixedCompresses(t *testing.T) {
	for _, comp := range Compressors {
		task := ksync.NewTask("test", 0)
		z, err := NewRAM("zram0", 1024, comp)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(0); i < 1024; i++ {
			if err := z.WritePage(task, i, page(i, workload.Mixed)); err != nil {
				t.Fatal(err)
			}
		}
		m := z.MMStat()
		if m.HugePages != 0 || m.SamePages != 0 || m.ComprDataSize >= m.OrigDataSize/2 {
			t.Errorf("%s: mixed pages: %+v", comp, m)
		}
		t.Logf("%s: mixed page compresses to %d bytes on average; pool %d bytes for %d stored", comp, m.ComprDataSize/1024, m.MemUsedTotal, m.OrigDataSize)
		z.Close()
	}
}

func TestRAMDiscardFreesPool(t *testing.T) {
	task := ksync.NewTask("test", 0)
	z, err := NewRAM("zram0", 4096, "lz4")
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for i := uint64(0); i < 4096; i++ {
		p := workload.Mixed
		if i%4 == 0 {
			p = workload.Random
		}
		if err := z.WritePage(task, i, page(i, p)); err != nil {
			t.Fatal(err)
		}
	}
	peak := z.MMStat()
	if peak.MemUsedTotal < peak.ComprDataSize {
		t.Fatalf("pool %d < data %d", peak.MemUsedTotal, peak.ComprDataSize)
	}
	for i := uint64(0); i < 4096; i++ {
		z.Discard(task, i)
	}
	m := z.MMStat()
	if m.PagesStored != 0 || m.ComprDataSize != 0 || m.HugePages != 0 {
		t.Errorf("after discarding everything: %+v", m)
	}
	// What remains is the one spare chunk each class keeps.
	spares := 0
	for i := range z.pool.classes {
		c := &z.pool.classes[i]
		if c.spare != zsNone {
			spares++
		}
		if c.nrChunks > 1 || (c.nrChunks == 1) != (c.spare != zsNone) {
			t.Errorf("class %d: %d chunks after discarding everything, spare %d", c.size, c.nrChunks, c.spare)
		}
	}
	if m.MemUsedTotal != uint64(spares)*uint64(z.pool.chunkSize) || m.MemUsedTotal > peak.MemUsedTotal/10 || m.MemUsedMax != peak.MemUsedMax {
		t.Errorf("mem_used_total %d after discard (peak %d), want %d spare chunks", m.MemUsedTotal, peak.MemUsedTotal, spares)
	}
	if z.IOStat().NotifyFree != 4096 {
		t.Errorf("notify_free %d, want 4096", z.IOStat().NotifyFree)
	}
	got := make([]byte, PageSize)
	if err := z.ReadPage(task, 9, got); err != nil || !bytes.Equal(got, make([]byte, PageSize)) {
		t.Errorf("discarded slot does not read as zeros (err %v)", err)
	}
	// Refill reuses the spare chunks and the released chunk indexes.
	for i := uint64(0); i < 4096; i++ {
		if err := z.WritePage(task, i, page(i+1, workload.Mixed)); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint64(0); i < 4096; i += 97 {
		if err := z.ReadPage(task, i, got); err != nil || !bytes.Equal(got, page(i+1, workload.Mixed)) {
			t.Fatalf("slot %d after refill: err %v", i, err)
		}
	}
}

func TestRAMErrors(t *testing.T) {
	task := ksync.NewTask("test", 0)
	if _, err := NewRAM("zram0", 16, "lzo"); err == nil || !strings.Contains(err.Error(), `"lzo"`) || !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown compressor: %v", err)
	}
	if _, err := NewRAM("zram0", 0, "lz4"); !errors.Is(err, ErrInvalid) {
		t.Errorf("0 pages: %v", err)
	}
	z, err := NewRAM("zram7", 16, "")
	if err != nil {
		t.Fatal(err)
	}
	if z.Compressor() != "lz4" {
		t.Errorf("default compressor %q", z.Compressor())
	}
	buf := make([]byte, PageSize)
	for _, err := range []error{z.ReadPage(task, 16, buf), z.WritePage(task, 1<<40, buf)} {
		if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), "zram7") || !strings.Contains(err.Error(), "offset") {
			t.Errorf("out of range: %v", err)
		}
	}
	if err := z.WritePage(task, 1, buf[:100]); !errors.Is(err, ErrBufferSize) {
		t.Errorf("short buffer: %v", err)
	}
	z.Discard(task, 99) // out of range: counted, ignored
	if z.IOStat().InvalidIO != 4 {
		t.Errorf("invalid_io %d, want 4", z.IOStat().InvalidIO)
	}
	z.Close()
	if err := z.ReadPage(task, 1, buf); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestRAMMkswap(t *testing.T) {
	task := ksync.NewTask("test", 0)
	z, _ := NewRAM("zram0", 100, "zstd")
	defer z.Close()
	h, err := MkswapDevice(task, z, MkswapOptions{Label: "zram"})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, PageSize)
	if err := z.ReadPage(task, 0, buf); err != nil {
		t.Fatal(err)
	}
	got, err := ParseHeader(buf, z.Pages())
	if err != nil {
		t.Fatal(err)
	}
	if got.Pages() != 100 || got.Label != "zram" || got.UUID != h.UUID || got.UUID[6]>>4 != 4 {
		t.Errorf("header %+v", got)
	}
	small, _ := NewRAM("zram1", 9, "lz4")
	if _, err := MkswapDevice(task, small, MkswapOptions{}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("9-page device: %v", err)
	}
}

// TestRAMConcurrent runs tasks on distinct CPUs against private slots
// (data must survive) and against shared slots (any read returns one of
// the pages written there, whole).
func TestRAMConcurrent(t *testing.T) {
	for _, comp := range Compressors {
		t.Run(comp, func(t *testing.T) {
			const tasks, private, shared, rounds = 6, 64, 8, 300
			z, err := NewRAM("zram0", tasks*private+shared, comp)
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			// The shared slots hold pages whose every copy carries the
			// same index, so a torn read shows as a mismatch.
			valid := func(b []byte) bool {
				if bytes.Equal(b, make([]byte, PageSize)) {
					return true
				}
				idx := uint64(b[0]) | uint64(b[1])<<8
				for _, p := range []workload.Pattern{workload.Mixed, workload.Random, workload.Zero} {
					if bytes.Equal(b, page(idx, p)) {
						return true
					}
				}
				return false
			}
			var wg sync.WaitGroup
			errs := make(chan error, tasks)
			for w := 0; w < tasks; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					task := ksync.NewTask(fmt.Sprintf("w%d", w), w)
					buf := make([]byte, PageSize)
					base := uint64(w * private)
					for r := 0; r < rounds; r++ {
						off := base + uint64(r%private)
						pat := workload.Pattern(r % 3)
						want := page(uint64(r), pat)
						if err := z.WritePage(task, off, want); err != nil {
							errs <- err
							return
						}
						if err := z.ReadPage(task, off, buf); err != nil || !bytes.Equal(buf, want) {
							errs <- fmt.Errorf("task %d slot %d round %d: err %v, equal %v", w, off, r, err, bytes.Equal(buf, want))
							return
						}
						if r%5 == 0 {
							z.Discard(task, off)
						}
						s := uint64(tasks*private) + uint64(r%shared)
						var err error
						switch r % 3 {
						case 0:
							err = z.WritePage(task, s, page(uint64(w*1000+r), pat))
						case 1:
							err = z.ReadPage(task, s, buf)
							if err == nil && !valid(buf) {
								err = fmt.Errorf("shared slot %d: torn or foreign page", s)
							}
						case 2:
							z.Discard(task, s)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}(w)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// Drain: everything discarded leaves no stored page.
			task := ksync.NewTask("drain", 0)
			for i := uint64(0); i < z.Pages(); i++ {
				z.Discard(task, i)
			}
			if m := z.MMStat(); m.PagesStored != 0 || m.ComprDataSize != 0 || m.SamePages != 0 || m.HugePages != 0 {
				t.Errorf("after draining: %+v", m)
			}
		})
	}
}

func benchPages(n int) [][]byte {
	pages := make([][]byte, n)
	for i := range pages {
		pages[i] = page(uint64(i), workload.Mixed)
	}
	return pages
}

// benchRAM is a 1024-page RAM device with comp, closed when b ends, with
// 1024 mixed pages to write and a task.
func benchRAM(b *testing.B, comp string) (*RAM, [][]byte, *ksync.Task) {
	z, err := NewRAM("zram0", 1024, comp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { z.Close() })
	return z, benchPages(1024), ksync.NewTask("bench", 0)
}

func BenchmarkRAMWritePage(b *testing.B) {
	for _, comp := range Compressors {
		b.Run(comp, func(b *testing.B) {
			z, pages, task := benchRAM(b, comp)
			b.SetBytes(PageSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := z.WritePage(task, uint64(i&1023), pages[i&1023]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			m := z.MMStat()
			b.ReportMetric(float64(m.ComprDataSize)/float64(m.PagesStored), "compr-bytes/page")
		})
	}
}

func BenchmarkRAMReadPage(b *testing.B) {
	for _, comp := range Compressors {
		b.Run(comp, func(b *testing.B) {
			z, pages, task := benchRAM(b, comp)
			for i, p := range pages {
				z.WritePage(task, uint64(i), p)
			}
			buf := make([]byte, PageSize)
			b.SetBytes(PageSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := z.ReadPage(task, uint64(i&1023), buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLZ4CompressOnly(b *testing.B) {
	pages := benchPages(1024)
	var c lz4.Compressor
	dst := make([]byte, lz4.CompressBlockBound(PageSize))
	var total int
	b.SetBytes(PageSize)
	for i := 0; i < b.N; i++ {
		n, err := c.CompressBlock(pages[i&1023], dst)
		if err != nil || n == 0 {
			b.Fatal(n, err)
		}
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "compr-bytes/page")
}

func BenchmarkLZ4DecompressOnly(b *testing.B) {
	pages := benchPages(1024)
	var c lz4.Compressor
	comp := make([][]byte, len(pages))
	for i, p := range pages {
		dst := make([]byte, lz4.CompressBlockBound(PageSize))
		n, _ := c.CompressBlock(p, dst)
		comp[i] = dst[:n]
	}
	out := make([]byte, PageSize)
	b.SetBytes(PageSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n, err := lz4.UncompressBlock(comp[i&1023], out); err != nil || n != PageSize {
			b.Fatal(n, err)
		}
	}
}
