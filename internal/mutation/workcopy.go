package mutation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// WorkCopy is a private copy of the repository that mutations are
// applied to, so that the engineer's own tree is never touched. It lives
// under the system's temporary directory at a path fixed for the
// repository, so that successive runs reuse it and the Go build cache
// rebuilds only the packages a mutation changes.
type WorkCopy struct {
	Src string // the repository
	Dir string // the copy
}

// NewWorkCopy makes (or refreshes) the copy of the repository at src:
// every file git tracks or would track (untracked files not ignored),
// as they are in the working tree; files the copy has beyond those are
// removed.
func NewWorkCopy(src string) (*WorkCopy, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(src))
	dir := filepath.Join(os.TempDir(), "uswap-mutate-"+hex.EncodeToString(sum[:6]))
	w := &WorkCopy{Src: src, Dir: dir}
	return w, w.Sync()
}

// Sync brings the copy up to date with the repository.
func (w *WorkCopy) Sync() error {
	out, err := exec.Command("git", "-C", w.Src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("listing the repository's files: %w", err)
	}
	want := map[string]bool{}
	for _, p := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if p == "" {
			continue
		}
		info, err := os.Lstat(filepath.Join(w.Src, p))
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the working tree, or not a plain file
		}
		want[p] = true
		if err := copyIfChanged(filepath.Join(w.Src, p), filepath.Join(w.Dir, p), info.Mode().Perm()); err != nil {
			return err
		}
	}
	// Remove what the repository no longer has (keep the runner's own
	// output directory).
	return filepath.WalkDir(w.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.Dir, path)
		rel = filepath.ToSlash(rel)
		if rel == ".mutate" && d.IsDir() {
			return filepath.SkipDir
		}
		if !d.IsDir() && !want[rel] {
			return os.Remove(path)
		}
		return nil
	})
}

func copyIfChanged(from, to string, perm fs.FileMode) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(to); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, data, perm)
}
