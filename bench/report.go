package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Phase is the fill or one pass: pages visited (fewer than the working
// set when the run was interrupted in it), time taken, rate.
type Phase struct {
	Pages     uint64  `json:"pages"`
	Seconds   float64 `json:"seconds"`
	PagesPerS float64 `json:"pages_per_s"`
	// CPU is the CPU time the phase took (CPUUse says whose).
	CPU CPUUse `json:"cpu"`
	// Pswpin and Pswpout are the pages swapped in and out during it.
	Pswpin  uint64 `json:"pswpin"`
	Pswpout uint64 `json:"pswpout"`
}

func newPhase(pages uint64, d time.Duration) Phase {
	s := d.Seconds()
	if s <= 0 {
		s = 1e-9
	}
	return Phase{Pages: pages, Seconds: s, PagesPerS: float64(pages) / s}
}

// phaseMeter measures a phase's CPU time and swapping.
type phaseMeter struct {
	mem   Memory
	clock cpuClock
	c     Counters
}

func startPhase(mem Memory) phaseMeter {
	return phaseMeter{mem: mem, clock: readCPUClock(), c: mem.Counters()}
}

// end fills in p's CPU time and swap counts since the start.
func (m phaseMeter) end(p Phase) Phase {
	p.CPU = readCPUClock().since(m.clock)
	d := m.mem.Counters().Sub(m.c)
	p.Pswpin, p.Pswpout = d.Pswpin, d.Pswpout
	return p
}

// Quantile is one point of the latency distribution.
type Quantile struct {
	Percentile float64 `json:"percentile"` // 0..100
	Nanos      int64   `json:"ns"`
}

// Latency summarizes the per-visit durations of every pass (a visit that
// faults includes the whole fault).
type Latency struct {
	Count uint64     `json:"count"`
	Mean  float64    `json:"mean_ns"`
	Min   int64      `json:"min_ns"`
	P50   int64      `json:"p50_ns"`
	P90   int64      `json:"p90_ns"`
	P99   int64      `json:"p99_ns"`
	P999  int64      `json:"p99_9_ns"`
	Max   int64      `json:"max_ns"`
	Curve []Quantile `json:"curve"` // for plots: 0, 50, 75, ..., 99.999, 100
}

// curvePercentiles are the points of Latency.Curve.
var curvePercentiles = []float64{0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	l := Latency{
		Count: uint64(h.TotalCount()), Mean: h.Mean(), Min: h.Min(), Max: h.Max(),
		P50: h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90),
		P99: h.ValueAtQuantile(99), P999: h.ValueAtQuantile(99.9),
	}
	for _, p := range curvePercentiles {
		l.Curve = append(l.Curve, Quantile{p, h.ValueAtQuantile(p)})
	}
	return l
}

// Report is one engine's run.
type Report struct {
	Engine    string      `json:"engine"`
	Kernel    string      `json:"kernel,omitempty"` // uname -r, kernel engine only
	Options   Options     `json:"options"`
	Pages     uint64      `json:"pages"`
	Fill      Phase       `json:"fill"`
	Passes    []Phase     `json:"passes"`
	PagesPerS float64     `json:"pages_per_s"` // median pass rate
	Corrupt   uint64      `json:"corrupt"`
	Latency   Latency     `json:"latency"`
	Counters  Counters    `json:"counters"`
	Device    DeviceStats `json:"device"`
	// CPU is the CPU time of the complete passes, CPUPerPageNs its user
	// plus system time per page visited in them.
	CPU          CPUUse  `json:"cpu"`
	CPUPerPageNs float64 `json:"cpu_per_page_ns"`
	// Metadata is the swap core's per-slot memory at the end of the
	// passes (uswap engine only).
	Metadata *Metadata `json:"metadata,omitempty"`
	// CgroupCPU is, for the kernel engine, the CPU time the kernel
	// accounted to the child's cgroup over the whole run (fill and passes:
	// cpuacct on v1, cpu.stat on v2); nil for uswap or when unreadable.
	CgroupCPU *CPUUse `json:"cgroup_cpu,omitempty"`
	// Bound is the compressor's own cost on the run's pages and the
	// run's speed as a fraction of what it allows (nil when the pattern
	// gives the compressor nothing to do, or it is not measured).
	Bound *Bound `json:"bound,omitempty"`
	// Machine is the host and how busy it was, for a run made alone
	// (bench usemem; a comparison has its own).
	Machine *Machine `json:"machine,omitempty"`
	// Interrupted is set when the run stopped early (Ctrl-C): Fill or
	// the last pass covers fewer than Pages pages, and PagesPerS is the
	// median of the complete passes (0 if none).
	Interrupted bool `json:"interrupted,omitempty"`
}

// ResultLine is usemem's last line:
//
//	result pages_per_s=68814 pages=262144 threads=1 access=seq write=0 pattern=mixed corrupt=0
func (r *Report) ResultLine() string {
	w := 0
	if r.Options.Write {
		w = 1
	}
	return fmt.Sprintf("result pages_per_s=%.0f pages=%d threads=%d access=%s write=%d pattern=%s corrupt=%d",
		r.PagesPerS, r.Pages, r.Options.Threads, r.Options.Access(), w, r.Options.Pattern, r.Corrupt)
}

// WriteText prints the report as usemem and kernel-baseline do, with the
// engine, counters, device and latency lines before the result line,
// which comes last.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "fill pages=%d seconds=%.3f pages_per_s=%.0f%s\n", r.Fill.Pages, r.Fill.Seconds, r.Fill.PagesPerS, r.partial(r.Fill))
	for k, p := range r.Passes {
		fmt.Fprintf(&b, "pass %d seconds=%.3f pages_per_s=%.0f%s\n", k, p.Seconds, p.PagesPerS, r.partial(p))
	}
	fmt.Fprintf(&b, "%s\n", r.EngineLine())
	c := r.Counters
	fmt.Fprintf(&b, "vmstat pswpin=%d pswpout=%d swap_ra=%d swap_ra_hit=%d pgfault=%d pgmajfault=%d\n",
		c.Pswpin, c.Pswpout, c.SwapRa, c.SwapRaHit, c.Pgfault, c.Pgmajfault)
	d := r.Device
	if d.Kind == DeviceRAM {
		fmt.Fprintf(&b, "mm_stat orig_data_size=%d compr_data_size=%d mem_used_total=%d mem_limit=%d mem_used_max=%d same_pages=%d pages_compacted=%d huge_pages=%d ratio=%.2f\n",
			d.OrigDataSize, d.ComprDataSize, d.MemUsedTotal, d.MemLimit, d.MemUsedMax, d.SamePages, d.PagesCompacted, d.HugePages, ratio(d.OrigDataSize, d.MemUsedTotal))
	}
	l := r.Latency
	fmt.Fprintf(&b, "latency_us count=%d mean=%.2f p50=%.2f p90=%.2f p99=%.2f p99.9=%.2f max=%.2f\n",
		l.Count, l.Mean/1e3, us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max))
	fmt.Fprintf(&b, "%s\n", r.CPULine())
	if md := r.Metadata; md != nil {
		fmt.Fprintf(&b, "metadata design=%s bytes_per_free_slot=%.3f bytes_per_used_slot=%.3f static=%d tables=%d overflow=%d slots_in_use=%d\n",
			md.Design, md.PerFreeSlot, md.PerUsedSlot, md.StaticBytes, md.TableBytes, md.OverflowBytes, md.SlotsInUse)
	}
	if r.Bound != nil {
		fmt.Fprintf(&b, "%s\n", r.Bound.Line())
	}
	if r.Machine != nil {
		fmt.Fprintf(&b, "%s\n", r.Machine.Line())
	}
	if r.Interrupted {
		full := 0
		for _, p := range r.Passes {
			if p.Pages == r.Pages {
				full++
			}
		}
		fmt.Fprintf(&b, "interrupted: %d of %d passes complete; the result is their median\n", full, r.Options.Passes)
	}
	fmt.Fprintf(&b, "%s\n", r.ResultLine())
	_, err := io.WriteString(w, b.String())
	return err
}

// partial marks a phase cut short by an interruption.
func (r *Report) partial(p Phase) string {
	if p.Pages < r.Pages {
		return fmt.Sprintf(" interrupted after %d of %d pages", p.Pages, r.Pages)
	}
	return ""
}

// CPULine is the CPU time of the complete passes: the process's (the
// kernel engine's child's) user and system time per page visited, its
// total, the host's kswapd time meanwhile, and for the kernel engine the
// cgroup's figure over the whole run.
func (r *Report) CPULine() string {
	c := r.CPU
	s := fmt.Sprintf("cpu passes_user_s=%.3f passes_sys_s=%.3f per_page_us=%.3f user_us=%.3f sys_us=%.3f kswapd_s=%.3f",
		c.User, c.Sys, r.CPUPerPageNs/1e3, r.perPage(c.User), r.perPage(c.Sys), c.Kswapd)
	if r.CgroupCPU != nil {
		s += fmt.Sprintf(" cgroup_run_user_s=%.3f cgroup_run_sys_s=%.3f", r.CgroupCPU.User, r.CgroupCPU.Sys)
	}
	return s
}

// perPage is seconds of the complete passes in microseconds per page
// visited in them.
func (r *Report) perPage(seconds float64) float64 {
	var visited uint64
	for _, p := range r.Passes {
		if p.Pages == r.Pages {
			visited += p.Pages
		}
	}
	if visited == 0 {
		return 0
	}
	return seconds * 1e6 / float64(visited)
}

// Line is the report's bound line.
func (b *Bound) Line() string {
	return fmt.Sprintf("bound comp=%s impl=%q compress_us=%.3f decompress_us=%.3f comp_ratio=%.2f cores_used=%.2f bound_pages_per_s=%.0f of_bound=%.2f",
		b.Comp, b.Impl, b.CompressNs/1e3, b.DecompressNs/1e3, b.Ratio, b.CoresUsed, b.PagesPerS, b.OfBound)
}

// EngineLine names the engine and its set-up, like kernel-baseline's
// last line.
func (r *Report) EngineLine() string {
	dev := r.Device.Name
	if r.Device.Kind == DeviceRAM {
		dev += " comp=" + r.Device.Comp
	}
	s := fmt.Sprintf("engine=%s device=%s limit_mib=%d size_mib=%d", r.Engine, dev, r.Options.LimitMiB, r.Options.SizeMiB)
	if r.Engine == "uswap" {
		s += " design=" + r.Options.Design.String()
	}
	if r.Kernel != "" {
		s += " kernel=" + r.Kernel
	}
	if r.Options.PageCluster >= 0 {
		s += fmt.Sprintf(" page_cluster=%d", r.Options.PageCluster)
	}
	if r.Engine == "uswap" {
		s += " memcg_bg_reclaim=" + onOff(r.Options.MemcgBgReclaim)
	}
	return s
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func us(ns int64) float64 { return float64(ns) / 1e3 }

func ratio(a, b uint64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
