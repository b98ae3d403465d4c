package pager

import (
	"uswap/ksync"
	"uswap/mem"
)

// lruvec is struct lruvec for the pager's anonymous pages: an inactive
// and an active list of folios, linked through Folio.LRUPrev/LRUNext by
// frame number, head the most recent. Under PolicyFIFO only the inactive
// list is used.
type lruvec struct {
	pool *mem.Pool // immutable
	// lock is lruvec->lru_lock: it guards lists, and the PGLRU and
	// PGActive bits of the folios on them.
	lock  ksync.SpinLock
	lists [2]lruList
}

const (
	lruInactive = 0
	lruActive   = 1
)

type lruList struct {
	head, tail int32
	n          int
}

func (l *lruvec) init(pool *mem.Pool) {
	l.pool = pool
	l.lock.Init(ksync.RankLruvec)
	for i := range l.lists {
		l.lists[i] = lruList{head: -1, tail: -1}
	}
}

func (l *lruvec) linkHeadLocked(which int, f *mem.Folio) {
	ls := &l.lists[which]
	f.LRUPrev, f.LRUNext = -1, ls.head
	if ls.head >= 0 {
		l.pool.Folio(int(ls.head)).LRUPrev = int32(f.PFN())
	} else {
		ls.tail = int32(f.PFN())
	}
	ls.head = int32(f.PFN())
	ls.n++
}

func (l *lruvec) unlinkLocked(which int, f *mem.Folio) {
	ls := &l.lists[which]
	if f.LRUPrev >= 0 {
		l.pool.Folio(int(f.LRUPrev)).LRUNext = f.LRUNext
	} else {
		ls.head = f.LRUNext
	}
	if f.LRUNext >= 0 {
		l.pool.Folio(int(f.LRUNext)).LRUPrev = f.LRUPrev
	} else {
		ls.tail = f.LRUPrev
	}
	f.LRUPrev, f.LRUNext = -1, -1
	ls.n--
}

func listOf(t *ksync.Task, f *mem.Folio) int {
	if f.Flags.Test(t, mem.PGActive) {
		return lruActive
	}
	return lruInactive
}

// add is folio_add_lru(), onto the active list if active.
func (l *lruvec) add(t *ksync.Task, f *mem.Folio, active bool) {
	l.lock.Lock(t)
	which := lruInactive
	if active {
		which = lruActive
		f.Flags.Set(t, mem.PGActive)
	} else {
		f.Flags.Clear(t, mem.PGActive)
	}
	l.linkHeadLocked(which, f)
	f.Flags.Set(t, mem.PGLRU)
	l.lock.Unlock(t)
}

// del takes a folio off its list (lruvec_del_folio), from the release
// hook of a folio whose last reference went.
func (l *lruvec) del(t *ksync.Task, f *mem.Folio) {
	l.lock.Lock(t)
	if f.Flags.TestAndClear(t, mem.PGLRU) {
		l.unlinkLocked(listOf(t, f), f)
	}
	l.lock.Unlock(t)
}

// nrActive is the active list's length, read without the lock (an
// estimate, as the kernel's lruvec_page_state).
func (l *lruvec) sizes(t *ksync.Task) (inactive, active int) {
	l.lock.Lock(t)
	defer l.lock.Unlock(t)
	return l.lists[lruInactive].n, l.lists[lruActive].n
}

// isolate is isolate_lru_folios() with the policy's choice: up to nr
// folios off the inactive tail, each with a reference taken and PGLRU
// cleared. Under the workingset policy a referenced folio at the tail
// gets a second round on the active list instead, and the active list is
// kept to half the frames by moving its tail to the inactive head
// (shrink_active_list()).
func (p *Pager) isolate(t *ksync.Task, nr int, out []*mem.Folio) []*mem.Folio {
	l := &p.lru
	l.lock.Lock(t)
	defer l.lock.Unlock(t)
	if p.cfg.Policy == PolicyWorkingset {
		target := p.pool.Frames() / 2
		for l.lists[lruActive].n > target {
			f := l.pool.Folio(int(l.lists[lruActive].tail))
			l.unlinkLocked(lruActive, f)
			f.Flags.Clear(t, mem.PGActive)
			f.Flags.Clear(t, mem.PGReferenced)
			l.linkHeadLocked(lruInactive, f)
		}
	}
	ls := &l.lists[lruInactive]
	for scan := ls.n; scan > 0 && len(out) < nr && ls.tail >= 0; scan-- {
		f := l.pool.Folio(int(ls.tail))
		l.unlinkLocked(lruInactive, f)
		if p.cfg.Policy == PolicyWorkingset && f.Flags.TestAndClear(t, mem.PGReferenced) {
			f.Flags.Set(t, mem.PGActive)
			l.linkHeadLocked(lruActive, f)
			p.age.Add(t, 1)
			continue
		}
		if !f.TryGet(t) {
			// Its last reference is going: the release hook takes
			// it off; keep it linked until then.
			l.linkHeadLocked(lruInactive, f)
			continue
		}
		f.Flags.Clear(t, mem.PGLRU)
		out = append(out, f)
	}
	return out
}

// putback is folio_putback_lru(): a folio reclaim kept goes back on a
// list, and reclaim's reference is dropped.
func (p *Pager) putback(t *ksync.Task, f *mem.Folio, active bool) {
	p.lru.add(t, f, active && p.cfg.Policy == PolicyWorkingset)
	f.Put(t)
}

// workingsetRefault is workingset_refault(): a page swapped in again
// whose refault distance (the evictions and activations since it was
// evicted) is within the active list's size would have stayed resident
// with that much more memory: it goes to the active list. The page lock
// is held.
func (p *Pager) workingsetRefault(t *ksync.Task, page uint64) bool {
	if p.cfg.Policy != PolicyWorkingset {
		return false
	}
	distance := uint32(p.age.Load(t)) - p.ptes[page].shadow
	_, active := p.lru.sizes(t)
	if int64(distance) > int64(max(active, p.pool.Frames()/4)) {
		return false
	}
	p.Stats.Activated.Inc(t)
	p.age.Add(t, 1)
	return true
}
