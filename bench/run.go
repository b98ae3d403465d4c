package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"uswap/swapdev"
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
//
// ctx stops the work at a clean point (checked every stopBatch pages
// in every goroutine): the report then covers what ran, with Interrupted
// set. Whatever the engine changed on the host (opts.Undo) is undone
// before Run returns, on every way out, a panic included.
func Run(ctx context.Context, engine Engine, opts Options, progress Progress) (rep *Report, err error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = noProgress{}
	}
	if opts.Undo == nil {
		opts.Undo = new(Undo)
	}
	defer func() {
		if uerr := opts.Undo.Run(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("%s engine: restoring the host: %w", engine.Name(), uerr))
		}
	}()
	defer func() {
		if rep != nil && err == nil {
			rep.Bound, err = measureBound(rep)
		}
	}()
	if r, ok := engine.(Runner); ok {
		return r.RunWorkload(ctx, opts, progress)
	}
	mem, err := engine.Setup(opts)
	if err != nil {
		return nil, fmt.Errorf("%s engine: %w", engine.Name(), err)
	}
	rep, err = RunOn(ctx, mem, opts, progress)
	if terr := engine.Teardown(); err == nil && terr != nil {
		err = fmt.Errorf("%s engine: teardown: %w", engine.Name(), terr)
	}
	if rep != nil {
		rep.Engine = engine.Name()
	}
	return rep, err
}

// measureBound measures, right after a run, its compressor's own cost
// on the run's pages (uswap's implementation of it, also for the kernel
// engine, whose lz4 is the kernel's), and sets the run beside it. A run
// on a swap file, or with a compressor uswap lacks, has none.
func measureBound(rep *Report) (*Bound, error) {
	o := rep.Options
	if o.Device != DeviceRAM || !slices.Contains(swapdev.Compressors, o.Comp) {
		return nil, nil
	}
	cc, err := MeasureCompCost(o.Comp, o.Pattern, o.Pages())
	if err != nil {
		return nil, err
	}
	return boundOf(rep, cc), nil
}

// RunOn does the work on mem, already set up, until done or ctx is done
// (Report.Interrupted).
func RunOn(ctx context.Context, mem Memory, opts Options, progress Progress) (*Report, error) {
	if progress == nil {
		progress = noProgress{}
	}
	pages := opts.Pages()
	order := Order(pages, opts.Random)
	before := mem.Counters()
	rep := &Report{Options: opts, Pages: pages}
	defer func() {
		rep.Counters = mem.Counters().Sub(before)
		rep.Device = mem.Device()
	}()
	fill, err := fillAll(ctx, mem, pages, progress)
	if err != nil {
		return nil, err
	}
	rep.Fill = fill
	if fill.Pages < pages {
		rep.Interrupted = true
		return rep, nil
	}
	hist := newHistogram()
	for k := 0; k < opts.Passes && !rep.Interrupted; k++ {
		ph, bad, h, err := pass(ctx, mem, order, opts, k, progress)
		if err != nil {
			return nil, err
		}
		rep.Passes = append(rep.Passes, ph)
		rep.Corrupt += bad
		hist.Merge(h)
		rep.Interrupted = ph.Pages < pages
	}
	if mr, ok := mem.(MetadataReporter); ok {
		md := mr.Metadata()
		rep.Metadata = &md
	}
	rep.PagesPerS = medianRate(rep.Passes, pages)
	rep.Latency = latencyOf(hist)
	rep.CPU, rep.CPUPerPageNs = passesCPU(rep.Passes, pages)
	return rep, nil
}

// passesCPU is the CPU time of the complete passes (of pages pages), and
// its user and system time per page visited.
func passesCPU(passes []Phase, pages uint64) (CPUUse, float64) {
	var cpu CPUUse
	var visited uint64
	for _, p := range passes {
		if p.Pages == pages {
			cpu = cpu.add(p.CPU)
			visited += p.Pages
		}
	}
	if visited == 0 {
		return cpu, 0
	}
	return cpu, cpu.Total() * 1e9 / float64(visited)
}

// stopBatch is how many pages a goroutine visits between two looks at
// its context.
const stopBatch = 64

// stopped reports, every stopBatch pages, whether ctx is done.
func stopped(ctx context.Context, n uint64) bool {
	return n%stopBatch == stopBatch-1 && ctx.Err() != nil
}

// fillAll fills every page in index order.
func fillAll(ctx context.Context, mem Memory, pages uint64, progress Progress) (Phase, error) {
	progress.Phase("fill", int64(pages))
	defer progress.Done()
	meter := startPhase(mem)
	start := time.Now()
	i := uint64(0)
	for ; i < pages; i++ {
		if err := mem.Fill(i); err != nil {
			return Phase{}, fmt.Errorf("fill page %d: %w", i, err)
		}
		if i%progressBatch == progressBatch-1 {
			progress.Add(progressBatch)
		}
		if stopped(ctx, i) {
			i++
			break
		}
	}
	return meter.end(newPhase(i, time.Since(start))), nil
}

// pass makes pass k: each goroutine walks its part of order, visiting
// and timing every page. It returns the phase, the failed checks and the
// pass's latency histogram. A panic in a walker is returned as an error,
// so that the run's clean-up still happens.
func pass(ctx context.Context, mem Memory, order []uint64, opts Options, k int, progress Progress) (Phase, uint64, *hdrhistogram.Histogram, error) {
	progress.Phase(fmt.Sprintf("pass %d", k), int64(len(order)))
	defer progress.Done()
	type result struct {
		bad, visited uint64
		hist         *hdrhistogram.Histogram
		err          error
	}
	results := make([]result, opts.Threads)
	var wg sync.WaitGroup
	meter := startPhase(mem)
	start := time.Now()
	for t := range opts.Threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[t]
			defer func() {
				if p := recover(); p != nil {
					r.err = fmt.Errorf("walker %d panicked: %v\n%s", t, p, debug.Stack())
				}
			}()
			r.hist = newHistogram()
			r.visited, r.bad, r.err = walk(ctx, threadMemory(mem, t), Split(order, t, opts.Threads), opts.Write, r.hist, progress)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	ph := meter.end(newPhase(0, elapsed))
	hist := newHistogram()
	var bad, visited uint64
	for _, r := range results {
		if r.err != nil {
			return Phase{}, 0, nil, r.err
		}
		bad += r.bad
		visited += r.visited
		hist.Merge(r.hist)
	}
	full := newPhase(visited, elapsed)
	full.CPU, full.Pswpin, full.Pswpout = ph.CPU, ph.Pswpin, ph.Pswpout
	return full, bad, hist, nil
}

// threadMemory is the Memory goroutine k uses.
func threadMemory(mem Memory, k int) Memory {
	if th, ok := mem.(Threaded); ok {
		return th.Thread(k)
	}
	return mem
}

// walk is usemem.c's walk(): visit every page of part, counting failed
// checks, recording each visit's duration, until done or ctx is done. It
// returns the pages visited and the failed checks.
func walk(ctx context.Context, mem Memory, part []uint64, write bool, hist *hdrhistogram.Histogram, progress Progress) (uint64, uint64, error) {
	var bad, n uint64
	for _, idx := range part {
		t0 := time.Now()
		ok, err := mem.Visit(idx, write)
		d := time.Since(t0)
		if err != nil {
			return n, bad, fmt.Errorf("visit page %d: %w", idx, err)
		}
		if !ok {
			bad++
		}
		_ = hist.RecordValue(max(int64(d), 1))
		if n%progressBatch == progressBatch-1 {
			progress.Add(progressBatch)
		}
		n++
		if stopped(ctx, n-1) {
			break
		}
	}
	return n, bad, nil
}

// medianRate is usemem's result: the rates of the complete passes (of
// pages pages) sorted, element n/2.
func medianRate(passes []Phase, pages uint64) float64 {
	var rates []float64
	for _, p := range passes {
		if p.Pages == pages {
			rates = append(rates, p.PagesPerS)
		}
	}
	if len(rates) == 0 {
		return 0
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}
