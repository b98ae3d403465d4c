package invariant

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
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
}
