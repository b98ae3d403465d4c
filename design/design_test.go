package design

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, d := range All() {
		got, err := Parse(d.String())
		if err != nil || got != d {
			t.Errorf("Parse(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := Parse("swapmap"); err == nil || !strings.Contains(err.Error(), "classic, table") {
		t.Errorf("Parse(swapmap) = %v, want an error listing the designs", err)
	}
	if Design(0) != Classic {
		t.Error("the zero Design is not Classic")
	}
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Design
	}{
		{"classic", []Design{Classic}},
		{"table,classic", []Design{Table, Classic}},
		{"table, table", []Design{Table}},
		{"both", []Design{Classic, Table}},
		{"all", []Design{Classic, Table}},
	} {
		got, err := ParseList(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "classic,", "table,x"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
}

func TestText(t *testing.T) {
	for _, d := range All() {
		b, err := d.MarshalText()
		if err != nil || string(b) != d.String() {
			t.Errorf("MarshalText(%v) = %q, %v", d, b, err)
		}
		var got Design
		if err := got.UnmarshalText(b); err != nil || got != d {
			t.Errorf("UnmarshalText(%q) = %v, %v", b, got, err)
		}
	}
	if _, err := Design(9).MarshalText(); err == nil {
		t.Error("MarshalText of an unknown design succeeded")
	}
	var d Design
	if err := d.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText(nope) succeeded")
	}
}
