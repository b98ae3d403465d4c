package compare

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"

	"uswap/design"
	"uswap/explore"
	"uswap/fixes"
)

// TestCompareSeed003 runs a small comparison of seed 003 end to end: the
// explorer breaks every variant but the kernel's, each broken verdict
// carries its replay, the costs are measured for every variant, and the
// outputs show them.
func TestCompareSeed003(t *testing.T) {
	o := DefaultOptions()
	o.Threads = []string{"003"}
	o.Strategies = []explore.Spec{explore.MustSpec("dfs:1")}
	o.Runs, o.Rounds, o.SwapinMiB, o.SwapoffMiB = 60, 1, 2, 2
	if raceEnabled {
		// The broken variants' faulters race swapoff for real (the code
		// before the fix reads swap_map as swapoff frees it: a Go data
		// race the detector reports, not only a modelled one). Under
		// the detector the swapoff runs alone; bench's
		// TestSwapoffWithFaulters runs the faulters with the fix on.
		o.SwapoffFaulters = 0
	}
	tables, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || len(tables[0].Rows) != 4 {
		t.Fatalf("tables %v", tables)
	}
	tb := tables[0]
	nsc := 0
	for _, sc := range explore.Scenarios() {
		if sc.Fix == fixes.SwapDevice && !sc.NoFix {
			nsc++
		}
	}
	for _, r := range tb.Rows {
		if r.Broken() == (r.Variant == "percpu-ref") {
			t.Errorf("%s: broken %v", r.Variant, r.Broken())
		}
		if len(r.Verdicts) != nsc || len(r.Costs) != len(tb.Costs) || r.Costs[0] <= 0 {
			t.Errorf("%s: %d verdicts, costs %v", r.Variant, len(r.Verdicts), r.Costs)
		}
		for _, v := range r.Verdicts {
			if v.Found && (v.Replay == "" || v.Report == nil || !strings.Contains(v.Replay, "--fix swap-device="+r.Variant)) {
				t.Errorf("%s %s: found without a replay: %+v", r.Variant, v.Scenario, v)
			}
		}
		if r.Default && r.Relative[0] != 1 {
			t.Errorf("the default's relative cost is %v", r.Relative)
		}
	}
	text, md, page := writeAll(t, tables)
	for _, want := range []string{"* percpu-ref", "BROKEN", "replay: uswap explore --scenario swapoff-free --fix swap-device=none"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "| `percpu-ref` (default) | kernel | holds") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if n := strings.Count(page.String(), "<iframe"); n < 3 {
		t.Errorf("the page has %d traces, want one per broken variant at least", n)
	}
}

// writeAll is the tables as text, Markdown and a page.
func writeAll(t *testing.T, tables []*Table) (text, md, page *bytes.Buffer) {
	t.Helper()
	text, md, page = new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	for _, w := range []struct {
		buf   *bytes.Buffer
		write func(io.Writer, []*Table) error
	}{{text, WriteText}, {md, WriteMarkdown}, {page, WriteHTML}} {
		if err := w.write(w.buf, tables); err != nil {
			t.Fatal(err)
		}
	}
	return text, md, page
}

// TestMedianNotMeasured: the median skips the rounds that measured
// nothing, and a cost no round measured is null in JSON.
func TestMedianNotMeasured(t *testing.T) {
	if got := median([]float64{math.NaN(), 5, 1, 3}); got != 3 {
		t.Errorf("median of NaN, 5, 1, 3 = %v, want 3", got)
	}
	got := median([]float64{math.NaN(), math.NaN()})
	if got.Measured() {
		t.Errorf("median of no measurement = %v, want NotMeasured", got)
	}
	b, err := json.Marshal([]Cost{got, 2.5})
	if err != nil || string(b) != "[null,2.5]" {
		t.Errorf("JSON of a missing and a measured cost: %s, %v", b, err)
	}
}

func TestFormatCost(t *testing.T) {
	for _, tc := range []struct {
		v, rel Cost
		want   string
	}{
		{NotMeasured, 0, "–"},
		{0, 0, "0"},
		{1.5, 1, "1.50 (×1.00)"},
		{12.34, 0.5, "12.3 (×0.50)"},
		{1234567, 2, "1,234,567 (×2.00)"},
		{256, 0, "256.0"},
	} {
		if got := formatCost(tc.v, tc.rel); got != tc.want {
			t.Errorf("formatCost(%v, %v) = %q, want %q", tc.v, tc.rel, got, tc.want)
		}
	}
}

// TestCompareSeed000BothDesigns: seed 000 in both designs, a table each,
// classic first. In the classic design every variant runs; in the table
// design only the kernel's does (the others are classic-only: there is
// no bypass), the others say why and are neither explored nor measured,
// and the table says the race cannot happen there. The outputs name the
// design. About a second.
func TestCompareSeed000BothDesigns(t *testing.T) {
	o := DefaultOptions()
	o.Threads, o.Designs = []string{"000"}, design.All()
	o.Strategies = []explore.Spec{explore.MustSpec("pct:3")}
	o.Runs, o.Rounds, o.SwapinMiB = 20, 1, 1
	tables, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 || tables[0].Design != design.Classic || tables[1].Design != design.Table {
		t.Fatalf("tables %+v", tables)
	}
	if tables[0].NoRace != "" || !strings.Contains(tables[1].NoRace, "the race cannot happen in the table design") {
		t.Errorf("no-race notes: %q, %q", tables[0].NoRace, tables[1].NoRace)
	}
	for _, r := range tables[0].Rows {
		if r.NotApplying != "" || len(r.Verdicts) != 3 || !r.Costs[0].Measured() {
			t.Errorf("classic %s: %+v", r.Variant, r)
		}
	}
	for _, r := range tables[1].Rows {
		if r.Default {
			if r.NotApplying != "" || r.Broken() || r.Verdict() != "holds" || !r.Costs[0].Measured() || r.Relative[0] != 1 {
				t.Errorf("table %s: %+v", r.Variant, r)
			}
			continue
		}
		if !strings.HasPrefix(r.NotApplying, "does not apply in the table design: fix swapcache="+r.Variant+" runs in the classic design only") ||
			r.Verdict() != "does not apply" || r.Summary() != r.NotApplying || r.Costs[0].Measured() || r.Relative[0] != 0 {
			t.Errorf("table %s: %+v", r.Variant, r)
		}
		for _, v := range r.Verdicts {
			if v.NotApplying == "" || v.Schedules != 0 || v.Short() != v.NotApplying {
				t.Errorf("table %s %s: explored: %+v", r.Variant, v.Scenario, v)
			}
		}
	}
	text, md, page := writeAll(t, tables)
	for _, want := range []string{"seed 000, classic design: fix swapcache", "seed 000, table design: fix swapcache",
		"    pin-refault        does not apply in the table design, as none\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "**Seed 000**, table design") || !strings.Contains(md.String(), "| `none` | before | does not apply in the table design: fix swapcache=none") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if !strings.Contains(page.String(), "<h2>Seed 000, table design:") || !strings.Contains(page.String(), `class="does-not-apply"`) {
		t.Errorf("the page lacks the table design's table")
	}
	b, err := json.Marshal(tables[1])
	if err != nil || !strings.Contains(string(b), `"design":"table"`) || !strings.Contains(string(b), `"does_not_apply":"does not apply in the table design`) {
		t.Errorf("JSON: %v\n%s", err, b)
	}
}

// TestRunBadDesigns: an unknown design, or one given twice, is an error
// before any work.
func TestRunBadDesigns(t *testing.T) {
	for _, ds := range [][]design.Design{{design.Classic, design.Design(7)}, {design.Table, design.Table}} {
		o := DefaultOptions()
		o.Threads, o.Designs = []string{"000"}, ds
		if tables, err := Run(o); err == nil || len(tables) != 0 {
			t.Errorf("designs %v: %d tables, error %v", ds, len(tables), err)
		}
	}
}
