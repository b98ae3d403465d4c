package swapdev

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"uswap/ksync"
)

// MkswapOptions are mkswap(8)'s -L, -U and -f, and what Mkswap may
// write over.
type MkswapOptions struct {
	Label string   // at most 16 bytes
	UUID  [16]byte // zero: a random version 4 UUID
	// Force lets Mkswap overwrite a file or device that holds something
	// other than a swap area (a filesystem, data).
	Force bool
	// BlockDevice lets path be a block device, written in place.
	BlockDevice bool
	// Create makes Mkswap fail if path exists: a caller that succeeds
	// knows it made the file.
	Create bool
}

// newHeader builds the header mkswap writes for an area of pages pages.
func newHeader(pages uint64, opts MkswapOptions) (*Header, error) {
	if pages < minSwapPages {
		return nil, fmt.Errorf("%w: swap area of %d pages is too small, at least %d pages (%d bytes) are needed", ErrInvalid, pages, minSwapPages, minSwapPages*PageSize)
	}
	if pages-1 > uintMax {
		return nil, fmt.Errorf("%w: swap area of %d pages is too large, a header describes at most 2^32 pages", ErrInvalid, pages)
	}
	h := &Header{Version: swapVersion, LastPage: uint32(pages - 1), UUID: opts.UUID, Label: opts.Label, MadeByUswap: true}
	if h.UUID == ([16]byte{}) {
		h.UUID = uuid.New()
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// MkswapDevice writes a swap header describing the whole device into its
// page 0, as `mkswap /dev/zram0` does before swapon, and returns it.
func MkswapDevice(t *ksync.Task, dev Device, opts MkswapOptions) (*Header, error) {
	h, err := newHeader(dev.Pages(), opts)
	if err != nil {
		return nil, fmt.Errorf("swapdev %s: mkswap: %w", dev.Name(), err)
	}
	if err := dev.WritePage(t, 0, h.Marshal()); err != nil {
		return nil, fmt.Errorf("swapdev %s: mkswap: %w", dev.Name(), err)
	}
	return h, nil
}

// Mkswap is mkswap(8): it writes a swap area of size bytes at path, so
// that the kernel's swapon accepts it. size must be a multiple of PageSize
// of at least 10 pages (0 on a block device: all of it).
//
// A regular file (or a path that does not exist) is made as a new file
// beside path (mode 0600, every block allocated: swapon refuses holes),
// synced, and renamed over path only when it is complete: a failure (a
// full filesystem) leaves what was at path as it was. A block device is
// written in place, only with opts.BlockDevice, opened exclusively (the
// kernel refuses that while it is mounted or swapped on); the signatures
// Probe finds beyond the header page are erased, as mkswap(8) wipes old
// ones.
//
// Mkswap never follows a symbolic link at path, and replaces only nothing
// or a swap area unless opts.Force: anything else (a filesystem, data) is
// refused with an error wrapping ErrRefused that says what it found.
func Mkswap(path string, size int64, opts MkswapOptions) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return mkswapFile(path, size, opts, nil)
	}
	if err != nil {
		return fmt.Errorf("swapdev: mkswap: %w", err)
	}
	if opts.Create {
		return fmt.Errorf("swapdev: mkswap %s: %w: it already exists", path, fs.ErrExist)
	}
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return refusedf("mkswap %s: it is a symbolic link (to %s), which mkswap does not follow; give the path of the file itself", path, target)
	case m.IsRegular():
		return mkswapFile(path, size, opts, fi)
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		if !opts.BlockDevice {
			return refusedf("mkswap %s: it is a block device; writing a swap area on a device destroys what it holds and needs the explicit block-device option", path)
		}
		return mkswapBlock(path, size, opts)
	}
	return refusedf("mkswap %s: it is a %v, not a regular file or a block device", path, fi.Mode().Type())
}

// refusedf is an error wrapping ErrRefused.
func refusedf(format string, args ...any) error {
	return fmt.Errorf("swapdev: %w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// checkSize checks a swap area's size in bytes.
func checkSize(path string, size int64) error {
	if size%PageSize != 0 || size <= 0 {
		return fmt.Errorf("swapdev: mkswap %s: %w: size %d is not a positive multiple of the %d-byte page size", path, ErrInvalid, size, PageSize)
	}
	return nil
}

// mkswapFile makes the swap file as a temporary file beside path and
// renames it into place: over old (the file at path, probed first), or,
// when old is nil, only if path still does not exist.
func mkswapFile(path string, size int64, opts MkswapOptions, old fs.FileInfo) (err error) {
	if err := checkSize(path, size); err != nil {
		return err
	}
	h, err := newHeader(uint64(size/PageSize), opts)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	if old != nil {
		if err := probeFile(path, old, opts.Force); err != nil {
			return err
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".mkswap-*")
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	if err := allocate(f, size); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: allocating %d bytes: %w", path, size, err)
	}
	if _, err := f.WriteAt(h.Marshal(), 0); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: writing the header: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	if old == nil {
		err = renameNoReplace(tmp, path)
	} else if now, lerr := os.Lstat(path); lerr != nil || !os.SameFile(now, old) {
		err = fmt.Errorf("swapdev: mkswap %s: %w: the file changed while the swap area was written; nothing replaced", path, ErrRefused)
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	return syncDir(dir)
}

// probeFile refuses to replace the regular file at path unless it holds
// nothing or a swap area, or force.
func probeFile(path string, old fs.FileInfo, force bool) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap: %w", err)
	}
	defer f.Close()
	c, err := Probe(f, old.Size())
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	if !c.Replaceable() && !force {
		return refusedf("mkswap %s: it holds %s; it is not a swap area, and overwriting it needs force", path, c)
	}
	return nil
}

// renameNoReplace renames from to to, failing if to exists:
// renameat2(RENAME_NOREPLACE), or link and unlink where the filesystem
// lacks it.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("swapdev: mkswap: syncing %s: %w", dir, err)
	}
	return nil
}

// mkswapBlock writes the swap area on a block device in place.
func mkswapBlock(path string, size int64, opts MkswapOptions) error {
	// O_EXCL on a block device is an exclusive open: EBUSY while it is
	// mounted, swapped on or held by another exclusive opener.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_EXCL|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap: %w (a mounted or swapped-on device cannot be opened exclusively)", err)
	}
	defer f.Close()
	devSize, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: size: %w", path, err)
	}
	if size == 0 {
		size = devSize / PageSize * PageSize
	}
	if err := checkSize(path, size); err != nil {
		return err
	}
	if size > devSize {
		return fmt.Errorf("swapdev: mkswap %s: %w: size %d is larger than the device (%d bytes)", path, ErrInvalid, size, devSize)
	}
	h, err := newHeader(uint64(size/PageSize), opts)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	c, err := Probe(f, devSize)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	if !c.Replaceable() && !opts.Force {
		return refusedf("mkswap %s: the device holds %s; it is not a swap area, and overwriting it needs force", path, c)
	}
	if _, err := f.WriteAt(h.Marshal(), 0); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: writing the header: %w", path, err)
	}
	for _, s := range c.Signatures {
		if s.Offset >= PageSize { // inside page 0 the header replaced it
			if _, err := f.WriteAt(make([]byte, s.Len), s.Offset); err != nil {
				return fmt.Errorf("swapdev: mkswap %s: erasing the old %s signature: %w", path, s.Type, err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	return nil
}

// allocate gives f size bytes of allocated blocks: fallocate(2), or, on a
// filesystem without it, zeros written out.
func allocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("fallocate: %w", err)
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
	}
	return nil
}
