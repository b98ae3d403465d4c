package swapdev

import (
	"errors"
	"fmt"

	"uswap/ksync"
)

// PageSize is the size of a swap page, the kernel's PAGE_SIZE on x86-64.
const PageSize = 4096

// Device is a swap device: a block device of 4 KiB pages. Page 0 holds the
// swap header.
type Device interface {
	Name() string
	Pages() uint64                                            // size in pages, header page included
	ReadPage(t *ksync.Task, offset uint64, dst []byte) error  // dst is PageSize bytes
	WritePage(t *ksync.Task, offset uint64, src []byte) error // src is PageSize bytes
	// Discard tells the device the slot's content is no longer needed (zram_slot_free_notify / discard).
	Discard(t *ksync.Task, offset uint64)
	// Synchronous is SWP_SYNCHRONOUS_IO: I/O is fast enough that swap-in may skip the swap cache.
	Synchronous() bool
	Close() error
}

// HasSlotFreeNotify reports whether d, or the device it wraps (Async,
// Faulty), is zram: the one block driver with the swap_slot_free_notify
// hook, whose Discard frees the slot's data (RAM.Discard). A swap file's
// Discard keeps it.
func HasSlotFreeNotify(d Device) bool {
	for {
		switch x := d.(type) {
		case *RAM:
			return true
		case Async:
			d = x.Device
		case *Faulty:
			d = x.Device
		default:
			return false
		}
	}
}

// Sentinel errors. Every error a device returns wraps one of them and
// names the device and the offset (or the path, for files).
var (
	// ErrIO is a failed read or write (-EIO), including a compressed page
	// that does not decompress to a full page.
	ErrIO = errors.New("I/O error")
	// ErrOutOfRange is an offset at or beyond the device's last page.
	ErrOutOfRange = errors.New("offset out of range")
	// ErrBufferSize is a dst/src that is not PageSize bytes.
	ErrBufferSize = errors.New("buffer is not one page")
	// ErrClosed is I/O on a device after Close.
	ErrClosed = errors.New("device closed")
	// ErrBadHeader is a page 0 that is not a usable swap header.
	ErrBadHeader = errors.New("bad swap header")
	// ErrInvalid is a bad argument to a constructor or to Mkswap.
	ErrInvalid = errors.New("invalid argument")
	// ErrRefused is Mkswap declining to write over what a path holds (a
	// symbolic link, a filesystem, data, a device without the option).
	ErrRefused = errors.New("refused")
)

// ioError wraps sentinel with the device name and offset.
func ioError(sentinel error, dev string, offset uint64, format string, args ...any) error {
	msg := ""
	if format != "" {
		msg = ": " + fmt.Sprintf(format, args...)
	}
	return fmt.Errorf("swapdev %s: offset %d: %w%s", dev, offset, sentinel, msg)
}

// checkIO validates an I/O request against a device of pages pages.
func checkIO(dev string, pages, offset uint64, buf []byte) error {
	if offset >= pages {
		return ioError(ErrOutOfRange, dev, offset, "device has %d pages", pages)
	}
	if len(buf) != PageSize {
		return ioError(ErrBufferSize, dev, offset, "%d bytes, want %d", len(buf), PageSize)
	}
	return nil
}

// Release gives what dev holds in memory (a RAM device's pool) to the
// next machine, through the wrappers (Async, Faulty): for a machine that
// is thrown away once nothing will run on it again. Other devices hold
// nothing to give.
func Release(t *ksync.Task, dev Device) {
	switch d := dev.(type) {
	case *RAM:
		d.Release(t)
	case Async:
		Release(t, d.Device)
	case *Faulty:
		Release(t, d.Device)
	}
}
