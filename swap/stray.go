package swap

import (
	"time"

	"uswap/design"
	"uswap/ksync"
	"uswap/mem"
)

// This file counts the swap cache folios that are stranded, for seed
// 004's question ("Page reclaim will ultimately pick these pages up"):
// a folio left in the swap cache by a swap-in that gave up, whose slot no
// PTE or shmem index holds any more, and which nobody else holds either.
// Nothing will look it up again: reclaim frees it (or swapoff, or the
// allocator's scan of a full device), and deleteFromSwapCacheLocked then
// counts it freed with how long it stayed. The counts are for reporting
// only: nothing in the engine reads them.

// strayLog is when each stranded folio was left; guarded by mu, which is
// taken inside a cluster lock.
type strayLog struct {
	mu    ksync.SpinLock
	since map[*mem.Folio]time.Duration
}

// MarkStray records a locked swap cache folio that the caller is about
// to let go of, stranded: its slot has no reference but the cache's.
//
// Classic design only: the stray marks live in the classic cluster
// table beside the folio pointers, and the count is seed 004's figure,
// which fixes compare measures in the classic design. In the table
// design nothing is marked, so StrayMarked stays 0 there.
func (c *Core) MarkStray(t *ksync.Task, folio *mem.Folio) {
	if c.design != design.Classic {
		return
	}
	entry := folio.Swap()
	si := c.swapInfoOf(t, entry)
	off := entry.Offset()
	ci := si.lockCluster(t, off)
	defer ci.lock.Unlock(t)
	if ci.table == nil || ci.table.folios[off%ClusterSize] != folio || si.swapMap[off] != SwapHasCache {
		return
	}
	ci.table.stray[off%ClusterSize/64] |= 1 << (off % 64)
	c.strays.mu.Lock(t)
	if c.strays.since == nil {
		c.strays.since = map[*mem.Folio]time.Duration{}
	}
	c.strays.since[folio] = ksync.Now(t)
	c.strays.mu.Unlock(t)
	c.Stats.StrayMarked.Inc(t)
}

// clearStrayLocked forgets the stray mark of the slot at off, whose
// cluster is locked, and returns when it was set.
func (si *SwapInfo) clearStrayLocked(t *ksync.Task, ci *cluster, off uint64, folio *mem.Folio) (time.Duration, bool) {
	w, bit := &ci.table.stray[off%ClusterSize/64], uint64(1)<<(off%64)
	if *w&bit == 0 {
		return 0, false
	}
	*w &^= bit
	s := &si.core.strays
	s.mu.Lock(t)
	since := s.since[folio]
	delete(s.since, folio)
	s.mu.Unlock(t)
	return since, true
}

// StraysLeft is the number of stranded folios not freed yet.
func (c *Core) StraysLeft(t *ksync.Task) int {
	c.strays.mu.Lock(t)
	defer c.strays.mu.Unlock(t)
	return len(c.strays.since)
}
