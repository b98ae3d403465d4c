package swap

import (
	"fmt"

	"uswap/ksync"
)

// This file is the cluster bookkeeping of mm/swapfile.c: the lists a
// cluster moves between, isolation, and relocation after a change of
// count. Transitions, all with the cluster's lock held:
//
//	free    --first allocation, relocate--> frag (or full)
//	frag    --last slot taken-------------> full
//	full    --a slot freed----------------> nonfull
//	nonfull/frag --last slot freed--------> free
//	any list --isolateLockCluster---------> none (owned by the isolator,
//	                                         who relocates it when done)

func (l *clusterList) init() { l.head, l.tail, l.n = -1, -1, 0 }

// listOf returns the list that a cluster with flags f is on.
func (si *SwapInfo) listOf(f uint8) *clusterList {
	switch f {
	case clusterFlagFree:
		return &si.free
	case clusterFlagNonfull:
		return &si.nonfull
	case clusterFlagFrag:
		return &si.frag
	case clusterFlagFull:
		return &si.full
	}
	return nil
}

// assertClusterLocked is lockdep_assert_held(&ci->lock) for the cluster
// of offset.
func (si *SwapInfo) assertClusterLocked(t *ksync.Task, offset uint64) {
	if ksync.Checked {
		si.clusters[offset/ClusterSize].lock.AssertHeld(t)
	}
}

// listAddTailLocked is list_add_tail(); si.lock is held.
func (si *SwapInfo) listAddTailLocked(t *ksync.Task, l *clusterList, idx int32) {
	si.lock.AssertHeld(t)
	ci := &si.clusters[idx]
	ci.prev, ci.next = l.tail, -1
	if l.tail >= 0 {
		si.clusters[l.tail].next = idx
	} else {
		l.head = idx
	}
	l.tail = idx
	l.n++
}

// listDelLocked is list_del(); si.lock is held.
func (si *SwapInfo) listDelLocked(t *ksync.Task, l *clusterList, idx int32) {
	si.lock.AssertHeld(t)
	ci := &si.clusters[idx]
	if ci.prev >= 0 {
		si.clusters[ci.prev].next = ci.next
	} else {
		l.head = ci.next
	}
	if ci.next >= 0 {
		si.clusters[ci.next].prev = ci.prev
	} else {
		l.tail = ci.prev
	}
	ci.prev, ci.next = -1, -1
	l.n--
}

// moveCluster is move_cluster(): put a locked cluster at the tail of the
// list for newFlags.
func (si *SwapInfo) moveCluster(t *ksync.Task, idx int32, newFlags uint8) {
	si.traceClusters(t)
	ci := &si.clusters[idx]
	ci.lock.AssertHeld(t)
	if ci.flags == newFlags {
		panic(fmt.Sprintf("swap: cluster %d moved to its own list %s", idx, clusterFlagNames[newFlags]))
	}
	si.lock.Lock(t)
	si.traceClusters(t)
	if old := si.listOf(ci.flags); old != nil {
		si.listDelLocked(t, old, idx)
	}
	si.listAddTailLocked(t, si.listOf(newFlags), idx)
	if ci.flags == clusterFlagFrag {
		si.fragNr--
	} else if newFlags == clusterFlagFrag {
		si.fragNr++
	}
	ci.flags = newFlags
	si.lock.Unlock(t)
}

// isolateLockCluster is isolate_lock_cluster(): take the first cluster of
// l whose lock can be had without waiting, off the list, and return it
// locked with flags none. It returns -1 when there is none or when the
// device is no longer writable.
func (si *SwapInfo) isolateLockCluster(t *ksync.Task, l *clusterList) int32 {
	si.lock.Lock(t)
	defer si.lock.Unlock(t)
	if si.flags.Load(t)&swpWriteOK == 0 {
		return -1
	}
	si.traceClusters(t)
	for idx := l.head; idx >= 0; idx = si.clusters[idx].next {
		ci := &si.clusters[idx]
		if !ci.lock.TryLock(t) {
			continue
		}
		si.listDelLocked(t, l, idx)
		if ci.flags == clusterFlagFrag {
			si.fragNr--
		}
		ci.flags = clusterFlagNone
		return idx
	}
	return -1
}

// relocateCluster is relocate_cluster(): after allocation from a locked
// cluster, put it on the list its count calls for.
func (si *SwapInfo) relocateCluster(t *ksync.Task, idx int32) {
	si.traceClusters(t)
	ci := &si.clusters[idx]
	switch {
	case ci.count == 0:
		if ci.flags != clusterFlagFree {
			si.freeCluster(t, idx)
		}
	case ci.count != ClusterSize:
		if ci.flags != clusterFlagFrag {
			si.moveCluster(t, idx, clusterFlagFrag)
		}
	default:
		if ci.flags != clusterFlagFull {
			si.moveCluster(t, idx, clusterFlagFull)
		}
	}
}

// freeCluster is free_cluster(): the locked cluster's count reached zero.
// Its tables go with it.
func (si *SwapInfo) freeCluster(t *ksync.Task, idx int32) {
	si.traceClusters(t)
	ci := &si.clusters[idx]
	if ci.count != 0 {
		panic(fmt.Sprintf("swap: freeing cluster %d with count %d", idx, ci.count))
	}
	si.core.slots.dropTablesLocked(t, si, ci)
	si.moveCluster(t, idx, clusterFlagFree)
}

// allocClusterTable (classic) gives a cluster coming into use its swap table: the
// CPU's spare one if there is one, else a new one. Every slot of it is clean.
func (si *SwapInfo) allocClusterTable(t *ksync.Task) *clusterTable {
	if tab := si.core.pcp[t.CPU()].spareTable.Swap(t, nil); tab != nil {
		return tab
	}
	return new(clusterTable)
}

// freeClusterTable (classic) keeps the table of a cluster that became free as the
// CPU's spare, if it has none. It is clean: swapEntriesFree cleared each
// slot's cgroup id and found no swap cache folio.
func (si *SwapInfo) freeClusterTable(t *ksync.Task, tab *clusterTable) {
	if tab != nil {
		si.core.pcp[t.CPU()].spareTable.CompareAndSwap(t, nil, tab)
	}
}

// partialFreeCluster is partial_free_cluster(): a slot of a locked cluster
// was freed and some remain in use.
func (si *SwapInfo) partialFreeCluster(t *ksync.Task, idx int32) {
	si.traceClusters(t)
	if ci := &si.clusters[idx]; ci.flags != clusterFlagNonfull {
		si.moveCluster(t, idx, clusterFlagNonfull)
	}
}

// lockCluster is lock_cluster(): lock the cluster that holds offset.
func (si *SwapInfo) lockCluster(t *ksync.Task, offset uint64) *cluster {
	si.traceClusters(t)
	ci := &si.clusters[offset/ClusterSize]
	ci.lock.Lock(t)
	return ci
}
