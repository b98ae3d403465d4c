package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"

	"uswap/swapdev"
	"uswap/workload"
)

// CompCost is the compressor's own cost on a sample of a run's pages,
// with the very code uswap's RAM device runs (swapdev.Codec), timed in
// the measuring thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which other
// processes barely move.
type CompCost struct {
	Comp string `json:"comp"`
	Impl string `json:"impl"` // the implementation: a Go module and version, or a C library
	// Pages is the sample: pages spread evenly over the working set, with
	// its content pattern. SamePages of them are same-filled, which the
	// device stores as their fill word without compressing: they count
	// as costing nothing.
	Pages     int `json:"pages"`
	SamePages int `json:"same_pages"`
	// CompressNs and DecompressNs are per sample page, the median of
	// compRounds rounds over the sample.
	CompressNs   float64 `json:"compress_ns"`
	DecompressNs float64 `json:"decompress_ns"`
	// Ratio is page bytes over compressed bytes, over the compressed
	// pages.
	Ratio float64 `json:"ratio"`
}

// Bound sets a run beside what its compressor's cost allows.
type Bound struct {
	CompCost
	// CompSeconds is the compressor's work in the complete passes: their
	// pages swapped out times CompressNs plus swapped in times
	// DecompressNs.
	CompSeconds float64 `json:"comp_seconds"`
	// CoresUsed is the passes' CPU time over their wall time.
	CoresUsed float64 `json:"cores_used"`
	// OfBound is CompSeconds over the passes' CPU time: the share of the
	// engine's CPU time that the compressor's own work would take, which
	// is the run's pages/s as a fraction of what the compressor's cost
	// allows on the cores it used (1 for an engine that costs nothing
	// beyond its compressor).
	OfBound float64 `json:"of_bound"`
	// PagesPerS is that bound: the run's pages/s over OfBound.
	PagesPerS float64 `json:"bound_pages_per_s"`
}

// compSample and compRounds size the measurement: 2048 pages (8 MiB, more
// than the caches hold, as a swap workload's pages are) five times over,
// some 50 ms with lz4.
const (
	compSample = 2048
	compRounds = 5
)

// MeasureCompCost measures compressor comp on a sample of the pages of
// a working set of pages pages filled with pattern.
func MeasureCompCost(comp, pattern string, pages uint64) (CompCost, error) {
	p, err := workload.ParsePattern(pattern)
	if err != nil {
		return CompCost{}, err
	}
	codec, err := swapdev.NewCodec(comp)
	if err != nil {
		return CompCost{}, err
	}
	defer codec.Close()
	n := min(uint64(compSample), pages)
	if n == 0 {
		return CompCost{}, fmt.Errorf("compressor cost: no pages")
	}
	cc := CompCost{Comp: codec.Name(), Impl: codec.Impl(), Pages: int(n)}
	src := make([][]byte, 0, n)
	for k := range n {
		page := make([]byte, PageSize)
		workload.FillPage(page, k*pages/n, p)
		if sameFilled(page) {
			cc.SamePages++
			continue
		}
		src = append(src, page)
	}
	if len(src) == 0 {
		return cc, nil
	}
	// Each page decompresses into a page of its own, as swap-ins go into
	// frames of the pool, not into one buffer that stays in cache.
	comp2 := make([][]byte, len(src))
	out := make([][]byte, len(src))
	for i := range out {
		out[i] = make([]byte, PageSize)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cns, dns []float64
	var inBytes, outBytes int
	for r := range compRounds {
		t0 := threadCPU()
		for i, page := range src {
			c, err := codec.Compress(page)
			if err != nil {
				return cc, fmt.Errorf("compressor cost: %s: %w", comp, err)
			}
			if r == 0 {
				comp2[i] = append([]byte(nil), c...)
				inBytes += PageSize
				outBytes += len(c)
			}
		}
		t1 := threadCPU()
		for i := range src {
			if err := codec.Decompress(comp2[i], out[i]); err != nil {
				return cc, fmt.Errorf("compressor cost: %s: %w", comp, err)
			}
		}
		t2 := threadCPU()
		cns = append(cns, float64(t1-t0)/float64(n))
		dns = append(dns, float64(t2-t1)/float64(n))
	}
	cc.CompressNs, cc.DecompressNs = median(cns), median(dns)
	cc.Ratio = float64(inBytes) / float64(outBytes)
	return cc, nil
}

// threadCPU is the calling thread's CPU time in nanoseconds.
func threadCPU() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// sameFilled is the RAM device's same-filled test: every word equal.
func sameFilled(page []byte) bool {
	v := binary.LittleEndian.Uint64(page)
	for i := 8; i < len(page); i += 8 {
		if binary.LittleEndian.Uint64(page[i:]) != v {
			return false
		}
	}
	return true
}

// median is the middle value of xs (the mean of the two middle ones for
// an even count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// boundOf sets rep's complete passes beside the compressor cost cc, or
// returns nil when the compressor has nothing to do.
func boundOf(rep *Report, cc CompCost) *Bound {
	if cc.CompressNs == 0 && cc.DecompressNs == 0 {
		return nil
	}
	b := &Bound{CompCost: cc}
	var cpu, wall float64
	for _, p := range rep.Passes {
		if p.Pages != rep.Pages {
			continue
		}
		b.CompSeconds += (float64(p.Pswpout)*cc.CompressNs + float64(p.Pswpin)*cc.DecompressNs) / 1e9
		cpu += p.CPU.Total()
		wall += p.Seconds
	}
	if cpu <= 0 || wall <= 0 {
		return nil
	}
	b.CoresUsed = cpu / wall
	b.OfBound = b.CompSeconds / cpu
	if b.OfBound > 0 {
		b.PagesPerS = rep.PagesPerS / b.OfBound
	}
	return b
}
