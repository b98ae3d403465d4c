package ksync

import "testing"

// TestRankTable: every rank has a distinct name, and every rank a row
// lists may be held before it is numbered before it (closeOrder panics
// at package initialization otherwise), so the order has no cycle and
// the closure is the one the rows say.
func TestRankTable(t *testing.T) {
	names := map[string]Rank{}
	for r := Rank(1); r < numRanks; r++ {
		n := rankOrder[r].name
		if n == "" {
			t.Errorf("rank %d has no name", r)
		}
		if o, dup := names[n]; dup {
			t.Errorf("ranks %d and %d are both named %q", o, r, n)
		}
		names[n] = r
		for _, p := range rankOrder[r].after {
			if !orderOK(p, r) {
				t.Errorf("%v lists %v, but the closure does not allow it", r, p)
			}
			if orderOK(r, p) {
				t.Errorf("%v and %v may each be held before the other", r, p)
			}
		}
	}
	// Transitivity, and the rules the package doc says the table holds.
	cases := []struct {
		held, next Rank
		ok         bool
	}{
		{RankMmapLock, RankPTL, true},
		{RankMmapLock, RankPool, true}, // mmap_lock, PTL, lruvec, zone->lock
		{RankSwapInfoLock, RankClusterLock, false},
		{RankClusterLock, RankSwapInfoLock, true},
		{RankPTL, RankFolioLock, false},
		{RankPTL, RankPTL, false},     // only with LockNested
		{RankMmlist, RankPool, false}, // leaves: nothing under them
		{RankPool, RankMmlist, false},
	}
	for _, c := range cases {
		if got := orderOK(c.held, c.next); got != c.ok {
			t.Errorf("%v held when taking %v: allowed %v, want %v", c.held, c.next, got, c.ok)
		}
	}
}
