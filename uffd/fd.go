package uffd

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The errors of the range ioctls; see the package comment for what a
// handler does about each. The *Error values returned wrap them.
var (
	ErrExist = errors.New("the page is already mapped (EEXIST)")
	ErrAgain = errors.New("the address space is changing, or the operation stopped part way (EAGAIN)")
	ErrGone  = errors.New("the range is not registered with this userfaultfd, or its process exited (ENOENT/ESRCH)")
	// ErrClosed is returned by Wait once Close or Interrupt was called.
	ErrClosed = errors.New("userfaultfd closed")
)

// Error is a failed ioctl: which one, on what range, the errno, and how
// many bytes it did before failing (UFFDIO_COPY and UFFDIO_ZEROPAGE
// report it).
type Error struct {
	Op     string // "UFFDIO_COPY", ...
	Start  uint64
	Len    uint64
	Errno  syscall.Errno
	Copied int64 // bytes copied or zeroed before the error, 0 if none
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %#x+%#x: %v", e.Op, e.Start, e.Len, e.Errno)
	if e.Copied > 0 {
		s += fmt.Sprintf(" after %d bytes", e.Copied)
	}
	return s
}

// Unwrap maps the errno to ErrExist, ErrAgain or ErrGone, and to the
// errno itself otherwise.
func (e *Error) Unwrap() []error {
	switch e.Errno {
	case unix.EEXIST:
		return []error{ErrExist, e.Errno}
	case unix.EAGAIN:
		return []error{ErrAgain, e.Errno}
	case unix.ENOENT, unix.ESRCH:
		return []error{ErrGone, e.Errno}
	}
	return []error{e.Errno}
}

// FD is an open userfaultfd whose API is agreed.
type FD struct {
	fd       int // immutable; closed by Close, after which no method may run
	file     *os.File
	rc       syscall.RawConn
	features Features // immutable: what UFFDIO_API granted
	ioctls   uint64   // immutable: the ioctls UFFDIO_API says exist
}

// Open creates a userfaultfd, non-blocking and close-on-exec, and returns
// its raw descriptor, before any API handshake: through /dev/userfaultfd
// (USERFAULTFD_IOC_NEW), or, where the device is missing or not
// accessible, the userfaultfd(2) system call; if that is refused
// (EPERM: vm.unprivileged_userfaultfd is 0 and the caller lacks
// CAP_SYS_PTRACE) it retries with UFFD_USER_MODE_ONLY, which still
// reports every fault the process takes in user mode.
func Open() (int, error) {
	const flags = unix.O_CLOEXEC | unix.O_NONBLOCK
	var devErr error
	if dev, err := unix.Open("/dev/userfaultfd", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(dev), ioctlNew, flags)
		unix.Close(dev)
		if errno == 0 {
			return int(fd), nil
		}
		devErr = fmt.Errorf("/dev/userfaultfd: USERFAULTFD_IOC_NEW: %w", errno)
	} else {
		devErr = fmt.Errorf("/dev/userfaultfd: %w", err)
	}
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, flags, 0, 0)
	if errno == unix.EPERM {
		fd, _, errno = unix.Syscall(unix.SYS_USERFAULTFD, flags|userModeOnly, 0, 0)
	}
	if errno != 0 {
		return -1, fmt.Errorf("userfaultfd: %w (and %v)", errno, devErr)
	}
	return int(fd), nil
}

// New opens a userfaultfd and agrees on the API with the features in
// want; see Init.
func New(want Features) (*FD, error) {
	fd, err := Open()
	if err != nil {
		return nil, err
	}
	u, err := Init(fd, want)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return u, nil
}

// Available reports why userfaultfd cannot be used here with the
// features in want, or nil. It opens and closes a userfaultfd of its own.
func Available(want Features) error {
	u, err := New(want)
	if err != nil {
		return err
	}
	return u.Close()
}

// Init takes over fd, a userfaultfd that nobody has agreed the API on
// (from Open, or received from another process), and agrees on it: the
// UFFDIO_API handshake asks for want, and fails with an error naming
// the features the kernel lacks. On success the FD owns fd (it is made
// non-blocking, and Close closes it); on failure the caller still owns
// it.
func Init(fd int, want Features) (*FD, error) {
	// UFFDIO_API fails with EINVAL when a feature asked for is missing;
	// which one is asked of a userfaultfd opened for the purpose, since
	// the handshake can be made only once on each.
	arg := uffdioAPI{API: api, Features: uint64(want)}
	if err := ioctl(fd, ioctlAPI, unsafe.Pointer(&arg)); err != nil {
		if errors.Is(err, unix.EINVAL) {
			if have, perr := supported(); perr == nil && want&^have != 0 {
				return nil, fmt.Errorf("userfaultfd: the kernel lacks %v", want&^have)
			}
			return nil, fmt.Errorf("userfaultfd: UFFDIO_API with %v: %w (is the API already agreed on this userfaultfd?)", want, err)
		}
		return nil, fmt.Errorf("userfaultfd: UFFDIO_API: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("userfaultfd: O_NONBLOCK: %w", err)
	}
	u := &FD{fd: fd, features: Features(arg.Features), ioctls: arg.Ioctls}
	u.file = os.NewFile(uintptr(fd), "userfaultfd")
	rc, err := u.file.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("userfaultfd: %w", err)
	}
	u.rc = rc
	return u, nil
}

// supported asks the kernel which features it has, on a userfaultfd
// opened for the purpose.
func supported() (Features, error) {
	fd, err := Open()
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	arg := uffdioAPI{API: api}
	if err := ioctl(fd, ioctlAPI, unsafe.Pointer(&arg)); err != nil {
		return 0, err
	}
	return Features(arg.Features), nil
}

// Features are the features the kernel has (UFFDIO_API's answer: every
// feature it supports, not only those asked for).
func (u *FD) Features() Features { return u.features }

// Fd is the descriptor, for passing to another process (SCM_RIGHTS).
func (u *FD) Fd() int { return u.fd }

// Close closes the userfaultfd. Threads still waiting on a fault of a
// registered range are woken and retry without it (userfaultfd_release).
// No other method may run during or after Close.
func (u *FD) Close() error { return u.file.Close() }

// Interrupt makes every Wait, now and later, return ErrClosed, without
// closing the descriptor: the way to stop the goroutines that wait on u
// before closing it.
func (u *FD) Interrupt() error { return u.file.SetReadDeadline(time.Unix(1, 0)) }

// Register starts reporting faults of mode in [start, start+length) of
// the process the userfaultfd belongs to (which need not be the
// caller's), and returns the ioctls usable on the range (Ioctl* bits).
func (u *FD) Register(start, length uint64, mode Mode) (uint64, error) {
	arg := uffdioRegister{Range: uffdioRange{start, length}, Mode: uint64(mode)}
	if err := ioctl(u.fd, ioctlRegister, unsafe.Pointer(&arg)); err != nil {
		return 0, &Error{Op: "UFFDIO_REGISTER", Start: start, Len: length, Errno: err.(syscall.Errno)}
	}
	return arg.Ioctls, nil
}

// Unregister stops reporting faults of the range; threads waiting on its
// faults are woken.
func (u *FD) Unregister(start, length uint64) error {
	arg := uffdioRange{start, length}
	if err := ioctl(u.fd, ioctlUnregister, unsafe.Pointer(&arg)); err != nil {
		return &Error{Op: "UFFDIO_UNREGISTER", Start: start, Len: length, Errno: err.(syscall.Errno)}
	}
	return nil
}

// ioctl issues one ioctl, retrying on EINTR.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}
