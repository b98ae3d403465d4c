package bench

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"uswap/workload"
)

// progressBatch is how many pages a goroutine visits between two reports
// to Progress.
const progressBatch = 1024

// Order is usemem's visit order for pages pages: 0..pages-1, or with
// random a Fisher–Yates shuffle driven by splitmix64 seeded with 42.
func Order(pages uint64, random bool) []uint64 {
	order := make([]uint64, pages)
	for i := range order {
		order[i] = uint64(i)
	}
	if random && pages > 0 {
		s := uint64(42)
		for i := pages - 1; i > 0; i-- {
			k := workload.SplitMix64(&s) % (i + 1)
			order[i], order[k] = order[k], order[i]
		}
	}
	return order
}

// Split is the part of order thread t of threads walks, as in usemem.c:
// positions pages*t/T .. pages*(t+1)/T-1.
func Split(order []uint64, t, threads int) []uint64 {
	n := uint64(len(order))
	return order[n*uint64(t)/uint64(threads) : n*uint64(t+1)/uint64(threads)]
}

// newHistogram is a fault-latency histogram in nanoseconds, 1 ns to 100 s
// with three significant figures.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(100*time.Second), 3)
}

// Run does usemem's work on engine: fill every page in index order, then
// opts.Passes passes in usemem's order split over opts.Threads
// goroutines, timing every visit into a latency histogram. progress may
// be nil.
func Run(engine Engine, opts Options, progress Progress) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = noProgress{}
	}
	if r, ok := engine.(Runner); ok {
		return r.RunWorkload(opts, progress)
	}
	mem, err := engine.Setup(opts)
	if err != nil {
		return nil, fmt.Errorf("%s engine: %w", engine.Name(), err)
	}
	rep, err := RunOn(mem, opts, progress)
	if terr := engine.Teardown(); err == nil && terr != nil {
		err = fmt.Errorf("%s engine: teardown: %w", engine.Name(), terr)
	}
	if rep != nil {
		rep.Engine = engine.Name()
	}
	return rep, err
}

// RunOn does the work on mem, already set up.
func RunOn(mem Memory, opts Options, progress Progress) (*Report, error) {
	if progress == nil {
		progress = noProgress{}
	}
	pages := opts.Pages()
	order := Order(pages, opts.Random)
	before := mem.Counters()
	rep := &Report{Options: opts, Pages: pages}

	fill, err := fillAll(mem, pages, progress)
	if err != nil {
		return nil, err
	}
	rep.Fill = fill
	hist := newHistogram()
	for k := 0; k < opts.Passes; k++ {
		ph, bad, h, err := pass(mem, order, opts, k, progress)
		if err != nil {
			return nil, err
		}
		rep.Passes = append(rep.Passes, ph)
		rep.Corrupt += bad
		hist.Merge(h)
	}
	rep.PagesPerS = medianRate(rep.Passes)
	rep.Latency = latencyOf(hist)
	rep.Counters = mem.Counters().Sub(before)
	rep.Device = mem.Device()
	return rep, nil
}

// fillAll fills every page in index order.
func fillAll(mem Memory, pages uint64, progress Progress) (Phase, error) {
	progress.Phase("fill", int64(pages))
	defer progress.Done()
	start := time.Now()
	for i := uint64(0); i < pages; i++ {
		if err := mem.Fill(i); err != nil {
			return Phase{}, fmt.Errorf("fill page %d: %w", i, err)
		}
		if i%progressBatch == progressBatch-1 {
			progress.Add(progressBatch)
		}
	}
	return newPhase(pages, time.Since(start)), nil
}

// pass makes pass k: each goroutine walks its part of order, visiting
// and timing every page. It returns the phase, the failed checks and the
// pass's latency histogram.
func pass(mem Memory, order []uint64, opts Options, k int, progress Progress) (Phase, uint64, *hdrhistogram.Histogram, error) {
	progress.Phase(fmt.Sprintf("pass %d", k), int64(len(order)))
	defer progress.Done()
	type result struct {
		bad  uint64
		hist *hdrhistogram.Histogram
		err  error
	}
	results := make([]result, opts.Threads)
	var wg sync.WaitGroup
	start := time.Now()
	for t := range opts.Threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[t]
			r.hist = newHistogram()
			r.bad, r.err = walk(threadMemory(mem, t), Split(order, t, opts.Threads), opts.Write, r.hist, progress)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	hist := newHistogram()
	var bad uint64
	for _, r := range results {
		if r.err != nil {
			return Phase{}, 0, nil, r.err
		}
		bad += r.bad
		hist.Merge(r.hist)
	}
	return newPhase(uint64(len(order)), elapsed), bad, hist, nil
}

// threadMemory is the Memory goroutine k uses.
func threadMemory(mem Memory, k int) Memory {
	if th, ok := mem.(Threaded); ok {
		return th.Thread(k)
	}
	return mem
}

// walk is usemem.c's walk(): visit every page of part, counting failed
// checks, recording each visit's duration.
func walk(mem Memory, part []uint64, write bool, hist *hdrhistogram.Histogram, progress Progress) (uint64, error) {
	var bad uint64
	for n, idx := range part {
		t0 := time.Now()
		ok, err := mem.Visit(idx, write)
		d := time.Since(t0)
		if err != nil {
			return bad, fmt.Errorf("visit page %d: %w", idx, err)
		}
		if !ok {
			bad++
		}
		_ = hist.RecordValue(max(int64(d), 1))
		if n%progressBatch == progressBatch-1 {
			progress.Add(progressBatch)
		}
	}
	return bad, nil
}

// medianRate is usemem's result: the rates sorted, element passes/2.
func medianRate(passes []Phase) float64 {
	if len(passes) == 0 {
		return 0
	}
	rates := make([]float64, len(passes))
	for i, p := range passes {
		rates[i] = p.PagesPerS
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}
