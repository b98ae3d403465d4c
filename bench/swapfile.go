package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"uswap/swapdev"
)

// CheckSwapFile checks Options.DevicePath before a DeviceFile run, without
// changing anything: a path that does not exist is made by the run and
// removed after it; an existing path must be a swap area uswap's mkswap
// made (its header's marker says so), which the run reuses and keeps, or,
// with Options.BlockDevice, a block device holding nothing but such a
// swap area or zeros. A symbolic link is never followed. "" asks for a
// private temporary directory, which is always fine.
func CheckSwapFile(o Options) error {
	if o.Device != DeviceFile || o.DevicePath == "" {
		return nil
	}
	path := o.DevicePath
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("swap file %s: its directory %s does not exist", path, dir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("swap file: %w", err)
	}
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return fmt.Errorf("swap file %s is a symbolic link (to %s); the bench does not follow links: give a path that does not exist yet", path, target)
	case m.IsRegular():
		c, err := probePath(path, fi.Size())
		if err != nil {
			return err
		}
		if sig, ok := c.Swap(); !ok || !sig.MadeByUswap || len(c.Signatures) > 1 {
			return fmt.Errorf("swap file %s exists and is not a swap area uswap made (it holds %s); the bench writes only over its own: give a path that does not exist yet", path, c)
		}
		return nil
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		if !o.BlockDevice {
			return fmt.Errorf("swap file %s is a block device; the bench writes a swap area on a device (destroying what it holds) only with --block-device", path)
		}
		c, err := probePath(path, -1)
		if err != nil {
			return err
		}
		if sig, ok := c.Swap(); !c.Zero && (!ok || !sig.MadeByUswap || len(c.Signatures) > 1) {
			return fmt.Errorf("block device %s holds %s; the bench writes only over zeros or a swap area uswap made (uswap mkswap --block-device --force %s makes one)", path, c, path)
		}
		return nil
	}
	return fmt.Errorf("swap file %s is a %v, not a regular file or a block device", path, fi.Mode().Type())
}

// probePath probes the file or device at path (size -1: its end).
func probePath(path string, size int64) (swapdev.Content, error) {
	f, err := os.Open(path)
	if err != nil {
		return swapdev.Content{}, fmt.Errorf("swap file: %w", err)
	}
	defer f.Close()
	if size < 0 {
		if size, err = f.Seek(0, 2); err != nil {
			return swapdev.Content{}, fmt.Errorf("swap file %s: size: %w", path, err)
		}
	}
	return swapdev.Probe(f, size)
}

// swapFile is the swap file of a DeviceFile run, ready for mkswap: where,
// with which options (Create for a file the run makes, so that a file
// appearing meanwhile is not overwritten), and whether the run removes it
// after.
type swapFile struct {
	path   string
	mk     swapdev.MkswapOptions
	remove bool
}

// prepareSwapFile checks the swap file again (CheckSwapFile); the run's
// private temporary directory, the default, is made here and its removal
// recorded on undo.
func prepareSwapFile(o Options, undo *Undo) (swapFile, error) {
	if err := CheckSwapFile(o); err != nil {
		return swapFile{}, err
	}
	mk := swapdev.MkswapOptions{Label: "uswap-bench", BlockDevice: o.BlockDevice}
	if o.DevicePath == "" {
		var dir string
		if _, err := undo.Change("the swap file's directory",
			func() (err error) { dir, err = os.MkdirTemp("", "uswap-bench-"); return err },
			func() error { return os.RemoveAll(dir) }); err != nil {
			return swapFile{}, fmt.Errorf("swap file: %w", err)
		}
		mk.Create = true
		return swapFile{filepath.Join(dir, "swapfile"), mk, false}, nil
	}
	path, err := filepath.Abs(o.DevicePath)
	if err != nil {
		return swapFile{}, err
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		mk.Create = true
		return swapFile{path, mk, true}, nil
	}
	if err == nil && fi.Mode()&fs.ModeDevice != 0 {
		mk.Force = true // zeros, checked above
	}
	return swapFile{path, mk, false}, err
}

// make runs create, which makes the swap file (mkswap), as a change on
// undo: removing the file after, if the run made it at a path of the
// user's, and only while it is still a swap area uswap made.
func (sf swapFile) make(undo *Undo, create func() error) error {
	remove := func() error { return nil }
	if sf.remove {
		remove = func() error { return removeOwnSwapFile(sf.path) }
	}
	_, err := undo.Change("the swap file "+sf.path, func() error {
		if err := create(); err != nil {
			return errors.Join(err, remove()) // a failure may leave it made
		}
		return nil
	}, remove)
	return err
}

// removeOwnSwapFile removes path if it is (still) a regular file holding a
// swap area uswap made.
func removeOwnSwapFile(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never made: mkswap failed before the rename
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is no longer the swap file the bench made (a %v); left alone", path, fi.Mode().Type())
	}
	if h, err := swapdev.ReadHeaderFile(path); err != nil || !h.MadeByUswap {
		return fmt.Errorf("%s is no longer a swap area uswap made; left alone", path)
	}
	return os.Remove(path)
}
