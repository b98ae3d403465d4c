package pager

import (
	"time"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/uffd"
)

// fault is one page-fault message, kept until it is resolved.
type fault struct {
	page  uint64
	write bool
	wp    bool
	minor bool
}

// worker is one fault-handling task's state: its message buffer, the
// faults it read and has not resolved, and its page buffer.
type worker struct {
	msgs    [32]uffd.Msg
	pending []fault // faults to (re)try, in the order read
	retry   []fault // scratch for the next round
	buf     []byte  // a page: swap-in reads land here before the copy
	reclaim reclaimer
}

func (p *Pager) newWorker() *worker {
	return &worker{buf: make([]byte, PageSize), reclaim: p.newReclaimer()}
}

// backoff is how long a worker waits before retrying faults that could
// not progress (no frame free, the address space changing).
const backoff = 20 * time.Microsecond

// Serve runs one worker on t until Stop: wait for messages, read them
// (applying events), and resolve the faults, putting back those that
// cannot progress yet (EAGAIN while an event is pending, no frame free)
// to retry after reading again. Start runs it on its workers; the
// explorer's scenarios run it on tasks of their own.
func (p *Pager) Serve(t *ksync.Task) {
	w := p.newWorker()
	for !p.stopping.Load(t) {
		if len(w.pending) == 0 {
			if err := p.ops.Wait(t); err != nil {
				return
			}
		}
		if err := p.readMessages(t, w); err != nil {
			p.fail(t, err)
			return
		}
		if len(w.pending) == 0 {
			continue
		}
		progress := false
		w.retry = w.retry[:0]
		for _, f := range w.pending {
			if p.handleFault(t, w, f) {
				progress = true
			} else {
				w.retry = append(w.retry, f)
			}
		}
		w.pending, w.retry = w.retry, w.pending
		if !progress && len(w.pending) > 0 {
			ksync.ScheduleTimeout(t, backoff)
		}
	}
}

// readMessages reads what is pending, applies the events (REMOVE,
// UNMAP) and adds the page faults to w.pending.
//
// With the pager-events fix the read itself happens under the event
// lock held for writing, so that no copy is between its checks and its
// ioctl while an event is read:
//
//	worker A (copy)                      worker B (read)         process
//	pte(P) = swap(E), read E: old data                           MADV_DONTNEED(P):
//	                                                             REMOVE queued, waits
//	                                     read(): REMOVE(P)       zap P
//	                                                             (madvise returns)
//	UFFDIO_COPY(P, old data): succeeds
//	                                                             load P: old data !!!
//	                                     pte(P) = none
//
// Before the read the kernel refuses the copy (EAGAIN, mmap_changing);
// after it, only the pager's own ordering keeps the copy out. With the
// lock, A holds the read side from its pte check to its copy: B reads
// after A's copy (which the zap then removes) or before A's check (which
// then sees pte none).
func (p *Pager) readMessages(t *ksync.Task, w *worker) error {
	locked := p.cfg.Fixes.Get(fixes.PagerEvents) != fixes.PagerEventsNone
	if locked {
		p.eventLock.Lock(t)
	}
	n, err := p.ops.Read(t, w.msgs[:])
	if !locked {
		p.eventLock.Lock(t)
	}
	defer p.eventLock.Unlock(t)
	if err != nil {
		return err
	}
	for _, m := range w.msgs[:n] {
		switch m.Event {
		case uffd.EventPagefault:
			page, ok := p.ops.PageOf(m.Addr)
			if !ok {
				continue
			}
			switch {
			case m.WP():
				p.Stats.WPFaults.Inc(t)
			case m.Minor():
				p.Stats.MinorFaults.Inc(t)
			default:
				p.Stats.MissingFaults.Inc(t)
			}
			w.pending = append(w.pending, fault{page: page, write: m.Write(), wp: m.WP(), minor: m.Minor()})
		case uffd.EventRemove:
			p.discardLocked(t, m.Start, m.End, false)
		case uffd.EventUnmap:
			p.discardLocked(t, m.Start, m.End, true)
		}
	}
	return nil
}

// handleFault resolves one fault, or reports false if it must be tried
// again later.
func (p *Pager) handleFault(t *ksync.Task, w *worker, f fault) bool {
	switch {
	case f.wp:
		return p.doWPFault(t, f.page)
	case f.minor:
		return p.doMinorFault(t, f.page)
	}
	return p.doMissingFault(t, w, f.page, f.write)
}

// alreadyThere answers a fault whose page another task installed: with
// the pager-wake fix, by waking its range.
//
// The installer may have woken nobody:
//
//	thread T          worker A (readahead of P)        worker B
//	load P: fault
//	(message queued)
//	                  UFFDIO_COPY(P, DONTWAKE)
//	                  pte(P) = present
//	                                                   read T's message
//	                                                   pte(P) present
//	                                                   return  !!! T sleeps on
func (p *Pager) alreadyThere(t *ksync.Task, page uint64) {
	p.Stats.AlreadyThere.Inc(t)
	if p.cfg.Fixes.Get(fixes.PagerWake) == fixes.PagerWakeNone {
		return
	}
	p.wake(t, page)
}

// wake is UFFDIO_WAKE of one page; a page the process unmapped has no
// waiter left to wake.
func (p *Pager) wake(t *ksync.Task, page uint64) {
	p.Stats.Wakes.Inc(t)
	if err := p.ops.Wake(t, page, 1); err != nil && !isGone(err) {
		p.fail(t, err)
	}
}
