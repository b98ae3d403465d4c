package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

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
	var text, md, page bytes.Buffer
	if err := WriteText(&text, tables); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, tables); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, tables); err != nil {
		t.Fatal(err)
	}
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
