package uffd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

// want are the features the tests use.
const want = FeaturePagefaultFlagWP | FeatureEventRemove | FeatureEventUnmap | FeatureThreadID

func TestMain(m *testing.M) {
	// A goroutine that faults on a registered page sleeps in the kernel
	// holding its P: leave Ps for the goroutines that resolve faults.
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 8))
	os.Exit(m.Run())
}

// region is a registered anonymous mapping.
type region struct {
	u    *FD
	mem  []byte
	base uint64
}

func newRegion(t *testing.T, pages int, mode Mode) *region {
	t.Helper()
	u, err := New(want)
	if err != nil {
		t.Skipf("userfaultfd is not available here: %v", err)
	}
	mem, err := unix.Mmap(-1, 0, pages*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		u.Close()
		t.Fatal(err)
	}
	r := &region{u: u, mem: mem, base: uint64(uintptr(unsafe.Pointer(&mem[0])))}
	t.Cleanup(func() {
		// Close first: with the userfaultfd open, munmap of the range
		// would wait for its UNMAP event to be read.
		r.u.Close()
		unix.Munmap(r.mem)
	})
	ioctls, err := u.Register(r.base, uint64(len(mem)), mode)
	if err != nil {
		t.Fatal(err)
	}
	if ioctls&IoctlCopy == 0 || ioctls&IoctlWake == 0 {
		t.Fatalf("registered range lacks COPY/WAKE: ioctls %#x", ioctls)
	}
	return r
}

func (r *region) addr(page int) uint64 { return r.base + uint64(page)*pageSize }

// next waits for and returns one message.
func (r *region) next(t *testing.T) Msg {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := r.u.Wait(); err != nil {
			t.Fatal(err)
		}
		var m [1]Msg
		n, err := r.u.ReadMsgs(m[:])
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return m[0]
		}
	}
	t.Fatal("no userfaultfd message in 10s")
	return Msg{}
}

// access runs fn in a goroutine of its own and returns a channel closed
// when it is done.
func access(fn func()) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return done
}

func filled(b byte) []byte { return bytes.Repeat([]byte{b}, pageSize) }

func wait(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10s", what)
	}
}

// stillBlocked checks that done is not closed after a while: the thread
// sleeps in its fault.
func stillBlocked(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("%s: the faulting thread went on", what)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestUAPIConstants(t *testing.T) {
	// The kernel's values, from <linux/userfaultfd.h>.
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"UFFDIO_API", ioctlAPI, 0xc018aa3f},
		{"UFFDIO_REGISTER", ioctlRegister, 0xc020aa00},
		{"UFFDIO_UNREGISTER", ioctlUnregister, 0x8010aa01},
		{"UFFDIO_WAKE", ioctlWake, 0x8010aa02},
		{"UFFDIO_COPY", ioctlCopy, 0xc028aa03},
		{"UFFDIO_ZEROPAGE", ioctlZeropage, 0xc020aa04},
		{"UFFDIO_WRITEPROTECT", ioctlWriteprotect, 0xc018aa06},
		{"UFFDIO_CONTINUE", ioctlContinue, 0xc020aa07},
		{"UFFDIO_POISON", ioctlPoison, 0xc020aa08},
		{"USERFAULTFD_IOC_NEW", ioctlNew, 0xaa00},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if s := unsafe.Sizeof(uffdioCopy{}); s != 40 {
		t.Errorf("sizeof(uffdio_copy) = %d", s)
	}
	if s := unsafe.Sizeof(uffdioRegister{}); s != 32 {
		t.Errorf("sizeof(uffdio_register) = %d", s)
	}
	// And against the C header, where there is a compiler.
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Log("no gcc: not checked against <linux/userfaultfd.h>")
		return
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "c.c")
	os.WriteFile(src, []byte(`#include <stdio.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/userfaultfd.h>
int main(void) {
	printf("%lx %lx %lx %lx %lx %lx %lx %zu %zu %zu\n",
		(unsigned long)UFFDIO_API, (unsigned long)UFFDIO_REGISTER, (unsigned long)UFFDIO_UNREGISTER,
		(unsigned long)UFFDIO_WAKE, (unsigned long)UFFDIO_COPY, (unsigned long)UFFDIO_ZEROPAGE,
		(unsigned long)UFFDIO_WRITEPROTECT, sizeof(struct uffd_msg),
		offsetof(struct uffd_msg, arg.pagefault.address), offsetof(struct uffd_msg, arg.remove.end));
	return 0;
}
`), 0o644)
	bin := filepath.Join(dir, "c")
	if out, err := exec.Command(gcc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Logf("the C header does not build here (%v): %s", err, out)
		return
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, w := strings.TrimSpace(string(out)), "c018aa3f c020aa00 8010aa01 8010aa02 c028aa03 c020aa04 c018aa06 32 16 16"; got != w {
		t.Errorf("C header says %q, this package %q", got, w)
	}
}

func TestMsgRoundTrip(t *testing.T) {
	for _, m := range []Msg{
		{Event: EventPagefault, Addr: 0x7f0000001000, Flags: FlagWrite | FlagWP, TID: 42},
		{Event: EventFork, UFD: 9},
		{Event: EventRemap, From: 1 << 20, To: 2 << 20, Len: 8192},
		{Event: EventRemove, Start: 0x1000, End: 0x3000},
		{Event: EventUnmap, Start: 0x5000, End: 0x6000},
	} {
		var b [msgSize]byte
		encodeMsg(m, b[:])
		if got := decodeMsg(b[:]); got != m {
			t.Errorf("round trip of %v gave %v", m, got)
		}
	}
	if s := (FeatureEventRemove | FeatureEventUnmap).String(); s != "event_remove|event_unmap" {
		t.Errorf("Features.String = %q", s)
	}
}

// A read of a missing page is reported and resolved by a copy, which
// wakes the reader; a second copy finds the page there (EEXIST).
func TestMissingFaultCopy(t *testing.T) {
	r := newRegion(t, 4, ModeMissing)
	var got byte
	done := access(func() { got = r.mem[2*pageSize+7] })
	m := r.next(t)
	if m.Event != EventPagefault || m.Addr != r.addr(2) || m.Write() || m.WP() || m.TID == 0 {
		t.Fatalf("message %v, want a missing read fault at %#x with a thread id", m, r.addr(2))
	}
	n, err := r.u.Copy(r.addr(2), filled(0x5a), 0)
	if err != nil || n != pageSize {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	wait(t, done, "reader")
	if got != 0x5a {
		t.Fatalf("read %#x after the copy, want 0x5a", got)
	}
	n, err = r.u.Copy(r.addr(2), filled(1), 0)
	if !errors.Is(err, ErrExist) || n != 0 {
		t.Fatalf("second Copy = %d, %v; want ErrExist", n, err)
	}
	if r.mem[2*pageSize] != 0x5a {
		t.Fatal("a failed copy changed the page")
	}
}

// A copy made with DONTWAKE maps the page but leaves the faulting thread
// asleep: a later copy's EEXIST does not wake it either, only a wake
// does. This is the rule ioctl_userfaultfd(2) gives for EEXIST.
//
// The fault is taken inside read(2) (copy_to_user onto the missing
// page): a goroutine that faults in user mode is interrupted by the Go
// runtime's preemption signal every few milliseconds, and retries its
// access by itself, which would hide a missing wake.
func TestCopyDontWakeNeedsWake(t *testing.T) {
	r := newRegion(t, 2, ModeMissing)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	unix.Write(p[1], []byte{0x42})
	var n int
	var rerr error
	done := access(func() { n, rerr = unix.Read(p[0], r.mem[10:11]) })
	if m := r.next(t); m.Addr != r.addr(0) || !m.Write() {
		t.Fatalf("message %v, want a write fault at %#x", m, r.addr(0))
	}
	if _, err := r.u.Copy(r.addr(0), filled(7), CopyDontWake); err != nil {
		t.Fatal(err)
	}
	stillBlocked(t, done, "after a DONTWAKE copy")
	if _, err := r.u.Copy(r.addr(0), filled(8), 0); !errors.Is(err, ErrExist) {
		t.Fatalf("Copy over the page = %v, want ErrExist", err)
	}
	stillBlocked(t, done, "after an EEXIST copy")
	if err := r.u.Wake(r.addr(0), pageSize); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "after UFFDIO_WAKE")
	if n != 1 || rerr != nil || r.mem[10] != 0x42 || r.mem[0] != 7 {
		t.Fatalf("read = %d, %v; page holds %#x, %#x", n, rerr, r.mem[0], r.mem[10])
	}
}

// A copy over two pages whose second is mapped stops there: EAGAIN with
// one page copied, then EEXIST for the second.
func TestPartialCopy(t *testing.T) {
	r := newRegion(t, 2, ModeMissing)
	if _, err := r.u.Copy(r.addr(1), filled(2), 0); err != nil {
		t.Fatal(err)
	}
	src := append(filled(3), filled(4)...)
	n, err := r.u.Copy(r.addr(0), src, 0)
	if !errors.Is(err, ErrAgain) || n != pageSize {
		t.Fatalf("Copy over a mapped page = %d, %v; want %d, ErrAgain", n, err, pageSize)
	}
	var e *Error
	if !errors.As(err, &e) || e.Copied != pageSize {
		t.Fatalf("error %v does not carry the count", err)
	}
	if r.mem[0] != 3 || r.mem[pageSize] != 2 {
		t.Fatalf("pages hold %d, %d; want 3, 2", r.mem[0], r.mem[pageSize])
	}
}

// A page copied write-protected reports the next write as a WP fault,
// which lifting the protection resolves (and wakes).
func TestWriteProtectFault(t *testing.T) {
	r := newRegion(t, 2, ModeMissing|ModeWP)
	if _, err := r.u.Copy(r.addr(1), filled(1), CopyWP); err != nil {
		t.Fatal(err)
	}
	if r.mem[pageSize+5] != 1 {
		t.Fatal("a read of a protected page did not see its data")
	}
	done := access(func() { r.mem[pageSize+5] = 9 })
	m := r.next(t)
	if m.Addr != r.addr(1) || !m.WP() || !m.Write() {
		t.Fatalf("message %v, want a WP write fault at %#x", m, r.addr(1))
	}
	stillBlocked(t, done, "the protected write")
	if err := r.u.WriteProtect(r.addr(1), pageSize, false, false); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "writer")
	if r.mem[pageSize+5] != 9 || r.mem[pageSize] != 1 {
		t.Fatal("the write did not land on the page")
	}
	// Protect it again: the next write faults again.
	if err := r.u.WriteProtect(r.addr(1), pageSize, true, false); err != nil {
		t.Fatal(err)
	}
	done = access(func() { r.mem[pageSize] = 3 })
	if m := r.next(t); !m.WP() {
		t.Fatalf("message %v, want a WP fault", m)
	}
	if err := r.u.WriteProtect(r.addr(1), pageSize, false, false); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "second writer")
}

// UFFDIO_ZEROPAGE maps the zero page; a write to it, once protected,
// reports a WP fault rather than copying on write behind our back.
func TestZeroPage(t *testing.T) {
	r := newRegion(t, 1, ModeMissing|ModeWP)
	var got byte = 0xff
	done := access(func() { got = r.mem[100] })
	if m := r.next(t); m.Addr != r.addr(0) || m.Write() {
		t.Fatalf("message %v", m)
	}
	if n, err := r.u.ZeroPage(r.addr(0), pageSize, true); err != nil || n != pageSize {
		t.Fatalf("ZeroPage = %d, %v", n, err)
	}
	if err := r.u.WriteProtect(r.addr(0), pageSize, true, false); err != nil {
		t.Fatal(err)
	}
	if err := r.u.Wake(r.addr(0), pageSize); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "reader of the zero page")
	if got != 0 {
		t.Fatalf("read %d from the zero page", got)
	}
	done = access(func() { r.mem[0] = 1 })
	if m := r.next(t); !m.WP() {
		t.Fatalf("message %v, want a WP fault on the zero page", m)
	}
	if err := r.u.WriteProtect(r.addr(0), pageSize, false, false); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "writer of the zero page")
	if r.mem[0] != 1 {
		t.Fatal("write lost")
	}
	if _, err := r.u.ZeroPage(r.addr(0), pageSize, false); !errors.Is(err, ErrExist) {
		t.Fatalf("ZeroPage over a page = %v, want ErrExist", err)
	}
}

// MADV_DONTNEED of a registered range sends REMOVE before it zaps, and
// waits until the event is read; until then copies fail with EAGAIN.
func TestRemoveEvent(t *testing.T) {
	r := newRegion(t, 4, ModeMissing)
	if _, err := r.u.Copy(r.addr(1), filled(1), 0); err != nil {
		t.Fatal(err)
	}
	done := access(func() {
		if err := unix.Madvise(r.mem[pageSize:3*pageSize], unix.MADV_DONTNEED); err != nil {
			t.Error(err)
		}
	})
	// Wait says a message is pending: the event, queued before madvise
	// sleeps. Until it is read, a copy anywhere fails with EAGAIN.
	if err := r.u.Wait(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.u.Copy(r.addr(3), filled(3), 0); !errors.Is(err, ErrAgain) || n != 0 {
		t.Fatalf("Copy while REMOVE is pending = %d, %v; want ErrAgain", n, err)
	}
	stillBlocked(t, done, "madvise before its event is read")
	m := r.next(t)
	if m.Event != EventRemove || m.Start != r.addr(1) || m.End != r.addr(3) {
		t.Fatalf("message %v, want remove %#x-%#x", m, r.addr(1), r.addr(3))
	}
	wait(t, done, "madvise after its event was read")
	if _, err := r.u.Copy(r.addr(3), filled(3), 0); err != nil {
		t.Fatalf("Copy after the event was read: %v", err)
	}
	// The zapped page faults again.
	var got byte
	done = access(func() { got = r.mem[pageSize] })
	if m := r.next(t); m.Event != EventPagefault || m.Addr != r.addr(1) {
		t.Fatalf("message %v, want a fault at the removed page", m)
	}
	if _, err := r.u.Copy(r.addr(1), filled(5), 0); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "reader of the removed page")
	if got != 5 {
		t.Fatalf("read %d from the removed page after the copy, want 5", got)
	}
}

// munmap of part of a range sends UNMAP after it unmapped; the ioctls on
// the unmapped part then fail with ErrGone.
func TestUnmapEvent(t *testing.T) {
	r := newRegion(t, 4, ModeMissing|ModeWP)
	done := access(func() {
		if err := unix.MunmapPtr(unsafe.Pointer(&r.mem[2*pageSize]), 2*pageSize); err != nil {
			t.Error(err)
		}
	})
	m := r.next(t)
	if m.Event != EventUnmap || m.Start != r.addr(2) || m.End != r.addr(4) {
		t.Fatalf("message %v, want unmap %#x-%#x", m, r.addr(2), r.addr(4))
	}
	wait(t, done, "munmap")
	r.mem = r.mem[:2*pageSize]
	if _, err := r.u.Copy(r.addr(2), filled(1), 0); !errors.Is(err, ErrGone) {
		t.Fatalf("Copy into the unmapped part = %v, want ErrGone", err)
	}
	if err := r.u.WriteProtect(r.addr(3), pageSize, true, false); !errors.Is(err, ErrGone) {
		t.Fatalf("WriteProtect of the unmapped part = %v, want ErrGone", err)
	}
	if _, err := r.u.Copy(r.addr(1), filled(1), 0); err != nil {
		t.Fatalf("Copy into the part still mapped: %v", err)
	}
}

// Interrupt ends every Wait; Unregister stops the faults.
func TestInterruptAndUnregister(t *testing.T) {
	r := newRegion(t, 1, ModeMissing)
	errc := make(chan error)
	go func() { errc <- r.u.Wait() }()
	stillBlocked(t, nil, "")
	if err := r.u.Interrupt(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Interrupt did not end Wait")
	}
	if err := r.u.Unregister(r.base, pageSize); err != nil {
		t.Fatal(err)
	}
	if r.mem[10] != 0 {
		t.Fatal("an unregistered page is not the zero page")
	}
}

func TestInitTwice(t *testing.T) {
	fd, err := Open()
	if err != nil {
		t.Skipf("userfaultfd is not available here: %v", err)
	}
	u, err := Init(fd, want)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer u.Close()
	if u.Features()&want != want {
		t.Fatalf("features %v lack %v", u.Features(), want)
	}
	if _, err := Init(u.Fd(), want); err == nil {
		t.Fatal("a second UFFDIO_API on one userfaultfd succeeded")
	}
}

// A shared mapping of a memfd, registered for missing, write-protect and
// minor faults: MADV_DONTNEED zaps the mapping but the page cache keeps
// the page, so the next access is a minor fault, which UFFDIO_CONTINUE
// resolves with the cached page; after the page cache lost it (a hole
// punched), the access is a missing fault again.
func TestShmemMinorFault(t *testing.T) {
	const feats = want | FeatureMissingShmem | FeatureWPHugetlbfsShmem | FeatureMinorShmem
	u, err := New(feats)
	if err != nil {
		t.Skipf("userfaultfd with shmem features is not available here: %v", err)
	}
	fd, err := unix.MemfdCreate("uffd-test", unix.MFD_CLOEXEC)
	if err != nil {
		u.Close()
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(fd, 0, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		u.Close()
		t.Fatal(err)
	}
	r := &region{u: u, mem: mem, base: uint64(uintptr(unsafe.Pointer(&mem[0])))}
	defer func() { u.Close(); unix.Munmap(mem) }()
	if _, err := u.Register(r.base, 2*pageSize, ModeMissing|ModeWP|ModeMinor); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Copy(r.addr(0), filled(6), CopyWP); err != nil {
		t.Fatal(err)
	}
	var got byte
	done := access(func() {
		unix.Madvise(mem[:pageSize], unix.MADV_DONTNEED)
		got = mem[1]
	})
	if m := r.next(t); m.Event != EventRemove {
		t.Fatalf("message %v, want remove", m)
	}
	m := r.next(t)
	if m.Event != EventPagefault || !m.Minor() || m.Addr != r.addr(0) {
		t.Fatalf("message %v, want a minor fault at %#x", m, r.addr(0))
	}
	if _, err := u.Continue(r.addr(0), pageSize, true, false); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "reader after UFFDIO_CONTINUE")
	if got != 6 {
		t.Fatalf("read %d through the continued page, want 6", got)
	}
	if _, err := u.Continue(r.addr(0), pageSize, false, false); !errors.Is(err, ErrExist) {
		t.Fatalf("Continue of a mapped page = %v, want ErrExist", err)
	}
	// Punch the hole: the next access misses.
	if err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, pageSize); err != nil {
		t.Fatal(err)
	}
	done = access(func() { got = mem[1] })
	if m := r.next(t); m.Minor() || m.WP() || m.Addr != r.addr(0) {
		t.Fatalf("message %v, want a missing fault after the hole was punched", m)
	}
	if _, err := u.Copy(r.addr(0), filled(9), 0); err != nil {
		t.Fatal(err)
	}
	wait(t, done, "reader after the copy")
	if got != 9 {
		t.Fatalf("read %d, want 9", got)
	}
}

// A poisoned page raises SIGBUS; UFFDIO_POISON of a mapped page fails
// with EEXIST; MADV_DONTNEED and UFFDIO_COPY both take the marker away.
func TestPoison(t *testing.T) {
	r := newRegion(t, 3, ModeMissing)
	if r.u.Features()&FeaturePoison == 0 {
		t.Skip("the kernel has no UFFDIO_POISON")
	}
	if _, err := r.u.Poison(r.addr(0), pageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := r.u.Copy(r.addr(1), filled(1), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.u.Poison(r.addr(1), pageSize); !errors.Is(err, ErrExist) {
		t.Fatalf("Poison of a mapped page = %v, want ErrExist", err)
	}
	// The poisoned page is reported by the kernel's read path (EFAULT)
	// rather than touched from Go, which would crash the test.
	f, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], int64(r.addr(0))); err == nil {
		t.Fatal("reading a poisoned page succeeded")
	}
	if _, err := f.ReadAt(b[:], int64(r.addr(1))); err != nil || b[0] != 1 {
		t.Fatalf("reading the page beside it: %v, %d", err, b[0])
	}
	// MADV_DONTNEED zaps the poison marker with the rest of the range
	// (zap_pte_range with no zap_details: should_zap_cows): the page is
	// missing again, and a touch of it is a fault the pager is told of,
	// not a SIGBUS. package uffdsim does the same.
	done := access(func() {
		if err := unix.Madvise(r.mem[:pageSize], unix.MADV_DONTNEED); err != nil {
			t.Error(err)
		}
	})
	if m := r.next(t); m.Event != EventRemove {
		t.Fatalf("message %v, want remove", m)
	}
	wait(t, done, "madvise after its event was read")
	var got byte
	var sigbus any
	done = access(func() {
		old := debug.SetPanicOnFault(true) // a SIGBUS is a panic here, not the end of the test
		defer func() { sigbus = recover(); debug.SetPanicOnFault(old) }()
		got = r.mem[0]
	})
	if m := r.next(t); m.Event != EventPagefault || m.Addr != r.addr(0) {
		t.Fatalf("message %v, want a fault at the page zapped after its poisoning", m)
	}
	if _, err := r.u.Copy(r.addr(0), filled(7), 0); err != nil {
		t.Fatalf("Copy after MADV_DONTNEED of a poisoned page: %v", err)
	}
	wait(t, done, "reader after the copy")
	if sigbus != nil || got != 7 {
		t.Fatalf("read %d (fault: %v), want 7", got, sigbus)
	}
	// UFFDIO_COPY overwrites a poison marker, as any marker
	// (mfill_atomic_install_pte's pte_none_mostly); uffdsim does too.
	if _, err := r.u.Poison(r.addr(2), pageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := r.u.Copy(r.addr(2), filled(8), 0); err != nil {
		t.Fatalf("Copy over a poison marker: %v", err)
	}
	if _, err := f.ReadAt(b[:], int64(r.addr(2))); err != nil || b[0] != 8 {
		t.Fatalf("reading the page copied over its marker: %v, %d", err, b[0])
	}
}
