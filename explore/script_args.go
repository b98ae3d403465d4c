package explore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"uswap/invariant"
	"uswap/mem"
	"uswap/workload"
)

// This file holds the pieces the verbs of a script are built from: the
// arguments of one line, page references (P[8], P[0..7], P), page
// contents (fill=0xa5, pattern=7, zero) and their expressions in the
// page index (fill=0x10+i).

// args gives a verb the arguments of its line, one by one, and reports
// what it left unused.
type args struct {
	o    opLine
	used []bool
}

func newArgs(o opLine) *args { return &args{o: o, used: make([]bool, len(o.args))} }

// errorf is an error at the line.
func (a *args) errorf(format string, v ...any) error {
	return fmt.Errorf("line %d: %s: %s", a.o.line, a.o.text, fmt.Sprintf(format, v...))
}

// flag reports whether the word key is present (and uses it).
func (a *args) flag(key string) bool {
	for i, x := range a.o.args {
		if !a.used[i] && x.Key == key && len(x.Vals) == 0 {
			a.used[i] = true
			return true
		}
	}
	return false
}

// words takes the unused arguments without values, in order: the
// positional ones (names, page references). The content word "zero" is
// not one: parseContents takes it.
func (a *args) words() []string {
	var w []string
	for i, x := range a.o.args {
		if !a.used[i] && len(x.Vals) == 0 && x.Key != "zero" {
			a.used[i] = true
			w = append(w, x.Key)
		}
	}
	return w
}

// vals takes key's values; ok is false when key is absent.
func (a *args) vals(key string) ([]string, bool) {
	for i, x := range a.o.args {
		if !a.used[i] && x.Key == key && len(x.Vals) > 0 {
			a.used[i] = true
			return x.Vals, true
		}
	}
	return nil, false
}

// str takes key's single value, or def when key is absent.
func (a *args) str(key, def string) (string, error) {
	v, ok := a.vals(key)
	if !ok {
		return def, nil
	}
	if len(v) != 1 {
		return "", a.errorf("%s takes one value, not %d", key, len(v))
	}
	return v[0], nil
}

// num takes key's value as a non-negative integer (decimal, 0x hex), or
// def when key is absent.
func (a *args) num(key string, def int64) (int64, error) {
	s, err := a.str(key, "")
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 0 {
		return 0, a.errorf("%s=%s is not a number >= 0", key, s)
	}
	return n, nil
}

// need takes key's value as a number above 0; its absence is an error
// saying what the number is.
func (a *args) need(key, what string) (int64, error) {
	n, err := a.num(key, 0)
	if err == nil && n <= 0 {
		err = a.errorf("%s=N (%s) is required and above 0", key, what)
	}
	return n, err
}

// onOff takes key's value as on/off (yes/no, true/false), or def.
func (a *args) onOff(key string, def bool) (bool, error) {
	s, err := a.str(key, "")
	if err != nil || s == "" {
		return def, err
	}
	switch s {
	case "on", "yes", "true":
		return true, nil
	case "off", "no", "false":
		return false, nil
	}
	return false, a.errorf("%s=%s: want on or off", key, s)
}

// done fails on any argument no one took.
func (a *args) done() error {
	var left []string
	for i, x := range a.o.args {
		if !a.used[i] {
			left = append(left, x.String())
		}
	}
	if len(left) > 0 {
		return a.errorf("%s does not take %s", a.o.verb, strings.Join(left, " "))
	}
	return nil
}

// pageRef is a range of pages of a mapping or a shmem file: NAME[i],
// NAME[lo..hi] (both included) or NAME (all of them).
type pageRef struct {
	name   string
	lo, hi int // pages lo..hi, included
}

func (p pageRef) String() string {
	if p.lo == p.hi {
		return fmt.Sprintf("%s[%d]", p.name, p.lo)
	}
	return fmt.Sprintf("%s[%d..%d]", p.name, p.lo, p.hi)
}

// parsePageRef reads a page reference; pages is the size of the named
// object, for the bounds check and for a bare NAME.
func parsePageRef(s string, pages func(name string) (int, error)) (pageRef, error) {
	name, rest, hasIdx := strings.Cut(s, "[")
	n, err := pages(name)
	if err != nil {
		return pageRef{}, err
	}
	if !hasIdx {
		if n <= 0 {
			return pageRef{}, fmt.Errorf("%s has no pages", name)
		}
		return pageRef{name: name, lo: 0, hi: n - 1}, nil
	}
	idx, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return pageRef{}, fmt.Errorf("%q: want NAME[i] or NAME[lo..hi]", s)
	}
	los, his, isRange := strings.Cut(idx, "..")
	lo, err1 := strconv.Atoi(los)
	hi := lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(his)
	}
	if err1 != nil || err2 != nil || lo < 0 || hi < lo {
		return pageRef{}, fmt.Errorf("%q: bad page index (want i or lo..hi with lo <= hi)", s)
	}
	if hi >= n {
		return pageRef{}, fmt.Errorf("%q: %s has %d pages (0..%d)", s, name, n, n-1)
	}
	return pageRef{name: name, lo: lo, hi: hi}, nil
}

// expr is a value in the page index i: a sum of terms, each a number
// or i ("0x10+i").
type expr struct {
	c    uint64 // the constant terms' sum
	nI   uint64 // how many times i is added
	text string
}

func parseExpr(s string) (expr, error) {
	e := expr{text: s}
	for _, term := range strings.Split(s, "+") {
		term = strings.TrimSpace(term)
		if term == "i" {
			e.nI++
			continue
		}
		v, err := strconv.ParseUint(term, 0, 64)
		if err != nil {
			return e, fmt.Errorf("%q: each term of a sum is a number or i", s)
		}
		e.c += v
	}
	return e, nil
}

func (e expr) at(i int) uint64 { return e.c + e.nI*uint64(i) }

// content is what a page holds: every byte the same (fill=V, zero), or
// the stress workload's pattern for a value (pattern=V: the page's
// first word is V and every byte depends on it, so a page that moved
// or went stale is caught).
type content struct {
	pattern bool
	v       expr
}

func (c content) String() string {
	if c.pattern {
		return "pattern=" + c.v.text
	}
	return "fill=" + c.v.text
}

// parseContents reads the content arguments of a line: fill=, pattern=
// (one value, or several alternatives in parentheses), zero. At most one
// kind may be given; none gives nil. pages are the indices the content
// applies to, for the range check of fill bytes.
func parseContents(a *args, lo, hi int) ([]content, error) {
	var out []content
	kinds := 0
	if a.flag("zero") {
		kinds++
		out = append(out, content{v: expr{text: "0"}})
	}
	for _, k := range []string{"fill", "pattern"} {
		vs, ok := a.vals(k)
		if !ok {
			continue
		}
		kinds++
		for _, s := range vs {
			e, err := parseExpr(s)
			if err != nil {
				return nil, a.errorf("%s: %v", k, err)
			}
			if k == "fill" && (e.at(lo) > 0xff || e.at(hi) > 0xff) {
				return nil, a.errorf("fill=%s is more than a byte (0..0xff) on pages %d..%d", s, lo, hi)
			}
			out = append(out, content{pattern: k == "pattern", v: e})
		}
	}
	if kinds > 1 {
		return nil, a.errorf("give one of fill=, pattern= and zero")
	}
	return out, nil
}

// make writes c's page i into buf.
func (c content) make(buf []byte, i int) {
	v := c.v.at(i)
	if c.pattern {
		workload.FillPage(buf, v, workload.Mixed)
		return
	}
	if len(buf) == 0 {
		return
	}
	buf[0] = byte(v)
	for n := 1; n < len(buf); n *= 2 {
		copy(buf[n:], buf[:n])
	}
}

// check compares got (page i, a whole page) with c: -1 if it matches,
// else the first byte that differs.
func (c content) check(got []byte, scratch func() []byte, i int) int {
	if !c.pattern {
		b := byte(c.v.at(i))
		word := uint64(b) * 0x0101010101010101
		k := 0
		for ; k+8 <= len(got); k += 8 {
			if binary.LittleEndian.Uint64(got[k:]) != word {
				break
			}
		}
		for ; k < len(got); k++ {
			if got[k] != b {
				return k
			}
		}
		return -1
	}
	want := scratch()
	c.make(want, i)
	if bytes.Equal(got, want[:len(got)]) {
		return -1
	}
	for k := range got {
		if got[k] != want[k] {
			return k
		}
	}
	return -1
}

// checkContents compares a loaded page with its alternatives: nil if one
// matches, else a no-lost-data violation on obj (named only then).
func checkContents(obj func() string, got []byte, scratch func() []byte, i int, want []content) error {
	first := -1
	for _, c := range want {
		k := c.check(got, scratch, i)
		if k < 0 {
			return nil
		}
		if first < 0 {
			first = k
		}
	}
	alts := make([]string, len(want))
	for k, c := range want {
		alts[k] = c.String()
	}
	exp := "a page of " + strings.Join(alts, " or ")
	return invariant.Newf(invariant.NoLostData, obj(), "byte %d is %#x, want %s", first, got[first], exp)
}

// pageBytes is a page count in bytes.
func pageBytes(n int) uint64 { return uint64(n) * mem.PageSize }
