package invariant

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"uswap/design"
)

func TestNamesAndRules(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range All() {
		in := id.Info()
		if in.ID != id || in.Name == "" || !strings.HasSuffix(in.Rule, ".") {
			t.Errorf("invariant %d: %+v", id, in)
		}
		if seen[in.Name] {
			t.Errorf("name %q twice", in.Name)
		}
		seen[in.Name] = true
		if got, err := Lookup(in.Name); err != nil || got != id {
			t.Errorf("Lookup(%q) = %v, %v", in.Name, got, err)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "swap-count") {
		t.Errorf("Lookup(nope) = %v, want an error listing the names", err)
	}
	if got := ID(0).String(); got != "invariant#0" {
		t.Errorf("ID(0) = %q", got)
	}
}

func TestListAsError(t *testing.T) {
	l := List{
		Newf(SwapCount, "slot 0:5", "count %d, but %d PTEs hold it", 2, 1),
		Newf(NoLostData, "P", "A's store is lost"),
		Newf(SwapCount, "slot 0:6", "count 1, but 0 PTEs hold it"),
	}
	if got, want := l.Broken(), []ID{SwapCount, NoLostData}; !slices.Equal(got, want) {
		t.Errorf("Broken() = %v, want %v", got, want)
	}
	err := fmt.Errorf("check: %w", l.Err())
	var back List
	if !errors.As(err, &back) || len(back) != 3 {
		t.Fatalf("errors.As through a wrap: %v", back)
	}
	if got := l[0].String(); got != "swap-count: slot 0:5: count 2, but 1 PTEs hold it" {
		t.Errorf("String() = %q", got)
	}
	if !strings.Contains(l[1].Explain(), NoLostData.Rule()) {
		t.Errorf("Explain() lacks the rule: %q", l[1].Explain())
	}
	if List(nil).Err() != nil {
		t.Error("an empty list is an error")
	}
	if got := l.Strings(); len(got) != 3 || got[1] != "no-lost-data: P: A's store is lost" {
		t.Errorf("Strings() = %q", got)
	}
	want := "  swap-count: " + SwapCount.Rule() + "\n  no-lost-data: " + NoLostData.Rule() + "\n"
	if got := l.Rules("  "); got != want {
		t.Errorf("Rules() = %q, want %q", got, want)
	}
	tableWant := "  swap-count: " + SwapCount.RuleIn(design.Table) + "\n  no-lost-data: " + NoLostData.Rule() + "\n"
	if got := l.RulesIn(design.Table, "  "); got != tableWant || got == want {
		t.Errorf("RulesIn(table) = %q, want %q", got, tableWant)
	}
}

// TestRulePerDesign: the rules that name classic-only state (swap_map,
// SWAP_HAS_CACHE, count continuation) are stated in the table design's
// terms too, and RuleIn picks the design's sentence.
func TestRulePerDesign(t *testing.T) {
	for _, id := range All() {
		classic, table := id.RuleIn(design.Classic), id.RuleIn(design.Table)
		if classic != id.Rule() {
			t.Errorf("%s: RuleIn(classic) is not Rule()", id)
		}
		for _, word := range []string{"swap_map", "SWAP_HAS_CACHE", "continuation"} {
			if strings.Contains(table, word) {
				t.Errorf("%s: the table design's rule names %s: %q", id, word, table)
			}
		}
	}
	for _, id := range []ID{SlotAccounting, SwapCount, SwapCache} {
		if id.RuleIn(design.Table) == id.Rule() || !strings.Contains(id.RuleIn(design.Table), "swap table") {
			t.Errorf("%s: no table-design statement", id)
		}
	}
	v := Newf(SwapCache, "slot 0:1", "x")
	if !strings.Contains(v.ExplainIn(design.Table), "swap table entry") || strings.Contains(v.ExplainIn(design.Table), "SWAP_HAS_CACHE") {
		t.Errorf("ExplainIn(table) = %q", v.ExplainIn(design.Table))
	}
}
