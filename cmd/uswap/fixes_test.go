package main

import (
	"encoding/json"
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
	} {
		out, status := runUswap(t, append([]string{"fixes", "compare", "-q"}, tc.args...)...)
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
