package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"uswap/internal/hosttest"
)

func TestBenchUsemem(t *testing.T) {
	out, status := runUswap(t, "bench", "usemem", "-s", "4", "-l", "2", "-p", "2", "-t", "2")
	if status != 0 {
		t.Fatalf("status %d:\n%s", status, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !regexp.MustCompile(`^result pages_per_s=\d+ pages=1024 threads=2 access=seq write=0 pattern=mixed corrupt=0$`).MatchString(last) {
		t.Fatalf("last line %q\n%s", last, out)
	}
	for _, want := range []string{"engine=uswap", "vmstat pswpin=", "mm_stat orig_data_size=", "latency_us count=2048"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchUsememJSONPlot(t *testing.T) {
	png := filepath.Join(t.TempDir(), "b.png")
	out, status := runUswap(t, "bench", "usemem", "-s", "4M", "-l", "2M", "-p", "1", "--json", "--plot", png, "-r", "-w", "--device", "file")
	if status != 0 {
		t.Fatalf("status %d:\n%s", status, out)
	}
	var rep struct {
		Engine   string `json:"engine"`
		Corrupt  uint64 `json:"corrupt"`
		Pages    uint64 `json:"pages"`
		Counters struct {
			Pswpin uint64 `json:"pswpin"`
		} `json:"counters"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Engine != "uswap" || rep.Corrupt != 0 || rep.Pages != 1024 || rep.Counters.Pswpin == 0 {
		t.Fatalf("report %+v", rep)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("plot: %v", err)
	}
}

// TestBenchCompareDesigns runs compare-designs' swap-in rows once: both
// designs per row, the table with its ratio, corrupt=0, and the same in
// the JSON file.
func TestBenchCompareDesigns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "d.json")
	out, status := runUswap(t, "bench", "compare-designs", "--rows", "swapin", "--rounds", "1", "--passes", "1", "--json="+file)
	if status != 0 {
		t.Fatalf("status %d:\n%s", status, out)
	}
	for _, want := range []string{"swap-in seq (16/4 MiB)", "swap-in random (16/4 MiB)", "classic", "table", "B/free", "corrupt=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var v struct {
		Command string `json:"command"`
		Rows    []struct {
			Results []struct {
				Design string `json:"design"`
			} `json:"results"`
		} `json:"rows"`
	}
	b, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(b, &v) != nil || v.Command != "bench compare-designs" || len(v.Rows) != 2 || len(v.Rows[1].Results) != 2 || v.Rows[1].Results[1].Design != "table" {
		t.Errorf("JSON %v: %s", err, b)
	}
}

// TestSwapFileToolsLeaveOthersAlone: `uswap bench --device file
// --swapfile` and `uswap mkswap` pointed at an unrelated file, a
// symbolic link to one, and a loop block device over one (as root)
// refuse, and every byte stays as it was.
func TestSwapFileToolsLeaveOthersAlone(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("the user's data "), 5000)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, data, 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(notes, link)
	targets := []string{notes, link}
	backing := filepath.Join(dir, "backing")
	if os.Geteuid() == 0 {
		os.WriteFile(backing, data[:1<<16], 0o600)
		targets = append(targets, hosttest.Loop(t, backing))
	} else {
		t.Log("not root: the loop device case is skipped")
	}
	for _, target := range targets {
		for _, args := range [][]string{
			{"bench", "usemem", "-s", "4", "-l", "2", "-p", "1", "--device", "file", "--swapfile", target},
			{"bench", "usemem", "-s", "4", "-l", "2", "-p", "1", "--device", "file", "--swapfile", target, "--block-device"},
			{"mkswap", target, "64K"},
			{"mkswap", target, "64K", "--block-device"},
		} {
			out, status := runUswap(t, args...)
			if status != 2 {
				t.Errorf("uswap %s: status %d, want 2 (refused):\n%s", strings.Join(args, " "), status, out)
			}
		}
	}
	if got, _ := os.ReadFile(notes); !bytes.Equal(got, data) {
		t.Error("the unrelated file changed")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v", err)
	}
	if os.Geteuid() == 0 {
		if got, _ := os.ReadFile(backing); !bytes.Equal(got, data[:1<<16]) {
			t.Error("the loop device's content changed")
		}
		if _, err := os.Stat(targets[2]); err != nil {
			t.Errorf("the loop device node is gone: %v", err)
		}
	}
	// mkswap and swapinfo on a path of their own.
	own := filepath.Join(dir, "own.swap")
	if out, status := runUswap(t, "mkswap", own, "256", "--label", "mine"); status != 0 || !strings.Contains(out, "pages:     64 ") || !strings.Contains(out, "made by:   uswap") {
		t.Errorf("mkswap 256 (1 KiB blocks): status %d:\n%s", status, out)
	}
	if out, status := runUswap(t, "swapinfo", own); status != 0 || !strings.Contains(out, "would accept it") {
		t.Errorf("swapinfo: status %d:\n%s", status, out)
	}
}

// TestStressRuns is the CI version of the long stress run: faults
// injected, clean.
func TestStressRuns(t *testing.T) {
	for _, dev := range []string{"ram", "file"} {
		dir := t.TempDir()
		out, status := runUswap(t, "stress", "--ops", "6000", "--tasks", "3", "--seed", "5", "--device", dev,
			"--ram", "2M", "--limit", "512K", "--map-size", "256K", "--checkpoint", "2000",
			"--faults", "read:rate=0.002", "--faults", "write:rate=0.01", "--faults", "rw:rate=0.001:delay=5us:nofail")
		if dev == "file" {
			out, status = runUswap(t, "stress", "--ops", "3000", "--tasks", "2", "--seed", "6", "--device", dev, "--dir", dir,
				"--ram", "2M", "--limit", "512K", "--map-size", "256K", "--checkpoint", "1000", "--faults", "read:rate=0.002")
		}
		if status != 0 || !strings.Contains(out, "lost or corrupted pages 0; violations 0") || !strings.Contains(out, "shm-write") {
			t.Fatalf("%s: status %d:\n%s", dev, status, out)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s: stress left %v in --dir", dev, left)
		}
	}
}

func TestExploreFindsAndReplays(t *testing.T) {
	page := filepath.Join(t.TempDir(), "trace.html")
	out, status := runUswap(t, "explore", "--scenario", "swapoff-free", "--revert", "swap-device", "--strategy", "pct:3", "--runs", "2000", "--html", page, "--full")
	if status != 1 {
		t.Fatalf("status %d, want 1:\n%s", status, out)
	}
	for _, want := range []string{"strategy pct:3, seed ", "choices  ", "no-use-after-swapoff", "shrunk from", "conflict si0->", "swapoff free in swapoff", "lock_cluster", "zap[1]", "swapoff[2]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if h, err := os.ReadFile(page); err != nil || !bytes.Contains(h, []byte("swapoff[2]")) || !bytes.Contains(h, []byte(`<tr class="key">`)) {
		t.Errorf("HTML page: %v, or no highlighted step", err)
	}
	m := regexp.MustCompile(`(?m)^  choices  (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no choices line")
	}
	rout, rstatus := runUswap(t, "explore", "--scenario", "swapoff-free", "--revert", "swap-device", "--replay", m[1], "--full")
	if rstatus != 1 || !strings.Contains(rout, "broken") {
		t.Fatalf("replay status %d:\n%s", rstatus, rout)
	}
	// The replay prints the same conflict, drawing and full trace.
	body := func(s string) string {
		_, after, _ := strings.Cut(s, "\n  conflict ")
		before, _, _ := strings.Cut(after, "\ntrace written")
		before, _, _ = strings.Cut(before, "\nuswap:")
		return strings.TrimSpace(before)
	}
	if a, b := body(out), body(rout); a == "" || a != b {
		t.Fatalf("replay differs:\n%s\n---\n%s", a, b)
	}
	// The same choices under another scenario do not fit it.
	if out, status := runUswap(t, "explore", "--scenario", "swapcache-pin", "--revert", "swapcache", "--replay", m[1]); status != 2 {
		t.Errorf("replay on another scenario: status %d:\n%s", status, out)
	}
	// With the fix on: nothing, status 0; --for is the old --duration.
	out, status = runUswap(t, "explore", "--scenario", "swapoff-free", "--strategy", "dfs:1", "--runs", "300")
	if status != 0 || !strings.Contains(out, "no failure") {
		t.Fatalf("fix on: status %d:\n%s", status, out)
	}
	if out, status := runUswap(t, "explore", "--scenario", "swapoff-free", "--for", "50ms"); status != 0 {
		t.Errorf("--for: status %d:\n%s", status, out)
	}
	if out, _ := runUswap(t, "explore", "--help"); !strings.Contains(out, "walk:P") {
		t.Errorf("explore --help does not list walk:P:\n%s", out)
	}
}

// TestExploreGoesOnAfterAFailure: a failure is reported and the next
// exploration (scenario, design) still runs, so that with fixes
// reverted one command finds every race; the status is 1 and a last
// line names every exploration that failed.
func TestExploreGoesOnAfterAFailure(t *testing.T) {
	out, status := runUswap(t, "explore", "--scenario", "swapoff-free", "--design", "both", "--revert", "swap-device", "--strategy", "dfs:1", "--runs", "500", "-q")
	if status != 1 {
		t.Fatalf("status %d, want 1:\n%s", status, out)
	}
	if n := strings.Count(out, "FAILURE in scenario swapoff-free"); n != 2 {
		t.Errorf("%d reports, want one per design:\n%s", n, out)
	}
	if !strings.Contains(out, "2 of 2 explorations failed: swapoff-free (classic), swapoff-free (table)") {
		t.Errorf("no summary of the failures:\n%s", out)
	}
}

// TestExploreProve: --prove on both designs finds seed 003's race with
// its fix reverted in each, and nothing with it on; seed 000's scenario
// in the table design skips the reverted half (the design has no code of
// the pin: every variant but the default is classic-only) and finds
// nothing with the fixes on.
func TestExploreProve(t *testing.T) {
	out, status := runUswap(t, "explore", "--scenario", "swapoff-free", "--design", "both", "--prove", "--strategy", "dfs:1", "--runs", "500", "-q")
	if status != 0 {
		t.Fatalf("status %d:\n%s", status, out)
	}
	for _, want := range []string{
		"swapoff-free     classic  reverted  found after",
		"swapoff-free     table    reverted  found after",
		"swapoff-free     table    fixed     nothing in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A race that needs another fix's code before it as well (the zram
	// races need seed 000's bypass unpinned) is proved with the other
	// choices of the budget that finds it.
	out, status = runUswap(t, "explore", "--scenario", "zram-notify-readahead", "--prove", "--runs", "2000", "-q")
	if status != 0 || !strings.Contains(out, "zram-notify-readahead classic  reverted  found after") {
		t.Errorf("status %d:\n%s", status, out)
	}
	out, status = runUswap(t, "explore", "--scenario", "swapcache-pin", "--design", "table", "--prove", "--strategy", "pct:3", "--runs", "50", "-q")
	if status != 0 || !strings.Contains(out, "swapcache-pin    table    reverted  skipped: does not apply in the table design: fix swapcache=none runs in the classic design only") ||
		!strings.Contains(out, "swapcache-pin    table    fixed     nothing in 50 schedules") {
		t.Fatalf("status %d:\n%s", status, out)
	}
}

// TestExploreDoesNotApply: a scenario for the classic design only is not
// run in the table design, and a line says so and why; explore --prove
// says the same.
func TestExploreDoesNotApply(t *testing.T) {
	for _, args := range [][]string{
		{"explore", "--scenario", "swapoff-bypass", "--design", "table", "--runs", "5", "-q"},
		{"explore", "--scenario", "swapoff-bypass", "--design", "table", "--prove", "--runs", "5", "-q"},
	} {
		out, status := runUswap(t, args...)
		if status != 0 || !strings.Contains(out, "does not apply in the table design: scenario swapoff-bypass is for the classic design only") ||
			strings.Contains(out, "schedules") {
			t.Errorf("%q: status %d:\n%s", args, status, out)
		}
		// --json says so too: explore's not_applying[], --prove's
		// skipped halves.
		out, status = runUswap(t, append(args[:len(args)-1:len(args)-1], "--json")...)
		var doc struct {
			NotApplying []struct{ Scenario, Design, Why string } `json:"not_applying"`
			Proof       []struct {
				Scenario, Design, Half, Skipped string
				Held                            bool
			} `json:"proof"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%q --json: %v:\n%s", args, err, out)
		}
		why := ""
		if slices.Contains(args, "--prove") {
			if len(doc.Proof) == 1 && doc.Proof[0].Held && doc.Proof[0].Half == "both" {
				why = doc.Proof[0].Skipped
			}
		} else if len(doc.NotApplying) == 1 && doc.NotApplying[0].Design == "table" {
			why = doc.NotApplying[0].Why
		}
		if status != 0 || !strings.HasPrefix(why, "does not apply in the table design: scenario swapoff-bypass") {
			t.Errorf("%q --json: status %d, no reason in:\n%s", args, status, out)
		}
	}
}

// TestClassicOnlyVariantRefused: a variant whose code only the classic
// design has is a usage error with --design table, before any work, in
// every command that builds a machine; the classic design runs it.
func TestClassicOnlyVariantRefused(t *testing.T) {
	for _, args := range [][]string{
		{"explore", "--scenario", "swapcache-pin", "--design", "table", "--revert", "swapcache", "--runs", "5", "-q"},
		{"explore", "--scenario", "cont-lock-carry", "--design", "both", "--fix", "cont-lock=none", "--runs", "5", "-q"},
		{"stress", "--design", "table", "--fix", "swapcache=map-lock", "--ops", "10"},
		{"bench", "usemem", "--design", "table", "--revert", "swapin-retry-sleep", "--size", "4M", "--limit", "2M"},
	} {
		out, status := runUswap(t, args...)
		if status != 2 || !strings.Contains(out, "runs in the classic design only") {
			t.Errorf("%q: status %d:\n%s", args, status, out)
		}
	}
	if out, status := runUswap(t, "explore", "--scenario", "swapcache-pin", "--design", "classic", "--fix", "swapcache=map-lock", "--runs", "5", "-q"); status != 0 {
		t.Errorf("map-lock in the classic design: status %d:\n%s", status, out)
	}
	// --revert all is every fix that has code before it in each design:
	// the table design keeps the classic-only ones at their default.
	out, status := runUswap(t, "explore", "--scenario", "swapoff-free", "--design", "both", "--revert", "all", "--strategy", "dfs:1", "--runs", "500", "-q")
	if status != 1 || !strings.Contains(out, "2 of 2 explorations failed") {
		t.Fatalf("--revert all --design both: status %d:\n%s", status, out)
	}
	_, table, _ := strings.Cut(out, "design: table; fixes: ")
	table, _, _ = strings.Cut(table, ")")
	if !strings.Contains(table, "swap-device=none") || strings.Contains(table, "swapcache=") || strings.Contains(table, "cont-lock=") {
		t.Errorf("the table design's fixes with --revert all: %s", table)
	}
}

// TestStressDesign: stress runs the table design and says so, in the
// header and in the report.
func TestStressDesign(t *testing.T) {
	out, status := runUswap(t, "stress", "--ops", "1500", "--tasks", "2", "--seed", "7", "--design", "table",
		"--ram", "2M", "--limit", "512K", "--map-size", "256K", "--checkpoint", "500", "--faults", "read:rate=0.002")
	if status != 0 || !strings.Contains(out, "--design table:") || !strings.Contains(out, "table design") || !strings.Contains(out, "violations 0") {
		t.Fatalf("status %d:\n%s", status, out)
	}
}

func TestDemo(t *testing.T) {
	out, status := runUswap(t, "demo", "--size", "4M", "--limit", "1M", "--comp", "zstd")
	if status != 0 || !strings.Contains(out, "check:   0 pages came back wrong") || !strings.Contains(out, "audit:   0 findings") {
		t.Fatalf("status %d:\n%s", status, out)
	}
	m := regexp.MustCompile(`load: +1024 pages; .* pgmajfault=(\d+) pswpin=(\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || m[2] == "0" {
		t.Errorf("the loads did not swap in:\n%s", out)
	}
}

// TestExploreRebuild checks --rebuild: the same schedules and scheduling
// points as on copied machines, and --json says which it was and why.
func TestExploreRebuild(t *testing.T) {
	type doc struct {
		Scenarios []struct {
			Scenario, Machine string
			BuiltWhy          string `json:"built_why"`
			Schedules         int
			Steps             int64
		}
	}
	read := func(args ...string) doc {
		t.Helper()
		out, status := runUswap(t, append([]string{"explore", "--runs", "200", "--strategy", "walk:0.9", "--json"}, args...)...)
		var d doc
		if err := json.Unmarshal([]byte(out), &d); status != 0 || err != nil {
			t.Fatalf("%q: status %d, %v:\n%s", args, status, err, out)
		}
		return d
	}
	copied := read("--scenario", "two-faults")
	built := read("--scenario", "two-faults", "--rebuild")
	if len(copied.Scenarios) != 1 || len(built.Scenarios) != 1 {
		t.Fatalf("copied %+v, built %+v", copied, built)
	}
	c, b := copied.Scenarios[0], built.Scenarios[0]
	if c.Machine != "copied" || b.Machine != "built" || !strings.Contains(b.BuiltWhy, "--rebuild") {
		t.Errorf("machine: copied run says %q, rebuilt run %q (%q)", c.Machine, b.Machine, b.BuiltWhy)
	}
	if c.Schedules != b.Schedules || c.Steps != b.Steps || c.Schedules != 200 {
		t.Errorf("copied: %d schedules, %d steps; built: %d, %d", c.Schedules, c.Steps, b.Schedules, b.Steps)
	}
	// A scenario whose set-up runs a task of its own cannot be copied,
	// and says so.
	if d := read("--scenario", "cont-lock-carry"); len(d.Scenarios) != 1 || d.Scenarios[0].Machine != "built" || !strings.Contains(d.Scenarios[0].BuiltWhy, "set-up runs tasks") {
		t.Errorf("cont-lock-carry: %+v", d)
	}
}
