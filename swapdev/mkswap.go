package swapdev

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"uswap/ksync"
)

// MkswapOptions are mkswap(8)'s -L and -U.
type MkswapOptions struct {
	Label string   // at most 16 bytes
	UUID  [16]byte // zero: a random version 4 UUID
}

// newHeader builds the header mkswap writes for an area of pages pages.
func newHeader(pages uint64, opts MkswapOptions) (*Header, error) {
	if pages < minSwapPages {
		return nil, fmt.Errorf("%w: swap area of %d pages is too small, at least %d pages (%d bytes) are needed", ErrInvalid, pages, minSwapPages, minSwapPages*PageSize)
	}
	if pages-1 > uintMax {
		return nil, fmt.Errorf("%w: swap area of %d pages is too large, a header describes at most 2^32 pages", ErrInvalid, pages)
	}
	h := &Header{Version: swapVersion, LastPage: uint32(pages - 1), UUID: opts.UUID, Label: opts.Label}
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

// Mkswap is mkswap(8) for a swap file: it creates (or truncates) path with
// mode 0600, allocates all size bytes with no holes (the kernel's swapon
// refuses a file with holes), writes the header and syncs. size must be a
// multiple of PageSize and at least 10 pages.
func Mkswap(path string, size int64, opts MkswapOptions) (err error) {
	if size%PageSize != 0 || size <= 0 {
		return fmt.Errorf("swapdev: mkswap %s: %w: size %d is not a positive multiple of the %d-byte page size", path, ErrInvalid, size, PageSize)
	}
	h, err := newHeader(uint64(size/PageSize), opts)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("swapdev: mkswap: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("swapdev: mkswap %s: %w", path, cerr)
		}
	}()
	if err := f.Chmod(0o600); err != nil { // O_CREATE's mode is masked by the umask
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
