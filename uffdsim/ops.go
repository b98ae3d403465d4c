package uffdsim

import (
	"syscall"

	"uswap/ksync"
	"uswap/uffd"
)

// This file is the pager's side: pager.Ops.

// Wait sleeps until a message is pending, or fails once Interrupt was
// called.
func (r *Region) Wait(t *ksync.Task) error {
	r.readers.Wait(t, func() bool { return r.pending.Load(t) > 0 || r.interrupted.Load(t) })
	if r.interrupted.Load(t) {
		return uffd.ErrClosed
	}
	return nil
}

// Interrupt makes Wait fail from now on.
func (r *Region) Interrupt(t *ksync.Task) {
	r.interrupted.Store(t, true)
	r.readers.WakeAll(t)
}

// Read takes pending messages: faults first, oldest first, then events;
// reading an event lets its thread go on.
func (r *Region) Read(t *ksync.Task, msgs []uffd.Msg) (int, error) {
	r.lock.Lock(t)
	n := 0
	for n < len(msgs) && len(r.unread) > 0 {
		w := r.unread[0]
		r.unread = r.unread[1:]
		msgs[n] = uffd.Msg{Event: uffd.EventPagefault, Addr: r.Page(w.page), Flags: w.flags, TID: w.tid}
		n++
	}
	events := 0
	for n < len(msgs) && len(r.events) > 0 {
		ev := r.events[0]
		r.events = r.events[1:]
		msgs[n] = ev.msg
		ev.done.Store(t, true)
		n++
		events++
	}
	r.pending.Add(t, int32(-n))
	r.lock.Unlock(t)
	if events > 0 {
		r.eventWQ.WakeAll(t)
	}
	return n, nil
}

// mfill is mfill_atomic() for one page: EAGAIN while an event is queued
// and not read (mmap_changing), ENOENT on an unmapped page, then the
// operation's own check (EEXIST, EFAULT), then the change, all under the
// page table lock.
func (r *Region) mfill(t *ksync.Task, op string, n uint64, check func(*page) syscall.Errno, change func(*page)) error {
	r.lock.Lock(t)
	defer r.lock.Unlock(t)
	pg := &r.pages[n]
	var errno syscall.Errno
	switch {
	case r.mmapChanging > 0:
		errno = syscall.EAGAIN
	case pg.gone:
		errno = syscall.ENOENT
	default:
		errno = check(pg)
	}
	if errno != 0 {
		return ioctlError(op, r.Page(n), 1, errno)
	}
	change(pg)
	return nil
}

// Copy is UFFDIO_COPY of one page: EEXIST when the page cache holds the
// page (shmem_mfill_atomic_pte). A poison marker is overwritten, as any
// marker is (mfill_atomic_install_pte's pte_none_mostly).
func (r *Region) Copy(t *ksync.Task, n uint64, src []byte, mode uffd.CopyMode) error {
	wp := mode&uffd.CopyWP != 0
	err := r.mfill(t, "UFFDIO_COPY", n, func(pg *page) syscall.Errno {
		if pg.cached {
			return syscall.EEXIST
		}
		return 0
	}, func(pg *page) {
		pg.cached, pg.mapped, pg.wp, pg.poisoned = true, true, wp, false
		copy(pg.data, src)
	})
	if err != nil {
		return err
	}
	if t.Traced() {
		ksync.Note(t, "UFFDIO_COPY page %d word %#x wp=%v", n, word(src), wp)
	}
	if mode&uffd.CopyDontWake == 0 {
		r.wakeRange(t, n, 1)
	}
	return nil
}

// Continue is UFFDIO_CONTINUE of one page: EFAULT when the page cache
// does not hold it, EEXIST when it is mapped; a poison marker is
// overwritten (mfill_atomic_install_pte).
func (r *Region) Continue(t *ksync.Task, n uint64, wp bool) error {
	err := r.mfill(t, "UFFDIO_CONTINUE", n, func(pg *page) syscall.Errno {
		switch {
		case !pg.cached:
			return syscall.EFAULT
		case pg.mapped:
			return syscall.EEXIST
		}
		return 0
	}, func(pg *page) { pg.mapped, pg.wp, pg.poisoned = true, wp, false })
	if err != nil {
		return err
	}
	r.wakeRange(t, n, 1)
	return nil
}

// WriteProtect is UFFDIO_WRITEPROTECT.
func (r *Region) WriteProtect(t *ksync.Task, first, n uint64, wp bool) error {
	r.lock.Lock(t)
	var errno syscall.Errno
	if r.mmapChanging > 0 {
		errno = syscall.EAGAIN
	}
	for i := first; i < first+n && errno == 0; i++ {
		if r.pages[i].gone {
			errno = syscall.ENOENT
		}
	}
	if errno != 0 {
		r.lock.Unlock(t)
		return ioctlError("UFFDIO_WRITEPROTECT", r.Page(first), n, errno)
	}
	for i := first; i < first+n; i++ {
		if pg := &r.pages[i]; pg.mapped {
			pg.wp = wp
		}
	}
	r.lock.Unlock(t)
	if t.Traced() {
		ksync.Note(t, "UFFDIO_WRITEPROTECT pages %d+%d wp=%v", first, n, wp)
	}
	if !wp {
		r.wakeRange(t, first, n)
	}
	return nil
}

// Wake is UFFDIO_WAKE.
func (r *Region) Wake(t *ksync.Task, first, n uint64) error {
	r.wakeRange(t, first, n)
	return nil
}

// Poison is UFFDIO_POISON of one page: EEXIST unless its pte is none
// (mfill_atomic_pte_poison refuses any pte, even a marker, and looks at
// no page cache: a cached page that is not mapped is poisoned).
func (r *Region) Poison(t *ksync.Task, n uint64) error {
	err := r.mfill(t, "UFFDIO_POISON", n, func(pg *page) syscall.Errno {
		if pg.mapped || pg.poisoned {
			return syscall.EEXIST
		}
		return 0
	}, func(pg *page) { pg.poisoned = true })
	if err != nil {
		return err
	}
	r.wakeRange(t, n, 1)
	return nil
}

// wakeRange is wake_userfault(): every waiter of the range is woken and
// leaves the queues, its message with it if it was not read.
func (r *Region) wakeRange(t *ksync.Task, first, n uint64) {
	r.lock.Lock(t)
	woke := 0
	keep := r.sleeping[:0]
	for _, w := range r.sleeping {
		if w.page >= first && w.page < first+n {
			w.woken.Store(t, true)
			woke++
			continue
		}
		keep = append(keep, w)
	}
	clear(r.sleeping[len(keep):])
	r.sleeping = keep
	unread := r.unread[:0]
	for _, w := range r.unread {
		if w.page >= first && w.page < first+n {
			r.pending.Add(t, -1)
			continue
		}
		unread = append(unread, w)
	}
	clear(r.unread[len(unread):])
	r.unread = unread
	r.lock.Unlock(t)
	if woke > 0 {
		if t.Traced() {
			ksync.Note(t, "woke %d thread(s) on pages %d+%d", woke, first, n)
		}
		r.faultWQ.WakeAll(t)
	}
}

// ReadPage reads a page from the page cache (pread): zeros for a hole.
func (r *Region) ReadPage(t *ksync.Task, n uint64, dst []byte) error {
	r.lock.Lock(t)
	if pg := &r.pages[n]; pg.cached {
		copy(dst, pg.data)
	} else {
		clear(dst)
	}
	r.lock.Unlock(t)
	return nil
}

// Drop punches n pages from first out of the memfd.
func (r *Region) Drop(t *ksync.Task, first, n uint64) error {
	r.lock.Lock(t)
	for i := first; i < first+n; i++ {
		pg := &r.pages[i]
		pg.cached, pg.mapped, pg.wp = false, false, false
		clear(pg.data)
	}
	r.lock.Unlock(t)
	return nil
}
