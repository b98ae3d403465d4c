package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// newScript is a scenario script outside the tree: swapoff-swapin's,
// with two small budgets of its own.
func newScript(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../explore/testdata/scenarios/swapoff-swapin.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	s = s[:strings.Index(s, "\nexplore ")+1]
	return s + "explore revert strategy=dfs:1 runs=100\n----\nfound no-use-after-swapoff\n\n" +
		"explore strategy=pct:3 runs=30\n----\nnothing found\n"
}

func TestExploreScriptFromDisk(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fault-swapoff.txt")
	script := newScript(t)
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runUswap(t, "explore", "--script", file, "--list")
	if code != 0 || !regexp.MustCompile(`fault-swapoff +seed 003 +fix swap-device +eb085574a752`).MatchString(out) || !strings.Contains(out, "swapcache-pin") {
		t.Fatalf("--list with --script: status %d:\n%s", code, out)
	}
	out, code = runUswap(t, "explore", "--script", file, "--revert", "swap-device", "--strategy", "dfs:1", "--runs", "100")
	if code != 1 || !strings.Contains(out, "FAILURE in scenario fault-swapoff") || !strings.Contains(out, "no-use-after-swapoff") ||
		!strings.Contains(out, "replay   uswap explore --script "+file+" --fix swap-device=none --replay '") {
		t.Fatalf("--script with the fix reverted: status %d:\n%s", code, out)
	}
	m := regexp.MustCompile(`(?m)^  choices  (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no choices line:\n%s", out)
	}
	rout, rcode := runUswap(t, "explore", "--script", file, "--fix", "swap-device=none", "--replay", m[1])
	if rcode != 1 || !strings.Contains(rout, "no-use-after-swapoff") {
		t.Fatalf("the replay of a script from disk: status %d:\n%s", rcode, rout)
	}
	out, code = runUswap(t, "explore", "--script", file, "--budgets")
	if code != 0 || strings.Count(out, ": ok\n") != 4 || !strings.Contains(out, "table design") { // two budgets, in each design
		t.Fatalf("--budgets: status %d:\n%s", code, out)
	}
	// A budget whose expectation is wrong is reported, status 1.
	wrong := strings.Replace(script, "found no-use-after-swapoff", "found no-lost-data", 1)
	if err := os.WriteFile(file, []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runUswap(t, "explore", "--script", file, "--budgets")
	if code != 1 || !strings.Contains(out, "DIFFERS: want found no-lost-data") {
		t.Fatalf("--budgets with a wrong expectation: status %d:\n%s", code, out)
	}
	// A bad script is a usage error naming the file and line.
	if err := os.WriteFile(file, []byte(strings.Replace(script, "swapoff 0", "swapout 0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runUswap(t, "explore", "--script", file, "--list")
	if code != 2 || !strings.Contains(out, file+": line 43: unknown verb") {
		t.Fatalf("bad script: status %d:\n%s", code, out)
	}
}
