// Package mutation reads and applies the project's protocol mutations:
// small, named breakages of one step of a real swap protocol, each
// written from the kernel's code, that some test, stress run, fuzz input
// or explorer scenario must catch. cmd/mutate runs them.
//
// A mutation is a text file (mutations/*.mut):
//
//	# A title: the step that is broken, in one line.
//	name: swap-free-unlocked
//	kernel: __swap_entry_free() (mm/swapfile.c)
//	step: the slot's count drops without ci->lock held
//	area: swap core
//	concurrency: yes
//	hint: test ./swap; explore swapcache-pin
//
//	@@ swap/count.go
//	<<<<
//	the lines as they are (must occur exactly once in the file)
//	====
//	the lines as the mutation has them
//	>>>>
//
// Header keys: name (required, unique), kernel (required: the kernel
// function and file whose step is broken), step (required: what the
// mutation does to it), area (required: which protocol family), concurrency
// (yes/no: whether only an interleaving can show it), hint (optional:
// checks to run first, separated by ';'), harmless (optional: why the
// mutation cannot change behaviour in uswap's model; such a mutation is
// run and reported but not counted). One or more edits follow, each an
// @@ line naming a file relative to the repository root and a find/replace
// pair. Anchoring on text rather than line numbers keeps a mutation valid
// while unrelated code around it changes; a mutation whose text is gone
// fails loudly (Apply), so that it is rewritten rather than silently
// skipped.
package mutation

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Mutation is one parsed mutation file.
type Mutation struct {
	File        string // where it was read from
	Title       string
	Name        string
	Kernel      string
	Step        string
	Area        string
	Concurrency bool
	Hints       []string
	Harmless    string
	Edits       []Edit
}

// Edit is one find/replace in one file.
type Edit struct {
	Path string // relative to the repository root, slash-separated
	Old  string
	New  string
}

// Counted reports whether the mutation counts towards the score: a
// harmless one is run and reported, never counted.
func (m *Mutation) Counted() bool { return m.Harmless == "" }

var nameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Parse reads one mutation from its text.
func Parse(file string, text []byte) (*Mutation, error) {
	m := &Mutation{File: file}
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNo := 0
	// states: header, then edits.
	var cur *Edit
	var block *strings.Builder
	const (
		inHeader = iota
		betweenEdits
		afterAt
		inOld
		inNew
	)
	state := inHeader
	seen := map[string]bool{}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch state {
		case inHeader, betweenEdits:
			switch {
			case strings.HasPrefix(line, "@@ "):
				p := strings.TrimSpace(strings.TrimPrefix(line, "@@ "))
				if p == "" || filepath.IsAbs(p) || strings.Contains(p, "..") {
					return nil, errf(lineNo, "bad file %q in @@ line", p)
				}
				m.Edits = append(m.Edits, Edit{Path: filepath.ToSlash(p)})
				cur = &m.Edits[len(m.Edits)-1]
				state = afterAt
			case state == betweenEdits && strings.TrimSpace(line) == "":
			case state == betweenEdits:
				return nil, errf(lineNo, "expected an @@ line, found %q", line)
			case strings.HasPrefix(line, "#"):
				if m.Title == "" {
					m.Title = strings.TrimSpace(strings.TrimPrefix(line, "#"))
				}
			case strings.TrimSpace(line) == "":
			default:
				key, val, ok := strings.Cut(line, ":")
				if !ok {
					return nil, errf(lineNo, "expected key: value, found %q", line)
				}
				key, val = strings.TrimSpace(key), strings.TrimSpace(val)
				if seen[key] {
					return nil, errf(lineNo, "%s given twice", key)
				}
				seen[key] = true
				switch key {
				case "name":
					m.Name = val
				case "kernel":
					m.Kernel = val
				case "step":
					m.Step = val
				case "area":
					m.Area = val
				case "concurrency":
					switch val {
					case "yes":
						m.Concurrency = true
					case "no":
					default:
						return nil, errf(lineNo, "concurrency: want yes or no, found %q", val)
					}
				case "hint":
					for _, h := range strings.Split(val, ";") {
						if h = strings.TrimSpace(h); h != "" {
							m.Hints = append(m.Hints, h)
						}
					}
				case "harmless":
					m.Harmless = val
				default:
					return nil, errf(lineNo, "unknown key %q", key)
				}
			}
		case afterAt:
			if line != "<<<<" {
				return nil, errf(lineNo, "expected <<<< after the @@ line, found %q", line)
			}
			block = &strings.Builder{}
			state = inOld
		case inOld:
			if line == "====" {
				cur.Old = block.String()
				block = &strings.Builder{}
				state = inNew
				continue
			}
			block.WriteString(line)
			block.WriteByte('\n')
		case inNew:
			if line == ">>>>" {
				cur.New = block.String()
				state = betweenEdits
				continue
			}
			block.WriteString(line)
			block.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if state != inHeader && state != betweenEdits {
		return nil, errf(lineNo, "the file ends inside an edit")
	}
	switch {
	case !nameRE.MatchString(m.Name):
		return nil, fmt.Errorf("%s: name %q: want lower-case words joined by hyphens", file, m.Name)
	case m.Kernel == "" || m.Step == "" || m.Area == "" || !seen["concurrency"]:
		return nil, fmt.Errorf("%s: kernel, step, area and concurrency are required", file)
	case m.Title == "":
		return nil, fmt.Errorf("%s: no # title line", file)
	case len(m.Edits) == 0:
		return nil, fmt.Errorf("%s: no edit", file)
	}
	for i, e := range m.Edits {
		if e.Old == "" {
			return nil, fmt.Errorf("%s: edit %d of %s has nothing to find", file, i+1, e.Path)
		}
		if e.Old == e.New {
			return nil, fmt.Errorf("%s: edit %d of %s changes nothing", file, i+1, e.Path)
		}
	}
	return m, nil
}

// Load reads every *.mut file of dir, sorted by name, and checks that
// names are unique.
func Load(dir string) ([]*Mutation, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.mut"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var ms []*Mutation
	byName := map[string]string{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m, err := Parse(f, text)
		if err != nil {
			return nil, err
		}
		if other, dup := byName[m.Name]; dup {
			return nil, fmt.Errorf("mutation %s in both %s and %s", m.Name, other, f)
		}
		byName[m.Name] = f
		ms = append(ms, m)
	}
	return ms, nil
}

// Applied is a mutation applied to a tree; Restore undoes it.
type Applied struct {
	root  string
	saved map[string][]byte // path -> original content
	order []string
}

// Apply applies m's edits to the tree at root. Every edit's text must
// occur exactly once in its file as the earlier edits left it; otherwise
// nothing is changed and the error says which edit is stale.
func Apply(root string, m *Mutation) (*Applied, error) {
	contents := map[string][]byte{}
	var order []string
	for i, e := range m.Edits {
		cur, ok := contents[e.Path]
		if !ok {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.Path)))
			if err != nil {
				return nil, fmt.Errorf("mutation %s, edit %d: %w", m.Name, i+1, err)
			}
			cur = b
			order = append(order, e.Path)
		}
		switch n := bytes.Count(cur, []byte(e.Old)); n {
		case 1:
		case 0:
			return nil, fmt.Errorf("mutation %s, edit %d: its text is not in %s any more: rewrite the mutation for the code as it is", m.Name, i+1, e.Path)
		default:
			return nil, fmt.Errorf("mutation %s, edit %d: its text occurs %d times in %s: anchor it on more lines", m.Name, i+1, n, e.Path)
		}
		contents[e.Path] = bytes.Replace(cur, []byte(e.Old), []byte(e.New), 1)
	}
	a := &Applied{root: root, saved: map[string][]byte{}, order: order}
	for _, p := range order {
		full := filepath.Join(root, filepath.FromSlash(p))
		orig, err := os.ReadFile(full)
		if err != nil {
			a.Restore()
			return nil, err
		}
		a.saved[p] = orig
		if err := os.WriteFile(full, contents[p], 0o644); err != nil {
			a.Restore()
			return nil, err
		}
	}
	return a, nil
}

// Restore puts back every file Apply changed.
func (a *Applied) Restore() error {
	var first error
	for _, p := range a.order {
		orig, ok := a.saved[p]
		if !ok {
			continue
		}
		if err := os.WriteFile(filepath.Join(a.root, filepath.FromSlash(p)), orig, 0o644); err != nil && first == nil {
			first = err
		}
	}
	return first
}
