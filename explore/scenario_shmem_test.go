package explore

import (
	"bytes"
	"testing"

	"uswap/fixes"
)

func TestShmemSwapinScenario(t *testing.T) {
	s, err := Lookup("shmem-swapin")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"pct:3", "dfs:1", "random"} {
		t.Run("reverted/"+spec, func(t *testing.T) {
			o, err := Explore(Config{Scenario: s, Fixes: revertedFix(t, s), Strategy: MustSpec(spec), Runs: 50, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if o.Failure == nil {
				t.Fatalf("no failure in %d runs with the fix reverted", o.Runs)
			}
			t.Logf("found on run %d: %s", o.Runs, o.Failure.Broken())
		})
		t.Run("on/"+spec, func(t *testing.T) {
			runs := 300
			if testing.Short() {
				runs = 50
			}
			o, err := Explore(Config{Scenario: s, Fixes: fixes.Default(), Strategy: MustSpec(spec), Runs: runs, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if o.Failure != nil {
				var buf bytes.Buffer
				WriteReport(&buf, o.Failure)
				t.Fatalf("failure with every fix on:\n%s", buf.String())
			}
		})
	}
}
