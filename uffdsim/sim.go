// Package uffdsim simulates what the pager runs against: a process's
// region, a shared mapping of a memfd, registered with a userfaultfd for
// missing, write-protect and minor faults and for the REMOVE and UNMAP
// events, as fs/userfaultfd.c, mm/userfaultfd.c and mm/shmem.c behave.
// It implements pager.Ops for the pager's side and gives the process's
// threads their loads, stores, MADV_DONTNEED and munmap, so that the
// explorer (package sched) can run the pager's protocol against it.
//
// What it keeps of the kernel (and what a real pager must cope with):
//
//   - A thread that touches a page that is not mapped, or writes one
//     that is write-protected, queues a message and sleeps until a range
//     ioctl covering its page wakes it; then it retries the access and
//     may fault again. The check and the queueing are one step
//     (handle_userfault's userfaultfd_must_wait). A waiter woken before
//     its message was read takes the message with it.
//   - UFFDIO_COPY fails with EEXIST when the page cache holds the page
//     (shmem_mfill_atomic_pte), with ENOENT on an unmapped page, with
//     EAGAIN while an event is queued and not yet read (mmap_changing);
//     it wakes the page's waiters unless asked not to.
//   - UFFDIO_WRITEPROTECT changes mapped pages only; lifting protection
//     wakes. UFFDIO_CONTINUE maps a cached page (EEXIST if mapped).
//     UFFDIO_WAKE wakes every waiter of its range.
//   - MADV_DONTNEED queues REMOVE, sleeps until it is read, then zaps the
//     mapping and any poison marker: the page cache keeps the page (a
//     shared mapping), so the next access is a minor fault. munmap unmaps, then queues UNMAP and
//     sleeps until it is read.
//   - Reading messages gives faults before events, oldest first.
//   - Punching a hole (the pager's Drop) drops the page from the page
//     cache and every mapping, and sends no event.
//
// Every lock and wait is a ksync operation on the calling task.
//
// Lock order: Region.lock is innermost (the pager calls in with its own
// locks held); the wait queues' internal locks are below it.
package uffdsim

import (
	"fmt"
	"syscall"

	"uswap/ksync"
	"uswap/mem"
	"uswap/uffd"
)

// PageSize is the region's page size.
const PageSize = mem.PageSize

// Errors the process's accesses get.
var (
	ErrSegv   = fmt.Errorf("SIGSEGV: the page is not mapped")
	ErrSigbus = fmt.Errorf("SIGBUS: the page is poisoned")
)

// Region is one simulated region and its userfaultfd.
type Region struct {
	base uint64 // immutable: the address of page 0

	// lock stands for the page table lock and the userfaultfd context's
	// wait queue locks at once: it guards everything below.
	lock         ksync.SpinLock
	pages        []page
	sleeping     []*waiter // threads asleep in a fault (fault_pending_wqh and fault_wqh)
	unread       []*waiter // those whose message is not read yet (fault_pending_wqh)
	events       []*event  // events not read yet (event_wqh)
	mmapChanging int       // ctx->mmap_changing
	released     bool      // the userfaultfd is closed: faults are the plain shmem ones
	nextTID      uint32

	// pending counts unread messages, interrupted is set by Interrupt:
	// both atomic, for Wait's condition.
	pending     ksync.Int32
	interrupted ksync.Bool

	// made are the fault waiters and events the region queued in a
	// traced run, kept only to name them in traces (ObjectName) once
	// they have left the queues (an untraced run keeps none). Guarded by
	// lock while the run goes; read after it.
	madeWaiters []*waiter
	madeEvents  []*event

	readers ksync.WaitQueue // fd_wqh: Wait sleeps here
	faultWQ ksync.WaitQueue // faulting threads sleep here
	eventWQ ksync.WaitQueue // threads whose event is not read sleep here
}

type page struct {
	cached   bool   // the memfd's page cache holds the page
	data     []byte // its content while cached
	mapped   bool   // the process's page table maps it
	wp       bool   // mapped write-protected (uffd-wp)
	gone     bool   // unmapped by the process
	poisoned bool   // a poison marker (UFFDIO_POISON): SIGBUS
}

type waiter struct {
	page  uint64
	flags uint64
	tid   uint32
	woken ksync.Bool
}

type event struct {
	msg  uffd.Msg
	done ksync.Bool
}

// New makes a region of pages pages at base, none of them present.
func New(base uint64, pages int) *Region {
	r := &Region{base: base, pages: make([]page, pages)}
	r.lock.Init(ksync.RankUffdSim)
	for i := range r.pages {
		r.pages[i].data = make([]byte, PageSize)
	}
	return r
}

// Pages is the region's size in pages.
func (r *Region) Pages() uint64 { return uint64(len(r.pages)) }

// Page is the address of page n.
func (r *Region) Page(n uint64) uint64 { return r.base + n*PageSize }

// PageOf is the page of an address in the region.
func (r *Region) PageOf(addr uint64) (uint64, bool) {
	if addr < r.base || addr >= r.base+uint64(len(r.pages))*PageSize {
		return 0, false
	}
	return (addr - r.base) / PageSize, true
}

// ObjectName names the region's objects in traces, its fault waiters and
// events included ("fault(tid 3, page 1)->woken", "event(REMOVE)->done"),
// or "" for an object that is not the region's. Call it once the run is
// over (it reads what the run made without the lock).
func (r *Region) ObjectName(obj any) string {
	switch obj {
	case &r.lock:
		return "uffd->ptl"
	case &r.readers:
		return "uffd->fd_wqh"
	case &r.faultWQ:
		return "uffd->fault_wqh"
	case &r.eventWQ:
		return "uffd->event_wqh"
	case &r.pending:
		return "uffd->pending"
	case &r.interrupted:
		return "uffd->released"
	}
	for _, w := range r.madeWaiters {
		if obj == &w.woken {
			return fmt.Sprintf("fault(tid %d, page %d)->woken", w.tid, w.page)
		}
	}
	for _, ev := range r.madeEvents {
		if obj == &ev.done {
			return fmt.Sprintf("event(%v)->done", ev.msg.Event)
		}
	}
	return ""
}

func ioctlError(op string, start, n uint64, errno syscall.Errno) error {
	return &uffd.Error{Op: op, Start: start, Len: n * PageSize, Errno: errno}
}

// --- the process's side ---

// Load reads the first word of a page, as a thread of the process.
func (r *Region) Load(t *ksync.Task, n uint64) (uint64, error) {
	var v uint64
	err := r.access(t, n, false, func(pg *page) { v = word(pg.data) })
	return v, err
}

// Store writes the first word of a page, as a thread of the process.
func (r *Region) Store(t *ksync.Task, n uint64, v uint64) error {
	return r.access(t, n, true, func(pg *page) { setWord(pg.data, v) })
}

// access is the process's memory access with its page fault: done under
// the lock when the mapping allows it; otherwise a message is queued and
// the thread sleeps until woken, then tries again.
func (r *Region) access(t *ksync.Task, n uint64, write bool, fn func(*page)) error {
	r.lock.Lock(t)
	r.nextTID++
	tid := r.nextTID
	r.lock.Unlock(t)
	for {
		r.lock.Lock(t)
		pg := &r.pages[n]
		var flags uint64
		switch {
		case pg.gone:
			r.lock.Unlock(t)
			return ErrSegv
		case pg.poisoned:
			r.lock.Unlock(t)
			return ErrSigbus
		case pg.mapped && (!write || !pg.wp):
			fn(pg)
			r.lock.Unlock(t)
			return nil
		case r.released:
			// No userfaultfd: the shmem fault maps the cached page, or
			// a new zero page, writable.
			if !pg.cached {
				pg.cached = true
				clear(pg.data)
			}
			pg.mapped, pg.wp = true, false
			r.lock.Unlock(t)
			continue
		case pg.mapped:
			flags = uffd.FlagWP | uffd.FlagWrite
		case pg.cached:
			flags = uffd.FlagMinor
		}
		if write {
			flags |= uffd.FlagWrite
		}
		w := &waiter{page: n, flags: flags, tid: tid}
		if t.Traced() {
			r.madeWaiters = append(r.madeWaiters, w)
		}
		r.sleeping = append(r.sleeping, w)
		r.unread = append(r.unread, w)
		r.pending.Add(t, 1)
		r.lock.Unlock(t)
		if t.Traced() {
			ksync.Note(t, "fault on page %d (flags %#x): sleeps", n, flags)
		}
		r.readers.WakeAll(t)
		r.faultWQ.Wait(t, func() bool { return w.woken.Load(t) })
	}
}

// Dontneed is MADV_DONTNEED of n pages from first: REMOVE, then the zap
// of the mapping (the page cache keeps the pages). The zap takes poison
// markers too (zap_pte_range with no zap_details: should_zap_cows), so a
// poisoned page faults again.
func (r *Region) Dontneed(t *ksync.Task, first, n uint64) {
	r.lock.Lock(t)
	r.mmapChanging++
	ev := r.queueEvent(t, uffd.Msg{Event: uffd.EventRemove, Start: r.Page(first), End: r.Page(first + n)})
	r.lock.Unlock(t)
	r.waitEvent(t, ev)
	r.lock.Lock(t)
	r.mmapChanging--
	for i := first; i < first+n; i++ {
		pg := &r.pages[i]
		pg.mapped, pg.wp, pg.poisoned = false, false, false
	}
	r.lock.Unlock(t)
}

// Munmap is munmap of n pages from first: unmapped first, then UNMAP.
func (r *Region) Munmap(t *ksync.Task, first, n uint64) {
	r.lock.Lock(t)
	r.mmapChanging++
	for i := first; i < first+n; i++ {
		pg := &r.pages[i]
		pg.gone, pg.mapped, pg.wp = true, false, false
	}
	ev := r.queueEvent(t, uffd.Msg{Event: uffd.EventUnmap, Start: r.Page(first), End: r.Page(first + n)})
	r.lock.Unlock(t)
	r.waitEvent(t, ev)
	r.lock.Lock(t)
	r.mmapChanging--
	r.lock.Unlock(t)
}

func (r *Region) queueEvent(t *ksync.Task, m uffd.Msg) *event {
	ev := &event{msg: m}
	if t.Traced() {
		r.madeEvents = append(r.madeEvents, ev)
	}
	if r.released {
		ev.done.Init(true)
		return ev
	}
	r.events = append(r.events, ev)
	r.pending.Add(t, 1)
	return ev
}

func (r *Region) waitEvent(t *ksync.Task, ev *event) {
	r.readers.WakeAll(t)
	r.eventWQ.Wait(t, func() bool { return ev.done.Load(t) })
}

// Release is closing the userfaultfd (userfaultfd_release): every
// sleeping thread is woken, later faults are the plain shmem ones, and
// events are no longer sent.
func (r *Region) Release(t *ksync.Task) {
	r.lock.Lock(t)
	r.released = true
	for _, w := range r.sleeping {
		w.woken.Store(t, true)
	}
	r.sleeping, r.unread = nil, nil
	for _, ev := range r.events {
		ev.done.Store(t, true)
	}
	r.events = nil
	r.lock.Unlock(t)
	r.faultWQ.WakeAll(t)
	r.eventWQ.WakeAll(t)
}

// PageState is what a page looks like to a check at quiescence.
type PageState struct {
	Cached, Mapped, WP, Gone, Poisoned bool
	Word                               uint64
}

// Peek reads a page's state without a task: for checks after a run.
func (r *Region) Peek(n uint64) PageState {
	pg := &r.pages[n]
	return PageState{Cached: pg.cached, Mapped: pg.mapped, WP: pg.wp, Gone: pg.gone, Poisoned: pg.poisoned, Word: word(pg.data)}
}

// Sleeping is the number of threads asleep in a fault, for checks at
// quiescence.
func (r *Region) Sleeping() int { return len(r.sleeping) }

func word(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func setWord(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// FillWord makes a page whose first word is v (the rest zero), for the
// pager's tests.
func FillWord(v uint64) []byte {
	b := make([]byte, PageSize)
	setWord(b, v)
	return b
}
