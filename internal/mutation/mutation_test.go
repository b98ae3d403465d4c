package mutation

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# The count drops without the cluster lock.
name: swap-free-unlocked
kernel: __swap_entry_free() (mm/swapfile.c)
step: drop the count without ci->lock
area: swap core
concurrency: yes
hint: test ./swap; explore swapcache-pin

@@ a/x.go
<<<<
	lock()
	n--
====
	n--
>>>>

@@ a/y.go
<<<<
	return 1
====
	return 2
>>>>
`

func TestParse(t *testing.T) {
	m, err := Parse("s.mut", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "swap-free-unlocked" || m.Title != "The count drops without the cluster lock." || !m.Concurrency || !m.Counted() {
		t.Errorf("header: %+v", m)
	}
	if len(m.Hints) != 2 || m.Hints[1] != "explore swapcache-pin" {
		t.Errorf("hints %q", m.Hints)
	}
	if len(m.Edits) != 2 || m.Edits[0].Path != "a/x.go" || m.Edits[0].Old != "\tlock()\n\tn--\n" || m.Edits[0].New != "\tn--\n" || m.Edits[1].New != "\treturn 2\n" {
		t.Errorf("edits %+v", m.Edits)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, edit, want string }{
		{"no name", "name: swap-free-unlocked\n", "name"},
		{"bad name", "name: swap-free-unlocked\n|name: Bad Name\n", "want lower-case"},
		{"unknown key", "hint: test ./swap; explore swapcache-pin\n|color: red\n", "unknown key"},
		{"key twice", "area: swap core\n|area: swap core\narea: x\n", "given twice"},
		{"concurrency", "concurrency: yes\n|concurrency: maybe\n", "yes or no"},
		{"no kernel", "kernel: __swap_entry_free() (mm/swapfile.c)\n", "required"},
		{"unterminated", "\treturn 2\n>>>>\n|\treturn 2\n", "ends inside"},
		{"no op", "====\n\tn--\n>>>>|====\n\tlock()\n\tn--\n>>>>", "changes nothing"},
		{"absolute path", "@@ a/x.go|@@ /etc/passwd", "bad file"},
		{"dotdot", "@@ a/x.go|@@ ../x.go", "bad file"},
	} {
		text := sample
		old, repl, ok := strings.Cut(c.edit, "|")
		if !ok {
			repl = ""
		}
		text = strings.Replace(text, old, repl, 1)
		if _, err := Parse("s.mut", []byte(text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestApplyRestore(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x := "func f() {\n\tlock()\n\tn--\n}\n"
	y := "func g() int {\n\treturn 1\n}\n"
	write("a/x.go", x)
	write("a/y.go", y)
	m, err := Parse("s.mut", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Apply(root, m)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "a/x.go"))
	if string(got) != "func f() {\n\tn--\n}\n" {
		t.Errorf("x.go mutated to %q", got)
	}
	if err := a.Restore(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"a/x.go": x, "a/y.go": y} {
		if got, _ := os.ReadFile(filepath.Join(root, p)); string(got) != want {
			t.Errorf("%s restored to %q", p, got)
		}
	}
	// A stale mutation changes nothing and says which edit is stale.
	write("a/y.go", "func g() int {\n\treturn 3\n}\n")
	if _, err := Apply(root, m); err == nil || !strings.Contains(err.Error(), "edit 2") {
		t.Errorf("stale edit: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "a/x.go")); string(got) != x {
		t.Errorf("a failed Apply changed x.go: %q", got)
	}
	// Ambiguous text is refused.
	write("a/y.go", "\treturn 1\n\treturn 1\n")
	if _, err := Apply(root, m); err == nil || !strings.Contains(err.Error(), "2 times") {
		t.Errorf("ambiguous edit: %v", err)
	}
}

func TestWorkCopy(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git:", err)
	}
	src := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	run("init", "-q")
	os.WriteFile(filepath.Join(src, "kept.go"), []byte("package k\n"), 0o644)
	os.WriteFile(filepath.Join(src, "untracked.go"), []byte("package k\n"), 0o644)
	os.WriteFile(filepath.Join(src, ".gitignore"), []byte("ignored.bin\n"), 0o644)
	os.WriteFile(filepath.Join(src, "ignored.bin"), []byte("x"), 0o644)
	run("add", "kept.go", ".gitignore")
	w, err := NewWorkCopy(src)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(w.Dir)
	for p, want := range map[string]bool{"kept.go": true, "untracked.go": true, "ignored.bin": false} {
		_, err := os.Stat(filepath.Join(w.Dir, p))
		if (err == nil) != want {
			t.Errorf("%s in the copy: %v, want %v", p, err == nil, want)
		}
	}
	os.Remove(filepath.Join(src, "untracked.go"))
	os.WriteFile(filepath.Join(src, "kept.go"), []byte("package k // changed\n"), 0o644)
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.Dir, "untracked.go")); err == nil {
		t.Error("a file removed from the repository stays in the copy")
	}
	if got, _ := os.ReadFile(filepath.Join(w.Dir, "kept.go")); string(got) != "package k // changed\n" {
		t.Errorf("kept.go not refreshed: %q", got)
	}
}

// TestRepositoryMutations checks that every mutation of the repository
// parses and still applies to the code as it is: a mutation whose text is
// gone fails here, in every test run, not only when the runner picks it.
func TestRepositoryMutations(t *testing.T) {
	root := filepath.Join("..", "..")
	ms, err := Load(filepath.Join(root, "mutations"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		dir := t.TempDir()
		for _, e := range m.Edits {
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.Path)))
			if err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			full := filepath.Join(dir, filepath.FromSlash(e.Path))
			os.MkdirAll(filepath.Dir(full), 0o755)
			os.WriteFile(full, data, 0o644)
		}
		if _, err := Apply(dir, m); err != nil {
			t.Error(err)
		}
	}
}
