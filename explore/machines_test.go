package explore

import (
	"testing"

	"uswap/design"
	"uswap/fixes"
)

// TestCopiedMachinesExploreAsBuilt checks, for every scenario in every
// design it applies to, with every fix on and with its race's fixes,
// that an exploration on copies of one machine (machines.go) has the same
// Outcome as one that builds every schedule's machine: the same runs, the
// same scheduling points in all (every schedule made the same decisions
// for as long), and the same failure with the same choices. It also
// checks that every scenario but cont-lock-carry (whose set-up runs a
// task of its own) is copied.
func TestCopiedMachinesExploreAsBuilt(t *testing.T) {
	runs, failed := 40, 0
	if testing.Short() || raceEnabled {
		runs = 15
	}
	for _, s := range Scenarios() {
		for _, d := range design.All() {
			if !s.AppliesIn(d) {
				continue
			}
			// Every fix on, explored by a random walk; the race's fixes,
			// by PCT, which finds most races within these runs.
			sets, specs := []fixes.Set{fixes.Default()}, []string{"walk:0.9"}
			if s.RaceIn(d) {
				sets, specs = append(sets, s.RaceFixes(d, fixes.Default())), append(specs, "pct:3")
			}
			for k, fx := range sets {
				for _, spec := range specs[k : k+1] {
					cfg := Config{Scenario: s, Fixes: fx, Design: d, Strategy: MustSpec(spec), Runs: runs, Seed: 11, Workers: 2, AsFound: true}
					copied, err := Explore(cfg)
					if err != nil {
						t.Fatalf("%s/%s/%s: %v", s.Name, d, spec, err)
					}
					cfg.Rebuild = true
					built, err := Explore(cfg)
					if err != nil {
						t.Fatalf("%s/%s/%s rebuilt: %v", s.Name, d, spec, err)
					}
					name := s.Name + "/" + d.String() + "/" + fx.String() + "/" + spec
					wantCopied := s.Name != "cont-lock-carry"
					if copied.Copied != wantCopied {
						t.Errorf("%s: copied = %v (%s), want %v", name, copied.Copied, copied.BuiltWhy, wantCopied)
					}
					if built.Copied || built.BuiltWhy == "" {
						t.Errorf("%s: Rebuild copied machines", name)
					}
					if copied.Runs != built.Runs || copied.Steps != built.Steps || (copied.Failure == nil) != (built.Failure == nil) {
						t.Fatalf("%s: copied: %d runs, %d steps, failure %v; built: %d runs, %d steps, failure %v",
							name, copied.Runs, copied.Steps, copied.Failure != nil, built.Runs, built.Steps, built.Failure != nil)
					}
					if copied.Failure != nil {
						failed++
					}
					if copied.Failure != nil && (copied.Failure.Choices != built.Failure.Choices || copied.Failure.Broken() != built.Failure.Broken()) {
						t.Fatalf("%s: copied found %s (%s), built %s (%s)", name, copied.Failure.Choices, copied.Failure.Broken(), built.Failure.Choices, built.Failure.Broken())
					}
				}
			}
		}
	}
	if failed < 10 {
		t.Errorf("only %d explorations found their race: too few failures compared", failed)
	}
	t.Logf("%d explorations compared failures", failed)
}
