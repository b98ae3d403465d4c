package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"uswap/design"
	"uswap/swapdev"
	"uswap/workload"
)

// TestMain serves the kernel engine's child when re-executed by it.
func TestMain(m *testing.M) {
	if os.Getenv("USWAP_BENCH_CHILD") == "1" {
		if err := ServeChild(context.Background(), os.Stdin, os.Stdout, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// sliceMemory is a plain in-memory Memory: the working set in a byte
// slice, no swap. It records every visit per goroutine-independent page
// and can corrupt one page after the fill.
type sliceMemory struct {
	mem     []byte
	pattern workload.Pattern
	corrupt int64 // page whose first word is damaged after fill, or -1

	mu     sync.Mutex
	visits []uint64 // visit order (meaningful with one thread)
	counts []int
}

func newSliceMemory(t *testing.T, opts Options, corrupt int64) *sliceMemory {
	t.Helper()
	p, err := workload.ParsePattern(opts.Pattern)
	if err != nil {
		t.Fatal(err)
	}
	return &sliceMemory{mem: make([]byte, opts.Pages()*PageSize), pattern: p, corrupt: corrupt, counts: make([]int, opts.Pages())}
}

func (m *sliceMemory) Fill(i uint64) error {
	workload.FillPage(m.mem[i*PageSize:(i+1)*PageSize], i, m.pattern)
	if int64(i) == m.corrupt {
		m.mem[i*PageSize] ^= 0x80
	}
	return nil
}

func (m *sliceMemory) Visit(i uint64, write bool) (bool, error) {
	p := m.mem[i*PageSize:]
	ok := binary.LittleEndian.Uint64(p) == i
	if write {
		p[8] ^= 1
	}
	m.mu.Lock()
	m.visits = append(m.visits, i)
	m.counts[i]++
	m.mu.Unlock()
	return ok, nil
}

func (m *sliceMemory) Counters() Counters  { return Counters{} }
func (m *sliceMemory) Device() DeviceStats { return DeviceStats{Kind: DeviceRAM, Name: "slice"} }

func smallOpts() Options {
	o := DefaultOptions()
	o.SizeMiB, o.LimitMiB, o.Passes = 2, 1, 3
	return o
}

// usememOrderC compiles a harness around usemem.c's own splitmix64 and
// its main()'s shuffle and thread split (copied from usemem.c) and
// returns, per thread, the page order it prints.
func usememOrderC(t *testing.T, pages uint64, random bool, threads int) [][]uint64 {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("gcc not found: %v", err)
	}
	src, err := filepath.Abs("../../shared/bench/usemem.c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Skipf("usemem.c not found: %v", err)
	}
	dir := t.TempDir()
	harness := fmt.Sprintf(`#define main usemem_main
#include %q
#undef main
int main(int argc, char **argv) {
	uint64_t pages = strtoull(argv[1], 0, 10); int rnd = atoi(argv[2]), threads = atoi(argv[3]);
	uint64_t *order = malloc(pages * sizeof *order);
	for (uint64_t i = 0; i < pages; i++)
		order[i] = i;
	if (rnd) {
		uint64_t s = 42;
		for (uint64_t i = pages - 1; i > 0; i--) {
			uint64_t k = splitmix64(&s) %% (i + 1), t = order[i];
			order[i] = order[k];
			order[k] = t;
		}
	}
	for (int t = 0; t < threads; t++) {
		for (uint64_t k = pages * t / threads; k < pages * (t + 1) / threads; k++)
			printf("%%llu ", (unsigned long long)order[k]);
		printf("\n");
	}
	return 0;
}
`, src)
	if err := os.WriteFile(filepath.Join(dir, "h.c"), []byte(harness), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "h")
	if out, err := exec.Command(gcc, "-O1", "-pthread", "-o", bin, filepath.Join(dir, "h.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	r := "0"
	if random {
		r = "1"
	}
	out, err := exec.Command(bin, fmt.Sprint(pages), r, fmt.Sprint(threads)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]uint64
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		var part []uint64
		for _, f := range strings.Fields(line) {
			var v uint64
			fmt.Sscan(f, &v)
			part = append(part, v)
		}
		parts = append(parts, part)
	}
	return parts
}

func TestOrderMatchesUsememC(t *testing.T) {
	for _, random := range []bool{false, true} {
		for threads := 1; threads <= 3; threads++ {
			const pages = 1000
			want := usememOrderC(t, pages, random, threads)
			order := Order(pages, random)
			for th := 0; th < threads; th++ {
				if got := Split(order, th, threads); !slices.Equal(got, want[th]) {
					t.Errorf("random=%v threads=%d thread %d: order differs from usemem.c's", random, threads, th)
				}
			}
		}
	}
}

// TestRunVisitOrder checks that one thread's visits follow Order exactly
// on every pass, and that with several threads every page is visited
// once per pass.
func TestRunVisitOrder(t *testing.T) {
	for _, random := range []bool{false, true} {
		for threads := 1; threads <= 3; threads++ {
			o := smallOpts()
			o.Random, o.Threads = random, threads
			mem := newSliceMemory(t, o, -1)
			rep, err := RunOn(context.Background(), mem, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Corrupt != 0 {
				t.Fatalf("corrupt=%d on a clean memory", rep.Corrupt)
			}
			for i, c := range mem.counts {
				if c != o.Passes {
					t.Fatalf("random=%v threads=%d: page %d visited %d times, want %d", random, threads, i, c, o.Passes)
				}
			}
			if threads == 1 {
				order := Order(o.Pages(), random)
				want := slices.Concat(order, order, order)
				if !slices.Equal(mem.visits, want) {
					t.Fatalf("random=%v: visit order differs from Order", random)
				}
			}
			if rep.Latency.Count != uint64(o.Passes)*o.Pages() {
				t.Errorf("latency count %d, want %d", rep.Latency.Count, uint64(o.Passes)*o.Pages())
			}
		}
	}
}

func TestWriteFlipsBit(t *testing.T) {
	o := smallOpts()
	o.Write, o.Passes = true, 1
	mem := newSliceMemory(t, o, -1)
	if _, err := RunOn(context.Background(), mem, o, nil); err != nil {
		t.Fatal(err)
	}
	page := make([]byte, PageSize)
	for _, i := range []uint64{0, 7, o.Pages() - 1} {
		workload.FillPage(page, i, workload.Mixed)
		if got := mem.mem[i*PageSize+8]; got != page[8]^1 {
			t.Errorf("page %d byte 8 = %#x, want %#x", i, got, page[8]^1)
		}
	}
}

func TestCorruptDetected(t *testing.T) {
	o := smallOpts()
	o.Threads = 2
	rep, err := RunOn(context.Background(), newSliceMemory(t, o, 123), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Corrupt != uint64(o.Passes) {
		t.Fatalf("corrupt=%d, want one per pass (%d)", rep.Corrupt, o.Passes)
	}
	if !strings.HasSuffix(rep.ResultLine(), fmt.Sprintf("corrupt=%d", o.Passes)) {
		t.Fatalf("result line %q", rep.ResultLine())
	}
}

// resultRE is the reference's result line.
var resultRE = regexp.MustCompile(`^result pages_per_s=\d+ pages=\d+ threads=\d+ access=(seq|random) write=[01] pattern=(mixed|zero|random) corrupt=\d+$`)

func TestResultLine(t *testing.T) {
	rep := &Report{Options: smallOpts(), Pages: 262144, PagesPerS: 68814.4}
	want := "result pages_per_s=68814 pages=262144 threads=1 access=seq write=0 pattern=mixed corrupt=0"
	if got := rep.ResultLine(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	rep.Options.Random, rep.Options.Write, rep.Options.Threads, rep.Options.Pattern, rep.Corrupt = true, true, 2, "zero", 3
	want = "result pages_per_s=68814 pages=262144 threads=2 access=random write=1 pattern=zero corrupt=3"
	if got := rep.ResultLine(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if last := lines[len(lines)-1]; !resultRE.MatchString(last) {
		t.Fatalf("last line %q is not a result line", last)
	}
}

func TestMedianRate(t *testing.T) {
	ph := func(r ...float64) []Phase {
		var p []Phase
		for _, x := range r {
			p = append(p, Phase{Pages: 10, PagesPerS: x})
		}
		return p
	}
	if got := medianRate(ph(3, 1, 2), 10); got != 2 {
		t.Errorf("median of 3,1,2 = %v", got)
	}
	if got := medianRate(ph(4, 1), 10); got != 4 { // usemem: rate[passes/2] after sorting
		t.Errorf("median of 4,1 = %v, want 4", got)
	}
	cut := append(ph(4, 1), Phase{Pages: 3, PagesPerS: 9}) // an interrupted pass does not count
	if got := medianRate(cut, 10); got != 4 {
		t.Errorf("median of 4,1 and a partial 9 = %v, want 4", got)
	}
}

func TestPlot(t *testing.T) {
	o := smallOpts()
	a, err := RunOn(context.Background(), newSliceMemory(t, o, -1), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Engine = "kernel"
	b := *a
	b.Engine = "uswap"
	var data strings.Builder
	if err := Plot(&data, a, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(data.String(), "\x89PNG") {
		t.Fatal("not a PNG")
	}
}

func TestValidate(t *testing.T) {
	for _, mod := range []func(*Options){
		func(o *Options) { o.SizeMiB = 0 },
		func(o *Options) { o.Threads = 0 },
		func(o *Options) { o.Threads = 65 },
		func(o *Options) { o.Passes = 0 },
		func(o *Options) { o.Pattern = "ones" },
		func(o *Options) { o.Comp = "gzip" },
		func(o *Options) { o.Device = "tape" },
		func(o *Options) { o.Engine = "bsd" },
		func(o *Options) { o.Design = 9 },
	} {
		o := DefaultOptions()
		mod(&o)
		if o.Validate() == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestReportJSON(t *testing.T) {
	o := smallOpts()
	rep, err := RunOn(context.Background(), newSliceMemory(t, o, -1), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
		t.Fatal(err)
	}
	if back.ResultLine() != rep.ResultLine() || len(back.Passes) != o.Passes || back.Latency.P99 != rep.Latency.P99 {
		t.Fatalf("JSON round trip: %s vs %s", back.ResultLine(), rep.ResultLine())
	}
	for _, key := range []string{`"pswpin"`, `"swap_ra_hit"`, `"pgmajfault"`, `"compr_data_size"`, `"p99_ns"`, `"pages_per_s"`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// TestUswapEngine runs a short bench on uswap's own swap, on a compressed
// RAM device and on a swap file, sequential and random, with threads.
func TestUswapEngine(t *testing.T) {
	if err := UswapAvailable(); err != nil {
		t.Skipf("uswap engine unavailable: %v", err)
	}
	runEngineCases(t, "uswap", 8, []engineCase{
		{DeviceRAM, false, 1, false, design.Classic},
		{DeviceRAM, true, 2, true, design.Table},
		{DeviceFile, false, 2, false, design.Table},
		{DeviceFile, true, 1, true, design.Classic},
	})
}

// engineCase is one short run of an engine's test; design is the uswap
// engine's swap core design.
type engineCase struct {
	device  string
	random  bool
	threads int
	write   bool
	design  design.Design
}

// runEngineCases runs usemem's work on a 16 MiB working set limited to
// limitMiB, two passes, for each case, on a fresh engine of that name,
// and checks that it swapped, that no page came back wrong, that its
// device and CPU time are reported (and for uswap the swap core's
// metadata in the case's design), and that a swap file it made is gone.
func runEngineCases(t *testing.T, engine string, limitMiB uint64, cases []engineCase) {
	t.Helper()
	for _, tc := range cases {
		o := DefaultOptions()
		o.SizeMiB, o.LimitMiB, o.Passes, o.Engine = 16, limitMiB, 2, engine
		o.Device, o.Random, o.Threads, o.Write, o.Design = tc.device, tc.random, tc.threads, tc.write, tc.design
		if tc.device == DeviceFile {
			o.DevicePath = filepath.Join(t.TempDir(), "swap")
		}
		e, err := NewEngine(engine, nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), e, o, nil)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		t.Logf("%s\n%s", rep.EngineLine(), rep.ResultLine())
		if rep.Corrupt != 0 {
			t.Fatalf("%+v: corrupt=%d", tc, rep.Corrupt)
		}
		if rep.Counters.Pswpin == 0 || rep.Counters.Pswpout == 0 || rep.Counters.Pgmajfault == 0 {
			t.Errorf("%+v: no swapping in a 16 MiB working set limited to %d MiB: %+v", tc, limitMiB, rep.Counters)
		}
		if rep.Device.Kind != tc.device || rep.CPU.Total() <= 0 || rep.Latency.Count != 2*o.Pages() {
			t.Errorf("%+v: device %+v, cpu %v s, %d visits timed", tc, rep.Device, rep.CPU.Total(), rep.Latency.Count)
		}
		if tc.device == DeviceRAM && rep.Device.ComprDataSize == 0 {
			t.Errorf("%+v: empty mm_stat %+v", tc, rep.Device)
		}
		checkCPUAndBound(t, rep)
		if engine == "uswap" {
			if md := rep.Metadata; md == nil || md.Design != tc.design.String() || md.PerUsedSlot <= md.PerFreeSlot || md.SlotsInUse == 0 {
				t.Errorf("%+v: metadata %+v", tc, md)
			}
			if !strings.Contains(rep.EngineLine(), "design="+tc.design.String()) {
				t.Errorf("%+v: engine line %q", tc, rep.EngineLine())
			}
		}
		if tc.device == DeviceFile {
			if _, err := os.Stat(o.DevicePath); err == nil {
				t.Errorf("swap file %s left behind", o.DevicePath)
			}
		}
	}
}

// TestCompareDesigns runs a small comparison: every row in both designs,
// alternating, with the medians and the metadata filled in.
func TestCompareDesigns(t *testing.T) {
	base := DefaultOptions()
	base.SizeMiB, base.LimitMiB, base.Passes = 8, 4, 1
	rows := DesignRows(base)
	if len(rows) != 6 || rows[4].Options.SizeMiB != 4*swapinLimitMiB || !rows[3].Options.Random || rows[3].Options.Threads != 2 {
		t.Fatalf("rows %+v", rows)
	}
	var log strings.Builder
	cmp, err := CompareDesigns(context.Background(), rows[:1], 2, nil, &log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "\n"); n != 4 || !strings.Contains(log.String(), "table design, round 2") {
		t.Fatalf("%d runs logged:\n%s", n, log.String())
	}
	row := cmp.Rows[0]
	if len(row.Results) != 2 || row.Results[0].Design != design.Classic || row.Results[1].Design != design.Table {
		t.Fatalf("results %+v", row.Results)
	}
	for _, r := range row.Results {
		if r.Runs != 2 || r.PagesPerS <= 0 || r.CPUPerPageNs <= 0 || r.Latency.P99 < r.Latency.P50 || r.PerUsedSlot <= r.PerFreeSlot || r.Counters.Pswpin == 0 {
			t.Errorf("%v: %+v", r.Design, r)
		}
	}
	if c, tb := row.Results[0].PerFreeSlot, row.Results[1].PerFreeSlot; c-tb < 0.99 {
		t.Errorf("bytes per free slot: classic %.3f, table %.3f: the table design keeps no swap_map byte", c, tb)
	}
	var text strings.Builder
	if err := cmp.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cmp)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	if !strings.Contains(text.String(), "usemem seq, 1 thread") || !strings.Contains(text.String(), "corrupt=0") || !strings.Contains(string(js), `"design":"table"`) {
		t.Errorf("text:\n%s\njson:\n%s", text.String(), js)
	}
	if _, err := CompareDesigns(context.Background(), rows, 0, nil, nil); err == nil {
		t.Error("0 rounds accepted")
	}
	// Interrupted before the first run: no rows, Interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if cmp, err := CompareDesigns(ctx, rows, 1, nil, nil); err != nil || !cmp.Interrupted || len(cmp.Rows) != 0 {
		t.Errorf("cancelled: %v, %+v", err, cmp)
	}
}

// checkCPUAndBound checks a complete run's CPU time, per-pass swap counts
// and, on a RAM device, its bound.
func checkCPUAndBound(t *testing.T, rep *Report) {
	t.Helper()
	t.Logf("%s", rep.CPULine())
	if rep.CPU.Total() <= 0 || rep.CPUPerPageNs <= 0 {
		t.Errorf("no CPU time measured over the passes: %+v, %.0f ns/page", rep.CPU, rep.CPUPerPageNs)
	}
	var in uint64
	for _, p := range rep.Passes {
		in += p.Pswpin
	}
	if in == 0 || in > rep.Counters.Pswpin {
		t.Errorf("the passes swapped in %d pages, the run %d", in, rep.Counters.Pswpin)
	}
	if rep.Options.Device != DeviceRAM {
		if rep.Bound != nil {
			t.Errorf("a bound for a run on a %s: %+v", rep.Options.Device, rep.Bound)
		}
		return
	}
	b := rep.Bound
	if b == nil {
		t.Fatalf("no bound for a run on the RAM device")
	}
	t.Logf("%s", b.Line())
	if b.CompressNs <= 0 || b.DecompressNs <= 0 || b.Ratio <= 1 || b.OfBound <= 0 || b.CoresUsed <= 0 || b.PagesPerS <= 0 {
		t.Errorf("bound %+v", b)
	}
}

// TestCompareRounds runs a comparison on a stand-in engine: the variants
// alternate round by round, each variant's figures are the median and
// range of its runs, the ratios are taken within a round, and an
// interruption keeps what completed.
func TestCompareRounds(t *testing.T) {
	variants := []Variant{{Engine: "kernel"}, {Engine: "uswap", MemcgBgReclaim: true}, {Engine: "uswap"}}
	rates := map[string][]float64{ // by variant name, round by round
		"kernel":                     {100, 50, 200},
		"uswap memcg_bg_reclaim=on":  {300, 200, 400},
		"uswap memcg_bg_reclaim=off": {200, 100, 300},
	}
	var order []string
	calls := 0
	run := func(ctx context.Context, engine string, o Options) (*Report, error) {
		v := Variant{Engine: engine, MemcgBgReclaim: engine == "uswap" && o.MemcgBgReclaim}
		order = append(order, v.Name())
		round := calls / len(variants)
		calls++
		r := &Report{Engine: engine, Options: o, Pages: 10, PagesPerS: rates[v.Name()][round]}
		r.Passes = []Phase{{Pages: 10, Seconds: 1, CPU: CPUUse{User: 1e-6 * float64(round+1), Sys: 1e-6}}}
		r.CPU, r.CPUPerPageNs = passesCPU(r.Passes, r.Pages)
		return r, nil
	}
	var lines []string
	c, err := Compare(context.Background(), DefaultOptions(), 3, variants, run, func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for range 3 {
		for _, v := range variants {
			want = append(want, v.Name())
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("run order %q, want %q", order, want)
	}
	if len(lines) != 9 || !strings.HasPrefix(lines[8], "round 3 engine=uswap memcg_bg_reclaim=off pages_per_s=300 ") {
		t.Errorf("run lines as the runs ended: %q", lines)
	}
	if len(c.Summaries) != 3 {
		t.Fatalf("%d summaries, want 3", len(c.Summaries))
	}
	k, on, off := c.Summaries[0], c.Summaries[1], c.Summaries[2]
	if k.PagesPerS != (Range{100, 50, 200}) || k.Ratio != nil || k.Runs != 3 {
		t.Errorf("kernel: %+v", k)
	}
	// Per-round ratios 3, 4, 2 (on) and 2, 2, 1.5 (off).
	if on.Ratio == nil || *on.Ratio != (Range{3, 2, 4}) {
		t.Errorf("bg on: ratio %+v", on.Ratio)
	}
	if off.Ratio == nil || *off.Ratio != (Range{2, 1.5, 2}) {
		t.Errorf("bg off: ratio %+v", off.Ratio)
	}
	if got := on.CPUPerPageNs; got != (Range{300, 200, 400}) {
		t.Errorf("bg on: CPU per page %+v ns, want 300 (200..400)", got)
	}
	var b strings.Builder
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"round 3 engine=uswap memcg_bg_reclaim=off", "machine cpu=", "ratio uswap/kernel=3.00 (2.00..4.00) memcg_bg_reclaim=on rounds=3"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, b.String())
		}
	}

	// Interrupted in round 2's uswap run: round 1 counts, and round 2's
	// kernel run, with no ratio of its own.
	calls = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupting := func(ctx context.Context, engine string, o Options) (*Report, error) {
		r, err := run(ctx, engine, o)
		if calls == 5 {
			r.Interrupted = true
			cancel()
		}
		return r, err
	}
	c, err = Compare(ctx, DefaultOptions(), 3, variants, interrupting, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Interrupt || len(c.Runs) != 5 || c.complete() != 4 {
		t.Fatalf("interrupted comparison: interrupt=%v, %d runs, %d complete", c.Interrupt, len(c.Runs), c.complete())
	}
	if on := c.Summaries[1]; on.Runs != 1 || on.Ratio == nil || *on.Ratio != (Range{3, 3, 3}) {
		t.Errorf("bg on after the interruption: %+v", on)
	}
}

// TestCompCost measures every compressor on usemem's mixed pages: each
// shrinks them (lz4 to about a quarter) and takes some time.
func TestCompCost(t *testing.T) {
	for _, comp := range swapdev.Compressors {
		cc, err := MeasureCompCost(comp, "mixed", 1024)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", comp, cc)
		if cc.Pages != 1024 || cc.SamePages != 0 || cc.CompressNs <= 0 || cc.DecompressNs <= 0 || cc.Ratio < 3 || cc.Impl == "" {
			t.Errorf("%s: %+v", comp, cc)
		}
	}
	if _, err := MeasureCompCost("gzip", "mixed", 16); err == nil {
		t.Errorf("gzip measured")
	}
}

// TestStatSeconds reads utime and stime from a /proc/PID/stat line whose
// command holds a space and a parenthesis.
func TestStatSeconds(t *testing.T) {
	line := "45 (kswapd 0)) S 2 0 0 0 -1 2129984 0 0 0 0 250 50 0 0 20 0 1 0 100 0 0"
	if got := statSeconds(line); got != 3 {
		t.Errorf("statSeconds = %v, want 3 (250+50 ticks)", got)
	}
}

// TestMachine watches the host for a moment (its description is filled
// in), and judges made-up loads: trusted only with the load at most the
// cores plus the run's threads and others using at most a quarter of the
// cores.
func TestMachine(t *testing.T) {
	m := WatchMachine(2).Stop()
	t.Logf("%s", m.Line())
	if m.Cores < 1 || m.CPU == "" || m.Kernel == "" || m.Seconds <= 0 || m.MaxLoad != float64(m.Cores+2) || m.LoadMax < m.LoadBefore {
		t.Errorf("machine %+v", m)
	}
	for _, tc := range []struct {
		load, others float64
		trusted      bool
		why          string
	}{
		{1.5, 0.1, true, ""},
		{4.5, 0.1, false, "load 4.50 above 4.00 during the run"},
		{2, 0.9, false, "other processes kept 0.90 CPUs busy, above 0.50"},
	} {
		m := Machine{Cores: 2, MaxLoad: 4, MaxOthers: 0.5, LoadMax: tc.load, OthersCores: tc.others}
		m.judge()
		if m.Trusted != tc.trusted || m.Why != tc.why {
			t.Errorf("load %.2f, others %.2f: trusted=%v why=%q", tc.load, tc.others, m.Trusted, m.Why)
		}
		if want := "trusted=yes"; tc.trusted != strings.Contains(m.Line(), want) {
			t.Errorf("line %q", m.Line())
		}
	}
}
