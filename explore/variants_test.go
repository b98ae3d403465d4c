package explore

import (
	"testing"

	"uswap/fixes"
)

// TestEveryVariantBudgeted: a scenario that belongs to a fix has a budget
// for every variant of the fix (the code before it with revert, the
// kernel's with no choice, the others with variant=), so that the tests
// judge every variant on every scenario of its fix, and a new variant
// needs its verdicts.
func TestEveryVariantBudgeted(t *testing.T) {
	for _, s := range Scenarios() {
		if s.NoFix {
			continue
		}
		seen := map[fixes.Variant]bool{}
		for _, b := range s.Budgets {
			fx, err := b.FixSet()
			if err != nil {
				t.Fatalf("%s: %v: %v", s.Name, b, err)
			}
			seen[fx.Get(s.Fix)] = true
		}
		for i, name := range s.Fix.VariantNames() {
			if !seen[fixes.Variant(i)] {
				t.Errorf("%s: no budget runs %s=%s", s.Name, s.Fix, name)
			}
		}
	}
}
