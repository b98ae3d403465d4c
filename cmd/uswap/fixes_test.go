package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"uswap/fixes"
)

// TestFixFlagsEverywhere: every command that builds a machine takes
// --fix NAME=VARIANT, and a bad choice is a usage error naming the
// variants, before any work starts.
func TestFixFlagsEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"explore", "--scenario", "swapin-zap"},
		{"stress", "--ops", "10"},
		{"bench", "usemem", "-s", "8", "-l", "4"},
		{"bench", "swapin", "--size", "4M"},
	} {
		out, status := runUswap(t, append(args, "--fix", "swapcache=nope")...)
		if status != exitUsage || !strings.Contains(out, "pin-waitqueue") {
			t.Errorf("%v: status %d, output %q; want a usage error listing the variants", args, status, out)
		}
	}
}

func TestExploreListsEveryVariant(t *testing.T) {
	out, status := runUswap(t, "explore", "--list")
	if status != 0 {
		t.Fatalf("status %d", status)
	}
	for _, c := range fixes.Completions() {
		_, v, _ := strings.Cut(c, "=")
		if !strings.Contains(out, " "+v+" ") {
			t.Errorf("--list lacks %s", c)
		}
	}
}

func TestFixesCompareUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--thread", "007"}, "want one of 000, 003, 004"},
		{[]string{"--strategy", "bfs"}, "unknown strategy"},
		{[]string{"--runs", "0"}, "--runs 0"},
		{[]string{"--json", "--markdown"}, "choose one"},
		{[]string{"--design", "tabel"}, `--design: unknown swap design "tabel" (known: classic, table)`},
		{[]string{"--design", "classic,swapmap"}, `unknown swap design "swapmap"`},
	} {
		out, status := runUswap(t, append([]string{"fixes", "compare", "-q"}, tc.args...)...)
		if status != exitUsage || !strings.Contains(out, tc.want) {
			t.Errorf("%v: status %d, output %q; want a usage error with %q", tc.args, status, out, tc.want)
		}
	}
}

// TestFixesCompareDesign: seed 000 in the table design. Every variant
// but the kernel's is classic-only there: each row says it does not
// apply and why, is neither explored nor measured (null costs), and does
// not count as holding; the kernel's variant runs the table design's own
// code, which the explorer finds nothing in; the table names the design
// and says the race cannot happen there. About a second.
func TestFixesCompareDesign(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.json")
	out, status := runUswap(t, "fixes", "compare", "-q", "--thread", "000", "--design", "table", "--strategy", "pct:3", "--runs", "20", "--rounds", "1", "--swapin-mib", "1", "--json="+file)
	if status != 0 {
		t.Fatalf("status %d:\n%s", status, out)
	}
	for _, want := range []string{
		"seed 000, table design: fix swapcache",
		"the race cannot happen in the table design: the code before the fix (swapcache=none) has no counterpart there",
		"does not apply in the table design: fix swapcache=none runs in the classic design only (the table design has no bypass",
		"(swapcache, table design, in ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^\* pin-waitqueue +kernel +holds +[0-9,]+ \(×1\.00\)`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^  map-lock +proposed +does not apply +– +– +– +–$`).MatchString(out) {
		t.Errorf("the table's rows:\n%s", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Threads []struct {
			Thread, Design string
			NoRace         string `json:"no_race"`
			Variants       []struct {
				Variant      string
				DoesNotApply string `json:"does_not_apply"`
				Default      bool
				Costs        []*float64
				Verdicts     []struct {
					Found     bool
					Schedules int
				}
			}
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(got.Threads) != 1 || got.Threads[0].Design != "table" || got.Threads[0].NoRace == "" {
		t.Fatalf("threads: %+v", got.Threads)
	}
	for _, v := range got.Threads[0].Variants {
		if v.Default {
			if v.DoesNotApply != "" || len(v.Verdicts) != 3 || v.Costs[0] == nil {
				t.Errorf("%s: %+v", v.Variant, v)
			}
			for _, vd := range v.Verdicts {
				if vd.Found || vd.Schedules == 0 {
					t.Errorf("%s: verdict %+v", v.Variant, vd)
				}
			}
			continue
		}
		if !strings.Contains(v.DoesNotApply, "runs in the classic design only") || v.Costs[0] != nil {
			t.Errorf("%s: %+v", v.Variant, v)
		}
		for _, vd := range v.Verdicts {
			if vd.Found || vd.Schedules != 0 {
				t.Errorf("%s: explored: %+v", v.Variant, vd)
			}
		}
	}
}

// TestBenchSwapinDesign: bench swapin runs the table design (no bypass:
// every page through the swap cache) and both designs in turn, with a
// median per design; --path bypass with the table design, an unknown
// design or path, and a classic-only variant with the table design are
// usage errors before any work.
func TestBenchSwapinDesign(t *testing.T) {
	type result struct {
		Options struct{ Design string }
		Pages   uint64
		Bypass  uint64
		Corrupt uint64
	}
	var got struct {
		Rounds  []result
		Median  *result
		Medians []result
	}
	out, status := runUswap(t, "bench", "swapin", "--size", "2M", "--threads", "2", "--design", "table", "--json")
	if status != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("status %d:\n%s", status, out)
	}
	if m := got.Median; m == nil || m.Options.Design != "table" || m.Pages != 512 || m.Bypass != 0 || m.Corrupt != 0 || len(got.Medians) != 1 {
		t.Errorf("table design: %+v", got)
	}
	got.Median, got.Rounds, got.Medians = nil, nil, nil
	out, status = runUswap(t, "bench", "swapin", "--size", "2M", "--design", "both", "--rounds", "2", "--json")
	if status != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("status %d:\n%s", status, out)
	}
	var order []string
	for _, r := range got.Rounds {
		order = append(order, r.Options.Design)
	}
	if strings.Join(order, " ") != "classic table table classic" || got.Median != nil || len(got.Medians) != 2 ||
		got.Medians[0].Options.Design != "classic" || got.Medians[0].Bypass == 0 || got.Medians[1].Options.Design != "table" || got.Medians[1].Bypass != 0 {
		t.Errorf("both designs: rounds in order %v, %+v", order, got)
	}
	out, _ = runUswap(t, "bench", "swapin", "--size", "2M", "--design", "both")
	if !strings.Contains(out, "median of 1, table design: ") || !strings.Contains(out, "table design, swapin_sync") {
		t.Errorf("text output:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--design", "table", "--path", "bypass"}, "--path bypass: the table design has no bypass"},
		{[]string{"--design", "both", "--path", "bypass"}, "--path bypass: the table design has no bypass"},
		{[]string{"--path", "direct"}, `--path "direct": want sync, cache or (classic design only) bypass`},
		{[]string{"--design", "swapmap"}, `--design: unknown swap design "swapmap"`},
		{[]string{"--design", "both", "--fix", "swapcache=map-lock"}, "--design table: fix swapcache=map-lock runs in the classic design only"},
	} {
		out, status := runUswap(t, append([]string{"bench", "swapin", "--size", "2M"}, tc.args...)...)
		if status != exitUsage || !strings.Contains(out, tc.want) {
			t.Errorf("%v: status %d, output %q; want a usage error with %q", tc.args, status, out, tc.want)
		}
	}
}

// TestBenchSwapinRuns reads a small working set back through both paths.
func TestBenchSwapinRuns(t *testing.T) {
	for _, path := range []string{"bypass", "cache"} {
		out, status := runUswap(t, "bench", "swapin", "--size", "2M", "--threads", "2", "--path", path, "--json", "--fix", "swapcache=pin-sleep")
		if status != 0 {
			t.Fatalf("%s: status %d\n%s", path, status, out)
		}
		var got struct {
			Schema string
			Median struct {
				Pages, Bypass, Corrupt uint64
				PagesPerS              float64 `json:"pages_per_s"`
			} `json:"median"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, out)
		}
		m := got.Median
		if got.Schema != "uswap/v1" || m.Pages != 512 || m.Corrupt != 0 || m.PagesPerS <= 0 || (m.Bypass == 0) != (path == "cache") {
			t.Errorf("%s: %+v", path, got)
		}
	}
}
