// Package fixes names the race fixes uswap can run with, without, or in
// another form. Each race the kernel fixed (the three seed threads, and
// the races of the kernel's later history that uswap reproduces) is a
// Fix; the ways to run it are its Variants: the code before any fix, each
// candidate fix the thread weighed, the one the kernel merged and the
// kernel's later form. A system runs one variant of every fix, chosen in
// its configuration (a Set); the default is the variant the kernel merged.
//
// That is how uswap answers a design review's two questions: the
// explorer judges each variant (the race found, or nothing found), and
// the bench prices it.
//
// Fixes register themselves, one file each (seed000.go, ...), in
// package-level variables: registration order (file name order) numbers
// them, so that a Set is a small comparable array and a lookup on the hot
// path is an index. Engine code reads its fix's variant with Set.Get and
// compares it with the variant constants declared beside the
// registration.
package fixes

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"uswap/design"
)

// Fix is one race and the ways to close it.
type Fix uint8

// Variant is one way to run a Fix: an index into its Info.Variants.
type Variant uint8

// MaxFixes bounds the registry: a Set is an array of this many choices.
const MaxFixes = 64

// Info describes a fix: the race, where the fix comes from, and its
// variants.
type Info struct {
	// Name is what --fix NAME=VARIANT and --revert NAME take, in
	// lower-case words joined by hyphens: "swapcache".
	Name string
	// Aliases are earlier names that Lookup still accepts.
	Aliases []string
	// Thread is the seed thread the fix comes from ("000", "003",
	// "004"), or "" for a race of the kernel's later history.
	Thread string
	// Commit is the kernel commit that merged the fix, with its title:
	// "13ddaf26be32 (mm/swap: fix race when skipping swapcache)".
	Commit string
	// Race says in one line what goes wrong without the fix.
	Race string
	// Variants are the ways to run the fix; a Variant indexes them.
	Variants []VariantInfo
	// Unfixed is the variant that runs the code before any fix: what
	// --revert chooses. It is the code with the race the thread is about:
	// usually the kernel's before the fix (StatusBefore), or the patch
	// under review when the thread fixes that patch.
	Unfixed Variant
	// Merged is the variant the kernel runs (in the version uswap
	// follows): the last one merged, and the default. A variant merged
	// before it and replaced since has StatusMerged.
	Merged Variant
}

// Status says what became of a variant in the kernel.
type Status uint8

const (
	// StatusBefore is the code before any fix.
	StatusBefore Status = iota + 1
	// StatusProposed was proposed (in the thread, or as a patch) and
	// never merged.
	StatusProposed
	// StatusMerged was merged, then replaced.
	StatusMerged
	// StatusCurrent is the kernel's form: the default.
	StatusCurrent
	// StatusLater is the kernel's later form, beyond the design this
	// engine models.
	StatusLater
)

var statusNames = [...]string{
	StatusBefore:   "before",
	StatusProposed: "proposed",
	StatusMerged:   "merged, replaced",
	StatusCurrent:  "kernel",
	StatusLater:    "later kernel",
}

func (s Status) String() string {
	if s > 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status?"
}

// VariantInfo is one way to run a fix.
type VariantInfo struct {
	// Name is what --fix NAME=VARIANT takes: "pin-sleep".
	Name string
	// Status says what became of it in the kernel.
	Status Status
	// Source says who proposed it and where: a message of the thread, a
	// patch version, a commit.
	Source string
	// Doc says what the variant does, in a sentence or two.
	Doc string
	// ClassicOnly says why the variant has no code in the table design
	// of the swap core (package design; docs/swap-table.md): it works on
	// what only the classic design has (SWAP_HAS_CACHE pins, the
	// bypass, swap_map bytes, count continuation). "" when it runs in
	// both designs. A Set that chooses such a variant is refused by a
	// table-design system (CheckDesign) before any work; the fix's
	// default variant is never refused: in the table design it stands
	// for the table design's own code.
	ClassicOnly string
}

var (
	registry []Info
	nameRE   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// Register adds a fix to the registry and returns its Fix. It is called
// from package-level variable declarations; a malformed Info (a bad or
// duplicate name, a variant out of range) panics at start-up.
func Register(info Info) Fix {
	if len(registry) >= MaxFixes {
		panic(fmt.Sprintf("fixes: more than %d fixes; raise MaxFixes", MaxFixes))
	}
	names := append([]string{info.Name}, info.Aliases...)
	for _, n := range names {
		if !nameRE.MatchString(n) {
			panic(fmt.Sprintf("fixes: bad fix name %q", n))
		}
		if _, err := Lookup(n); err == nil {
			panic(fmt.Sprintf("fixes: fix name %q registered twice", n))
		}
	}
	if len(info.Variants) < 2 || len(info.Variants) > 255 {
		panic(fmt.Sprintf("fixes: %s has %d variants, want 2 to 255", info.Name, len(info.Variants)))
	}
	for i, v := range info.Variants {
		if !nameRE.MatchString(v.Name) || v.Doc == "" || v.Source == "" || v.Status == 0 || int(v.Status) >= len(statusNames) {
			panic(fmt.Sprintf("fixes: %s: variant %d (%q) needs a name, a status, a source and a doc", info.Name, i, v.Name))
		}
		for _, w := range info.Variants[:i] {
			if w.Name == v.Name {
				panic(fmt.Sprintf("fixes: %s: variant %q twice", info.Name, v.Name))
			}
		}
	}
	if int(info.Unfixed) >= len(info.Variants) || int(info.Merged) >= len(info.Variants) || info.Unfixed == info.Merged {
		panic(fmt.Sprintf("fixes: %s: Unfixed %d and Merged %d must be two of its %d variants", info.Name, info.Unfixed, info.Merged, len(info.Variants)))
	}
	if info.Variants[info.Merged].Status != StatusCurrent || info.Variants[info.Unfixed].Status == StatusCurrent {
		panic(fmt.Sprintf("fixes: %s: the merged variant must have StatusCurrent, and only it", info.Name))
	}
	if info.Race == "" || info.Commit == "" {
		panic(fmt.Sprintf("fixes: %s needs its race and its commit", info.Name))
	}
	registry = append(registry, info)
	return Fix(len(registry) - 1)
}

// All lists every fix, in registration order.
func All() []Fix {
	fs := make([]Fix, len(registry))
	for i := range fs {
		fs[i] = Fix(i)
	}
	return fs
}

// Names lists every fix's name, in registration order.
func Names() []string {
	n := make([]string, len(registry))
	for i := range registry {
		n[i] = registry[i].Name
	}
	return n
}

// Lookup finds a fix by its name or an alias; an unknown name is an error
// that lists the known ones.
func Lookup(name string) (Fix, error) {
	for i := range registry {
		if registry[i].Name == name || slices.Contains(registry[i].Aliases, name) {
			return Fix(i), nil
		}
	}
	return 0, fmt.Errorf("unknown fix %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Info returns the fix's description.
func (f Fix) Info() *Info { return &registry[f] }

// String is the fix's name.
func (f Fix) String() string {
	if int(f) < len(registry) {
		return registry[f].Name
	}
	return fmt.Sprintf("fix#%d", f)
}

// VariantName is the name of variant v of f.
func (f Fix) VariantName(v Variant) string {
	vs := registry[f].Variants
	if int(v) < len(vs) {
		return vs[v].Name
	}
	return fmt.Sprintf("variant#%d", v)
}

// Variant finds a variant of f by name; an unknown name is an error that
// lists the fix's variants.
func (f Fix) Variant(name string) (Variant, error) {
	for i, v := range registry[f].Variants {
		if v.Name == name {
			return Variant(i), nil
		}
	}
	return 0, fmt.Errorf("fix %s has no variant %q (its variants: %s)", f, name, strings.Join(f.VariantNames(), ", "))
}

// ClassicOnly is why variant v of f cannot run in the table design, or
// "" if it can (VariantInfo.ClassicOnly).
func (f Fix) ClassicOnly(v Variant) string {
	vs := registry[f].Variants
	if int(v) < len(vs) {
		return vs[v].ClassicOnly
	}
	return ""
}

// RunsIn reports whether a system of design d can run variant v of f: a
// classic-only variant runs only in the classic design, unless it is the
// fix's default (CheckDesign).
func (f Fix) RunsIn(v Variant, d design.Design) bool {
	return d == design.Classic || v == registry[f].Merged || f.ClassicOnly(v) == ""
}

// VariantNames lists f's variants, in order.
func (f Fix) VariantNames() []string {
	var n []string
	for _, v := range registry[f].Variants {
		n = append(n, v.Name)
	}
	return n
}

// Set chooses a variant of every fix. The zero Set, like Default(), runs
// every fix as the kernel merged it. A Set is a value: systems copy it
// and never change it.
type Set struct {
	// v[f] is 0 for f's merged variant, else the chosen variant plus 1,
	// so that the zero Set is the default.
	v [MaxFixes]uint8
}

// Default runs every fix as the kernel merged it.
func Default() Set { return Set{} }

// Get is the variant s runs for f.
func (s Set) Get(f Fix) Variant {
	if c := s.v[f]; c != 0 {
		return Variant(c - 1)
	}
	return registry[f].Merged
}

// Unfixed reports whether s runs f's code from before any fix.
func (s Set) Unfixed(f Fix) bool { return s.Get(f) == registry[f].Unfixed }

// With returns s running variant v of f.
func (s Set) With(f Fix, v Variant) Set {
	if int(v) >= len(registry[f].Variants) {
		panic(fmt.Sprintf("fixes: %s has no variant %d", f, v))
	}
	if v == registry[f].Merged {
		s.v[f] = 0
	} else {
		s.v[f] = uint8(v) + 1
	}
	return s
}

// Revert returns s running f's code from before any fix.
func (s Set) Revert(f Fix) Set { return s.With(f, registry[f].Unfixed) }

// RevertName is Revert by name; "all" reverts every fix.
func (s Set) RevertName(name string) (Set, error) {
	if name == "all" {
		for _, f := range All() {
			s = s.Revert(f)
		}
		return s, nil
	}
	f, err := Lookup(name)
	if err != nil {
		return s, err
	}
	return s.Revert(f), nil
}

// Choose applies one NAME=VARIANT choice, as --fix takes it.
func (s Set) Choose(spec string) (Set, error) {
	f, v, err := ParseChoice(spec)
	if err != nil {
		return s, err
	}
	return s.With(f, v), nil
}

// ParseChoice parses NAME=VARIANT.
func ParseChoice(spec string) (Fix, Variant, error) {
	name, variant, ok := strings.Cut(spec, "=")
	if !ok || name == "" || variant == "" {
		return 0, 0, fmt.Errorf("fix choice %q: want NAME=VARIANT, for example %s", spec, Completions()[0])
	}
	f, err := Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	v, err := f.Variant(variant)
	if err != nil {
		return 0, 0, err
	}
	return f, v, nil
}

// Changed lists the fixes whose variant in s is not the merged one, in
// registration order.
func (s Set) Changed() []Fix {
	var fs []Fix
	for _, f := range All() {
		if s.v[f] != 0 {
			fs = append(fs, f)
		}
	}
	return fs
}

// CheckDesign reports the first choice of s that a system of design d
// cannot run: a classic-only variant (VariantInfo.ClassicOnly) in the
// table design. The error names the fix, the variant and the reason.
func (s Set) CheckDesign(d design.Design) error {
	for _, f := range s.Changed() {
		if v := s.Get(f); !f.RunsIn(v, d) {
			return fmt.Errorf("fix %s=%s runs in the classic design only (%s); choose --design classic, or leave %s at its default",
				f, f.VariantName(v), f.ClassicOnly(v), f)
		}
	}
	return nil
}

// RevertedIn is s for a machine of design d when s came from "revert
// all": every fix d has no code before the fix for (its unfixed variant
// is classic-only) goes back to the merged variant, and stays reverted
// wherever that code exists. Other choices are kept.
func (s Set) RevertedIn(d design.Design) Set {
	for _, f := range s.Changed() {
		if v := s.Get(f); v == registry[f].Unfixed && !f.RunsIn(v, d) {
			s = s.With(f, registry[f].Merged)
		}
	}
	return s
}

// Reverted lists the fixes s runs unfixed, in registration order.
func (s Set) Reverted() []Fix {
	var fs []Fix
	for _, f := range All() {
		if s.Unfixed(f) {
			fs = append(fs, f)
		}
	}
	return fs
}

// String lists the choices that differ from the default as
// NAME=VARIANT,...; "default" when there are none.
func (s Set) String() string {
	ch := s.Changed()
	if len(ch) == 0 {
		return "default"
	}
	parts := make([]string, len(ch))
	for i, f := range ch {
		parts[i] = f.String() + "=" + f.VariantName(s.Get(f))
	}
	return strings.Join(parts, ",")
}

// Args is s as command-line flags (--fix NAME=VARIANT ...), the way a
// replay command reproduces it; empty for the default.
func (s Set) Args() []string {
	var a []string
	for _, f := range s.Changed() {
		a = append(a, "--fix", f.String()+"="+f.VariantName(s.Get(f)))
	}
	return a
}

// Completions lists every NAME=VARIANT choice, for shell completion.
func Completions() []string {
	var c []string
	for _, f := range All() {
		for _, v := range f.VariantNames() {
			c = append(c, f.String()+"="+v)
		}
	}
	return c
}

// ParseSet parses a Set as String prints it: "default" (or ""), or
// NAME=VARIANT choices separated by commas.
func ParseSet(text string) (Set, error) {
	s := Default()
	if text == "" || text == "default" {
		return s, nil
	}
	for _, c := range strings.Split(text, ",") {
		var err error
		if s, err = s.Choose(strings.TrimSpace(c)); err != nil {
			return Default(), err
		}
	}
	return s, nil
}

// MarshalText is String, so that a Set reads well in JSON.
func (s Set) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is ParseSet.
func (s *Set) UnmarshalText(b []byte) error {
	p, err := ParseSet(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}
