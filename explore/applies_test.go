package explore

import (
	"strings"
	"testing"

	"uswap/design"
	"uswap/fixes"
)

// TestDoesNotApply: a scenario for the other design, and a variant whose
// code only the classic design has, do not apply in the table design,
// with the reason; everything applies in the classic design.
func TestDoesNotApply(t *testing.T) {
	bypass, err := Lookup("swapoff-bypass") // design=classic
	if err != nil {
		t.Fatal(err)
	}
	pin, err := Lookup("swapcache-pin") // both designs
	if err != nil {
		t.Fatal(err)
	}
	unfixed := fixes.Default().Revert(fixes.Swapcache)
	for _, tc := range []struct {
		sc   *Scenario
		fx   fixes.Set
		d    design.Design
		want string
	}{
		{bypass, fixes.Default(), design.Classic, ""},
		{bypass, fixes.Default(), design.Table, "does not apply in the table design: scenario swapoff-bypass is for the classic design only"},
		{pin, fixes.Default(), design.Table, ""},
		{pin, unfixed, design.Classic, ""},
		{pin, unfixed, design.Table, "does not apply in the table design: fix swapcache=none runs in the classic design only (the table design has no bypass"},
		{nil, unfixed, design.Table, "does not apply in the table design: fix swapcache=none runs in the classic design only"},
		{nil, fixes.Default().Revert(fixes.SwapDevice), design.Table, ""},
	} {
		got := DoesNotApply(tc.sc, tc.fx, tc.d)
		if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("DoesNotApply(%v, %v, %v) = %q, want %q", tc.sc, tc.fx, tc.d, got, tc.want)
		}
	}
}
