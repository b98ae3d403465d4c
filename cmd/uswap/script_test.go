package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// newScript is a scenario script written outside the tree.
const newScript = `# fault-swapoff: a fault against swapoff (swapoff-swapin, smaller).
scenario fix=swap-device seed=003 panic=no-use-after-swapoff
a fault on a swapped-out page races swapoff
----

machine frames=16 page-cluster=0
device ram pages=10
----

setup
map P pages=1
store P[0] fill=0x3c
pageout P[0]
----

task fault
load P[0] fill=0x3c
----

task swapoff
swapoff 0
----

check
audit
----

explore revert strategy=dfs:1 runs=100
----
found no-use-after-swapoff

explore strategy=pct:3 runs=30
----
nothing found
`

func TestExploreScriptFromDisk(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fault-swapoff.txt")
	if err := os.WriteFile(file, []byte(newScript), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runUswap(t, "explore", "--script", file, "--list")
	if code != 0 || !regexp.MustCompile(`fault-swapoff +seed 003 +fix swap-device`).MatchString(out) || !strings.Contains(out, "swapcache-pin") {
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
	if code != 0 || strings.Count(out, ": ok\n") != 2 {
		t.Fatalf("--budgets: status %d:\n%s", code, out)
	}
	// A budget whose expectation is wrong is reported, status 1.
	wrong := strings.Replace(newScript, "found no-use-after-swapoff", "found no-lost-data", 1)
	if err := os.WriteFile(file, []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runUswap(t, "explore", "--script", file, "--budgets")
	if code != 1 || !strings.Contains(out, "DIFFERS: want found no-lost-data") {
		t.Fatalf("--budgets with a wrong expectation: status %d:\n%s", code, out)
	}
	// A bad script is a usage error naming the file and line.
	if err := os.WriteFile(file, []byte(strings.Replace(newScript, "swapoff 0", "swapout 0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runUswap(t, "explore", "--script", file, "--list")
	if code != 2 || !strings.Contains(out, file+": line 21: unknown verb") {
		t.Fatalf("bad script: status %d:\n%s", code, out)
	}
}
