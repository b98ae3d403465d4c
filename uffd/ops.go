package uffd

import (
	"errors"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Copy is UFFDIO_COPY: atomically map a copy of src at dst (both
// page-aligned, len(src) a multiple of the page size) and, unless mode
// has CopyDontWake, wake the threads that fault in that range. With
// CopyWP the pages are mapped write-protected, so that the next write
// reports a WP fault.
//
// It returns the bytes copied. On error that count is what the kernel
// copied before it stopped: a copy that meets a page already mapped
// stops there; it returns ErrAgain with the pages before it copied (and
// their waiters woken), or ErrExist when the first page is the one. A
// pending non-cooperative event gives ErrAgain with nothing copied.
func (u *FD) Copy(dst uint64, src []byte, mode CopyMode) (int64, error) {
	if len(src) == 0 {
		return 0, nil
	}
	arg := uffdioCopy{Dst: dst, Src: uint64(uintptr(unsafe.Pointer(&src[0]))), Len: uint64(len(src)), Mode: uint64(mode)}
	err := ioctl(u.fd, ioctlCopy, unsafe.Pointer(&arg))
	return rangeResult("UFFDIO_COPY", dst, uint64(len(src)), arg.Copy, err)
}

// ZeroPage is UFFDIO_ZEROPAGE: map the zero page over [start,
// start+length) and, unless dontWake, wake the threads that fault there.
// It reports what it zeroed and fails as Copy does.
func (u *FD) ZeroPage(start, length uint64, dontWake bool) (int64, error) {
	arg := uffdioZeropage{Range: uffdioRange{start, length}}
	if dontWake {
		arg.Mode = zeropageDontWake
	}
	err := ioctl(u.fd, ioctlZeropage, unsafe.Pointer(&arg))
	return rangeResult("UFFDIO_ZEROPAGE", start, length, arg.Zeropage, err)
}

// Continue is UFFDIO_CONTINUE: map the pages of [start, start+length)
// that the page cache of the range's file already holds (a minor fault:
// the page is there, the process's page table entry is not),
// write-protected with wp, and wake the faulting threads unless
// dontWake. It reports what it mapped and fails as Copy does (EEXIST: a
// page is mapped already).
func (u *FD) Continue(start, length uint64, wp, dontWake bool) (int64, error) {
	arg := uffdioContinue{Range: uffdioRange{start, length}}
	if wp {
		arg.Mode |= continueWP
	}
	if dontWake {
		arg.Mode |= continueDontWake
	}
	err := ioctl(u.fd, ioctlContinue, unsafe.Pointer(&arg))
	return rangeResult("UFFDIO_CONTINUE", start, length, arg.Mapped, err)
}

// Poison is UFFDIO_POISON: mark the missing pages of [start,
// start+length) as lost, so that touching them raises SIGBUS (as a
// hardware-poisoned page does) until they are discarded, and wake the
// threads that faulted there. It fails as Copy does.
func (u *FD) Poison(start, length uint64) (int64, error) {
	arg := uffdioContinue{Range: uffdioRange{start, length}}
	err := ioctl(u.fd, ioctlPoison, unsafe.Pointer(&arg))
	return rangeResult("UFFDIO_POISON", start, length, arg.Mapped, err)
}

// rangeResult turns the outcome of UFFDIO_COPY, ZEROPAGE, CONTINUE and POISON into a
// count and an error: the count field holds the bytes done, or a negated
// errno; a short count comes with EAGAIN (userfaultfd_copy).
func rangeResult(op string, start, length uint64, done int64, err error) (int64, error) {
	if err == nil {
		return int64(length), nil
	}
	errno, ok := err.(syscall.Errno)
	if !ok {
		return 0, err
	}
	if done < 0 {
		done = 0
	}
	return done, &Error{Op: op, Start: start, Len: length, Errno: errno, Copied: done}
}

// WriteProtect is UFFDIO_WRITEPROTECT: write-protect [start,
// start+length) (wp), or lift the protection and, unless dontWake, wake
// the threads whose writes faulted there. The range must be registered
// with ModeWP. Protecting while a non-cooperative event is pending fails
// with ErrAgain; an unregistered or unmapped range with ErrGone.
func (u *FD) WriteProtect(start, length uint64, wp, dontWake bool) error {
	arg := uffdioWriteprotect{Range: uffdioRange{start, length}}
	if wp {
		arg.Mode |= wpModeWP
	} else if dontWake {
		// The kernel refuses DONTWAKE with WP: a protection wakes nobody.
		arg.Mode |= wpModeDontWake
	}
	if err := ioctl(u.fd, ioctlWriteprotect, unsafe.Pointer(&arg)); err != nil {
		return &Error{Op: "UFFDIO_WRITEPROTECT", Start: start, Len: length, Errno: err.(syscall.Errno)}
	}
	return nil
}

// Wake is UFFDIO_WAKE: wake the threads whose faults in [start,
// start+length) are waiting, so that they retry their access (and fault
// again if the page is still missing or protected).
func (u *FD) Wake(start, length uint64) error {
	arg := uffdioRange{start, length}
	if err := ioctl(u.fd, ioctlWake, unsafe.Pointer(&arg)); err != nil {
		return &Error{Op: "UFFDIO_WAKE", Start: start, Len: length, Errno: err.(syscall.Errno)}
	}
	return nil
}

// ReadMsgs reads the messages that are pending, up to len(msgs), without
// waiting: 0 when there is none. A fault message is read once (the
// kernel refiles its thread as "read, not yet resolved"); an event
// message is read once too, and reading it is what lets the thread that
// caused it (munmap, madvise) go on.
func (u *FD) ReadMsgs(msgs []Msg) (int, error) {
	var buf [64 * msgSize]byte
	n := min(len(msgs), len(buf)/msgSize)
	if n == 0 {
		return 0, nil
	}
	for {
		got, err := unix.Read(u.fd, buf[:n*msgSize])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, nil
		case err != nil:
			return 0, &Error{Op: "read", Errno: err.(syscall.Errno)}
		case got%msgSize != 0:
			return 0, errors.New("userfaultfd: read returned a partial message")
		}
		for i := 0; i < got/msgSize; i++ {
			msgs[i] = decodeMsg(buf[i*msgSize:])
		}
		return got / msgSize, nil
	}
}

// Wait blocks until a message may be pending, through the Go runtime's
// poller (no thread is held), or returns ErrClosed once Interrupt or
// Close was called. A message that Wait saw may be taken by another
// reader first: ReadMsgs then returns 0.
func (u *FD) Wait() error {
	err := u.rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 0)
		return err == nil && n > 0 && pfd[0].Revents&unix.POLLIN != 0
	})
	if err != nil {
		return ErrClosed
	}
	return nil
}
