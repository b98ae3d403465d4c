package fixes

import (
	"slices"
	"strings"
	"testing"
)

func TestDefaultIsMerged(t *testing.T) {
	d := Default()
	if d != (Set{}) {
		t.Fatal("Default() is not the zero Set")
	}
	for _, f := range All() {
		if got, want := d.Get(f), f.Info().Merged; got != want {
			t.Errorf("%s: default runs %s, want the merged %s", f, f.VariantName(got), f.VariantName(want))
		}
	}
	if got := d.String(); got != "default" {
		t.Errorf("Default().String() = %q", got)
	}
	if len(d.Changed()) != 0 || len(d.Reverted()) != 0 || len(d.Args()) != 0 {
		t.Errorf("Default() changes %v, reverts %v, args %v", d.Changed(), d.Reverted(), d.Args())
	}
}

func TestRevertAndChoose(t *testing.T) {
	for _, f := range All() {
		s := Default().Revert(f)
		if !s.Unfixed(f) || s.Get(f) != f.Info().Unfixed {
			t.Errorf("Revert(%s) runs %s", f, f.VariantName(s.Get(f)))
		}
		if got := s.Reverted(); !slices.Equal(got, []Fix{f}) {
			t.Errorf("Revert(%s).Reverted() = %v", f, got)
		}
		byName, err := Default().RevertName(f.String())
		if err != nil || byName != s {
			t.Errorf("RevertName(%s) = %v, %v", f, byName, err)
		}
		// Every variant round-trips through its NAME=VARIANT spelling,
		// and choosing the merged one gives the default back.
		for i, name := range f.VariantNames() {
			s, err := Default().Choose(f.String() + "=" + name)
			if err != nil {
				t.Fatalf("Choose(%s=%s): %v", f, name, err)
			}
			if s.Get(f) != Variant(i) {
				t.Errorf("Choose(%s=%s) runs %s", f, name, f.VariantName(s.Get(f)))
			}
			if (s == Default()) != (Variant(i) == f.Info().Merged) {
				t.Errorf("Choose(%s=%s) == Default() is %v", f, name, s == Default())
			}
			if Variant(i) != f.Info().Merged {
				if got, want := s.String(), f.String()+"="+name; got != want {
					t.Errorf("String() = %q, want %q", got, want)
				}
				if got := s.Args(); !slices.Equal(got, []string{"--fix", f.String() + "=" + name}) {
					t.Errorf("Args() = %v", got)
				}
			}
		}
		for _, alias := range f.Info().Aliases {
			if g, err := Lookup(alias); err != nil || g != f {
				t.Errorf("Lookup(alias %q) = %v, %v", alias, g, err)
			}
		}
	}
	all, err := Default().RevertName("all")
	if err != nil || len(all.Reverted()) != len(All()) {
		t.Errorf("RevertName(all) reverts %v, %v", all.Reverted(), err)
	}
}

func TestBadChoices(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"no-such-fix=none", "known: " + Names()[0]},
		{"swapcache", "NAME=VARIANT"},
		{"swapcache=", "NAME=VARIANT"},
		{"=none", "NAME=VARIANT"},
		{"swapcache=no-such-variant", "its variants: " + Swapcache.VariantNames()[0]},
	} {
		if _, err := Default().Choose(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Choose(%q) = %v, want an error containing %q", c.spec, err, c.want)
		}
	}
	if _, err := Default().RevertName("nope"); err == nil || !strings.Contains(err.Error(), "swapcache") {
		t.Errorf("RevertName(nope) = %v, want an error listing the fixes", err)
	}
}

func TestRegisterRejects(t *testing.T) {
	good := func() Info {
		return Info{Name: "test-fix", Commit: "0000 (test)", Race: "a race", Variants: []VariantInfo{
			{Name: "none", Status: StatusBefore, Source: "s", Doc: "d"}, {Name: "fixed", Status: StatusCurrent, Source: "s", Doc: "d"},
		}, Unfixed: 0, Merged: 1}
	}
	for name, mutate := range map[string]func(*Info){
		"bad name":            func(i *Info) { i.Name = "Bad Name" },
		"taken name":          func(i *Info) { i.Name = "swapcache" },
		"taken alias":         func(i *Info) { i.Aliases = []string{"swapcache-pin"} },
		"one variant":         func(i *Info) { i.Variants = i.Variants[:1] },
		"variant twice":       func(i *Info) { i.Variants[1].Name = "none" },
		"undocumented":        func(i *Info) { i.Variants[1].Doc = "" },
		"no status":           func(i *Info) { i.Variants[1].Status = 0 },
		"merged not current":  func(i *Info) { i.Variants[1].Status = StatusProposed },
		"unfixed current":     func(i *Info) { i.Variants[0].Status = StatusCurrent },
		"merged = unfixed":    func(i *Info) { i.Merged = 0 },
		"merged out of range": func(i *Info) { i.Merged = 2 },
		"no race":             func(i *Info) { i.Race = "" },
	} {
		info := good()
		mutate(&info)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register accepted it", name)
				}
			}()
			n := len(registry)
			defer func() { registry = registry[:n] }()
			Register(info)
		}()
	}
}

func TestCompletions(t *testing.T) {
	c := Completions()
	for _, f := range All() {
		for _, v := range f.VariantNames() {
			if !slices.Contains(c, f.String()+"="+v) {
				t.Errorf("completions lack %s=%s", f, v)
			}
		}
	}
}

func TestSetText(t *testing.T) {
	sets := []Set{Default(), Default().Revert(Swapcache), mustChoose(t, "swapcache=pin-sleep", "shmem-swapin=lock-in-undo")}
	for _, s := range sets {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Set
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%q round-trips to %v, %v", b, back, err)
		}
	}
	if _, err := ParseSet("swapcache=pin-sleep,nope=x"); err == nil {
		t.Error("ParseSet accepted an unknown fix")
	}
}

func mustChoose(t *testing.T, specs ...string) Set {
	t.Helper()
	s := Default()
	for _, c := range specs {
		var err error
		if s, err = s.Choose(c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}
