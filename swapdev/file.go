package swapdev

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"uswap/ksync"
)

// File is a swap file in the kernel's on-disk format, served in place:
// page n is bytes n*4096 .. n*4096+4095 of the file, read and written
// with pread/pwrite (the kernel's swap_read_folio_bdev_sync and
// swap_writepage_bdev_sync, with the file's extents standing in for the
// bdev). It is not synchronous: like any swap file or disk, it goes
// through the swap cache.
//
// Discard is a no-op (counted): punching a hole would leave the file with
// holes, which the kernel's swapon refuses, so a file used here could not
// be handed to the kernel afterwards.
type File struct {
	path  string   // immutable
	f     *os.File // immutable; ReadAt/WriteAt are safe for concurrent use
	pages uint64   // immutable: the swap area, last_page + 1
	hdr   *Header  // immutable

	discards ksync.Stat // Discard calls, for reporting
	closed   ksync.Bool // set by Close
}

var _ Device = (*File)(nil)

// OpenFile opens a swap file made by mkswap(8) or Mkswap, as swapon(2)
// does: it reads page 0 and checks it with ParseHeader against the file's
// size, and refuses a header that lists bad pages, as the kernel does for
// regular files. Errors name the path.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("swapdev: open swap file: %w", err)
	}
	hdr, err := readHeader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	if len(hdr.BadPages) != 0 {
		f.Close()
		return nil, fmt.Errorf("swapdev: %s: %w: the header lists %d bad pages; a swap file may not have any", path, ErrBadHeader, len(hdr.BadPages))
	}
	return &File{path: path, f: f, pages: hdr.Pages(), hdr: hdr}, nil
}

// ReadHeaderFile reads and checks the swap header of the file or block
// device at path, read-only (swapinfo, blkid).
func ReadHeaderFile(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("swapdev: %w", err)
	}
	defer f.Close()
	return readHeader(f, path)
}

// readHeader reads page 0 of f and parses it against f's size.
func readHeader(f *os.File, path string) (*Header, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("swapdev: %s: size: %w", path, err)
	}
	if size < PageSize {
		return nil, fmt.Errorf("swapdev: %s: %w: file is %d bytes, shorter than one %d-byte header page", path, ErrBadHeader, size, PageSize)
	}
	page := make([]byte, PageSize)
	if _, err := f.ReadAt(page, 0); err != nil {
		return nil, fmt.Errorf("swapdev: %s: reading the header: %w: %v", path, ErrIO, err)
	}
	hdr, err := ParseHeader(page, uint64(size)/PageSize)
	if err != nil {
		return nil, fmt.Errorf("swapdev: %s: %w", path, err)
	}
	return hdr, nil
}

// Name is the file's path.
func (d *File) Name() string { return d.path }

// Pages is the swap area's size, last_page + 1; a file longer than its
// header says has an unused tail, as in the kernel.
func (d *File) Pages() uint64 { return d.pages }

// Header is the parsed swap header.
func (d *File) Header() *Header { return d.hdr }

// Synchronous is false.
func (d *File) Synchronous() bool { return false }

// Discards is the number of Discard calls (all no-ops).
func (d *File) Discards() uint64 { return d.discards.Sum() }

// ReadPage reads page offset into dst.
func (d *File) ReadPage(t *ksync.Task, offset uint64, dst []byte) error {
	if err := d.check(t, offset, dst); err != nil {
		return err
	}
	if _, err := d.f.ReadAt(dst, int64(offset)*PageSize); err != nil {
		if errors.Is(err, io.EOF) {
			return ioError(ErrIO, d.path, offset, "file ends before the page (truncated while in use?)")
		}
		return ioError(ErrIO, d.path, offset, "%v", err)
	}
	return nil
}

// WritePage writes src to page offset.
func (d *File) WritePage(t *ksync.Task, offset uint64, src []byte) error {
	if err := d.check(t, offset, src); err != nil {
		return err
	}
	if _, err := d.f.WriteAt(src, int64(offset)*PageSize); err != nil {
		return ioError(ErrIO, d.path, offset, "%v", err)
	}
	return nil
}

// Discard counts the call and keeps the data (see File).
func (d *File) Discard(t *ksync.Task, offset uint64) { d.discards.Inc(t) }

func (d *File) check(t *ksync.Task, offset uint64, buf []byte) error {
	ksync.MightSleep(t) // a read or write waits for its bio
	if d.closed.Load(t) {
		return ioError(ErrClosed, d.path, offset, "")
	}
	return checkIO(d.path, d.pages, offset, buf)
}

// Close closes the file. No I/O may be in flight.
func (d *File) Close() error {
	t := ksync.NewTask("swapfile-close", 0)
	if d.closed.Swap(t, true) {
		return nil
	}
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("swapdev: %s: close: %w", d.path, err)
	}
	return nil
}
