package fixes

import (
	"reflect"
	"strings"
	"testing"
)

func TestRevert(t *testing.T) {
	all := All()
	if got := all.Reverted(); len(got) != 0 {
		t.Fatalf("All() reverts %v", got)
	}
	for _, name := range Names() {
		s, err := all.Revert(name)
		if err != nil {
			t.Fatalf("Revert(%q): %v", name, err)
		}
		if got := s.Reverted(); !reflect.DeepEqual(got, []string{name}) {
			t.Errorf("Revert(%q).Reverted() = %v", name, got)
		}
		if Describe(name) == "" {
			t.Errorf("fix %q has no description", name)
		}
	}
	if _, err := all.Revert("no-such-fix"); err == nil || !strings.Contains(err.Error(), "swapcache-pin") {
		t.Errorf("unknown fix: err = %v, want one listing the known fixes", err)
	}
	// Every field of Set is covered by the table.
	if n := reflect.TypeOf(Set{}).NumField(); n != len(table) {
		t.Errorf("Set has %d switches, the name table %d", n, len(table))
	}
}
