package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Output files (--plot, --html, --json=FILE, --cpuprofile) are checked
// before any work (checkOutput) and written whole or not at all: into a
// temporary file beside the target, renamed over it once complete.

// checkOutput is a usage error unless path can be written: not a
// directory, in a directory that exists and that this process may write.
// "" (no file asked for) is fine.
func checkOutput(flag, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("--%s %s: is a directory; give a file name", flag, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return usagef("--%s %s: directory %s does not exist", flag, path, dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return usagef("--%s %s: directory %s is not writable: %v", flag, path, dir, err)
	}
	return nil
}

// pendingFile is an output file being written under a temporary name.
type pendingFile struct {
	*os.File
	path string
}

// createOutput starts writing path: Commit puts it in place, Abort
// throws it away.
func createOutput(path string) (*pendingFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &pendingFile{File: f, path: path}, nil
}

// Commit closes the file and renames it over path.
func (p *pendingFile) Commit() error {
	err := p.Chmod(0o644)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.Name())
		return fmt.Errorf("writing %s: %w", p.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file.
func (p *pendingFile) Abort() {
	p.Close()
	os.Remove(p.Name())
}

// writeOutput writes path whole with write, or leaves it as it was.
func writeOutput(path string, write func(io.Writer) error) error {
	p, err := createOutput(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := write(p); err != nil {
		p.Abort()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return p.Commit()
}

// isNotExist is errors.Is(err, fs.ErrNotExist).
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
