package mm

import (
	"uswap/ksync"
	"uswap/mem"
)

// LRU list indices (enum lru_list, anon half).
const (
	lruInactive = 0 // LRU_INACTIVE_ANON
	lruActive   = 1 // LRU_ACTIVE_ANON
)

// lruvec is struct lruvec for one memory cgroup: its anon LRU lists.
// Folios are linked through mem.Folio.LRUPrev/LRUNext by frame number.
type lruvec struct {
	memcgID uint16 // immutable
	// lock is lruvec->lru_lock: it guards lists, the LRU links of every
	// folio on them and the PGLRU bit's meaning (a folio with PGLRU set
	// is on exactly one of the lists; PGActive says which).
	lock  ksync.SpinLock
	lists [2]lruList
	// bgQueued is set while the cgroup waits on the background memcg
	// reclaimer's queue (memcg_reclaim.go): accessed atomically.
	bgQueued ksync.Bool
}

// lruList is a list_head of folios: head is the most recently added
// (list_add), tail the oldest; -1 ends it. Guarded by lruvec.lock.
type lruList struct {
	head, tail int32
	n          int
}

func newLruvec(id uint16) *lruvec {
	lv := &lruvec{memcgID: id}
	lv.lock.Init(ksync.RankLruvec)
	for i := range lv.lists {
		lv.lists[i] = lruList{head: -1, tail: -1}
	}
	return lv
}

func lruOf(t *ksync.Task, f *mem.Folio) int {
	if f.Test(t, mem.PGActive) {
		return lruActive
	}
	return lruInactive
}

// addLocked is lruvec_add_folio(): link f at the head of the list its
// PGActive bit names. The lock is held; PGLRU is set by the caller.
func (lv *lruvec) addLocked(t *ksync.Task, f *mem.Folio) {
	lv.lock.AssertHeld(t)
	l := &lv.lists[lruOf(t, f)]
	f.LRUPrev, f.LRUNext = -1, l.head
	if l.head >= 0 {
		folioAt(f, l.head).LRUPrev = int32(f.PFN())
	} else {
		l.tail = int32(f.PFN())
	}
	l.head = int32(f.PFN())
	l.n++
}

// delLocked is lruvec_del_folio(): unlink f; the lock is held and PGLRU
// was just cleared by the caller.
func (lv *lruvec) delLocked(t *ksync.Task, f *mem.Folio) {
	lv.lock.AssertHeld(t)
	l := &lv.lists[lruOf(t, f)]
	if f.LRUPrev >= 0 {
		folioAt(f, f.LRUPrev).LRUNext = f.LRUNext
	} else {
		l.head = f.LRUNext
	}
	if f.LRUNext >= 0 {
		folioAt(f, f.LRUNext).LRUPrev = f.LRUPrev
	} else {
		l.tail = f.LRUPrev
	}
	f.LRUPrev, f.LRUNext = -1, -1
	l.n--
}

// folioAt finds a folio of the same pool by frame number.
func folioAt(f *mem.Folio, pfn int32) *mem.Folio { return f.Pool().Folio(int(pfn)) }

// folioAddLRU is folio_add_lru(): put a folio that is not on a list at
// the head of its memcg's inactive or active list.
//
// New anonymous folios go on the inactive list, as in the kernel since
// v5.9 (commit b518154e59aa, "mm/vmscan: protect the workingset on anonymous
// LRU"): a page has to be referenced twice to be promoted, which keeps
// one-off faults from pushing the working set out. (MGLRU is not
// modelled.)
func (n *Node) folioAddLRU(t *ksync.Task, f *mem.Folio) {
	lv := n.lruvecOf(t, f.MemcgID)
	lv.lock.Lock(t)
	f.Flags.Set(t, mem.PGLRU)
	lv.addLocked(t, f)
	lv.lock.Unlock(t)
}

// moveFoliosToLRU is move_folios_to_lru(): give back isolated, unlocked
// folios, each to the list its PGActive bit names, taking a lruvec's lock
// once for each run of folios of that lruvec (reclaim gives back a batch
// of up to SWAP_CLUSTER_MAX, mostly of one cgroup), then drop the
// isolation references. The references go after the lock is dropped: one
// that is the last frees the folio, and the release hook takes the
// lruvec lock to unlist it.
func (n *Node) moveFoliosToLRU(t *ksync.Task, folios []*mem.Folio) {
	for i := 0; i < len(folios); {
		lv := n.lruvecOf(t, folios[i].MemcgID)
		lv.lock.Lock(t)
		for ; i < len(folios) && folios[i].MemcgID == lv.memcgID; i++ {
			folios[i].Flags.Set(t, mem.PGLRU)
			lv.addLocked(t, folios[i])
		}
		lv.lock.Unlock(t)
	}
	for _, f := range folios {
		f.Put(t)
	}
}

// isolateLRU is isolate_lru_folios(): take up to nr folios from the tail
// of list lru, each with a reference (TryGet), PGLRU cleared. Folios
// whose count is zero are being freed: they are rotated to the head and
// left to the release hook. It also reports how many it scanned.
func (n *Node) isolateLRU(t *ksync.Task, lv *lruvec, lru int, nr int) (isolated []*mem.Folio, scanned int) {
	lv.lock.Lock(t)
	l := &lv.lists[lru]
	for scanned < l.n && len(isolated) < nr {
		f := n.pool.Folio(int(l.tail))
		scanned++
		lv.delLocked(t, f)
		if !f.TryGet(t) {
			// Being freed: keep it listed for __folio_put.
			lv.addLocked(t, f)
			continue
		}
		f.Flags.Clear(t, mem.PGLRU)
		isolated = append(isolated, f)
	}
	lv.lock.Unlock(t)
	return isolated, scanned
}

// lruSizes returns the inactive and active list lengths.
func (lv *lruvec) sizes(t *ksync.Task) (inactive, active int) {
	lv.lock.Lock(t)
	defer lv.lock.Unlock(t)
	return lv.lists[lruInactive].n, lv.lists[lruActive].n
}
