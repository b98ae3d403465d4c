package swap

import (
	"fmt"

	"uswap/ksync"
)

// Trace keys of the plain data that the swap core's locks guard: the
// explorer cannot schedule around a swap_map byte (its cluster lock is
// the scheduling point), but a traced run annotates each access to one
// (ksync.Access) with these keys, so that a race report can say which
// byte two tasks fought over. A part's Whole is the pointer it is
// reached through, which swapoff frees. The table design's entries are
// ksync atomics, scheduling points named by their address
// ("ci0[0]->table[5]"); its folio and memcg arrays have none.
type (
	// mapKey is si->swap_map, the map as a whole (classic).
	mapKey struct{ si *SwapInfo }
	// mapByteKey is si->swap_map[off] (classic).
	mapByteKey struct {
		si  *SwapInfo
		off uint64
	}
	// clusterInfoKey is si->cluster_info, the clusters as a whole.
	clusterInfoKey struct{ si *SwapInfo }
	// clusterCountKey is the count of cluster idx (ci->count).
	clusterCountKey struct {
		si  *SwapInfo
		idx int32
	}
	// tableSlotKey is the swap table slot of off: the classic design's
	// swap cache folio pointer for the slot (ci->table[off % 512]).
	tableSlotKey struct {
		si  *SwapInfo
		off uint64
	}
)

func (k mapByteKey) Whole() any      { return mapKey{k.si} }
func (k clusterCountKey) Whole() any { return clusterInfoKey{k.si} }
func (k tableSlotKey) Whole() any    { return clusterInfoKey{k.si} }

var _ = []ksync.Part{mapByteKey{}, clusterCountKey{}, tableSlotKey{}}

// Annotations of accesses to that data: each is one predictable branch
// when the run records no trace.

func (si *SwapInfo) traceMapRead(t *ksync.Task, off uint64) {
	if t.Traced() {
		ksync.Access(t, ksync.OpRead, mapByteKey{si, off})
	}
}

func (si *SwapInfo) traceMapWrite(t *ksync.Task, off uint64) {
	if t.Traced() {
		ksync.Access(t, ksync.OpWrite, mapByteKey{si, off})
	}
}

func (si *SwapInfo) traceCountWrite(t *ksync.Task, idx int32) {
	if t.Traced() {
		ksync.Access(t, ksync.OpWrite, clusterCountKey{si, idx})
	}
}

func (si *SwapInfo) traceTable(t *ksync.Task, op ksync.Op, off uint64) {
	if t.Traced() {
		ksync.Access(t, op, tableSlotKey{si, off})
	}
}

// traceClusters annotates the read of si->cluster_info that finds a
// cluster (lock_cluster and the list walks).
func (si *SwapInfo) traceClusters(t *ksync.Task) {
	if t.Traced() {
		ksync.Access(t, ksync.OpRead, clusterInfoKey{si})
	}
}

// ObjectName names an object of the swap core for traces, with the
// kernel's names: "swap_lock", "si0->lock", "ci0[3]->lock",
// "si0->users", "percpu_swap_cluster[1].lock", "swapcache_wq", the
// annotated plain data: "si0->swap_map[5]", "si0->swap_map",
// "si0->cluster_info", "ci0[0]->count", "ci0[0]->table[5]", and in the
// table design "ci0[3]->table" (the table pointer) and
// "ci0[3]->table[17]" (an entry). It returns
// "" for an object that is not the core's. It is for the explorer, which
// calls it once per object of a run; it reads no state that could change
// the run.
func (c *Core) ObjectName(obj any) string {
	switch k := obj.(type) {
	case mapKey:
		return fmt.Sprintf("si%d->swap_map", k.si.typ)
	case mapByteKey:
		return fmt.Sprintf("si%d->swap_map[%d]", k.si.typ, k.off)
	case clusterInfoKey:
		return fmt.Sprintf("si%d->cluster_info", k.si.typ)
	case clusterCountKey:
		return fmt.Sprintf("ci%d[%d]->count", k.si.typ, k.idx)
	case tableSlotKey:
		return fmt.Sprintf("ci%d[%d]->table[%d]", k.si.typ, k.off/ClusterSize, k.off%ClusterSize)
	}
	switch obj {
	case &c.swapLock:
		return "swap_lock"
	case &c.availLock:
		return "swap_avail_lock"
	case &c.swaponMutex:
		return "swapon_mutex"
	case &c.nrSwapPages:
		return "nr_swap_pages"
	case &c.totalSwapPages:
		return "total_swap_pages"
	case &c.swapcacheWQ:
		return "swapcache_wq"
	case &c.bugsLock:
		return "bugs_lock"
	case &c.preempt:
		return "cpus"
	case &c.rcu:
		return "rcu_sched"
	case &c.strays.mu:
		return "strays_lock"
	}
	for i := range c.pcp {
		switch p := &c.pcp[i]; obj {
		case &p.lock:
			return fmt.Sprintf("percpu_swap_cluster[%d].lock", i)
		case &p.si:
			return fmt.Sprintf("percpu_swap_cluster[%d].si", i)
		case &p.spareTable:
			return fmt.Sprintf("percpu_swap_cluster[%d].spare_table", i)
		}
	}
	for typ := range c.info {
		si := c.info[typ].Peek()
		if si == nil {
			continue
		}
		if obj == &c.info[typ] {
			return fmt.Sprintf("swap_info[%d]", typ)
		}
		if n := si.objectName(obj); n != "" {
			return n
		}
	}
	return ""
}

func (si *SwapInfo) objectName(obj any) string {
	switch obj {
	case &si.lock:
		return fmt.Sprintf("si%d->lock", si.typ)
	case &si.contLock:
		return fmt.Sprintf("si%d->cont_lock", si.typ)
	case &si.users:
		return fmt.Sprintf("si%d->users", si.typ)
	case &si.flags:
		return fmt.Sprintf("si%d->flags", si.typ)
	case &si.inuse:
		return fmt.Sprintf("si%d->inuse_pages", si.typ)
	case si.users.WaitQueue():
		return fmt.Sprintf("si%d->comp", si.typ)
	}
	for i := range si.clusters {
		ci := &si.clusters[i]
		switch obj {
		case &ci.lock:
			return fmt.Sprintf("ci%d[%d]->lock", si.typ, i)
		case &ci.tb:
			return fmt.Sprintf("ci%d[%d]->table", si.typ, i)
		}
		// An entry of the table design's swap table: "ci0[0]->table[17]".
		if e, ok := obj.(*ksync.Uint64); ok {
			if tab := ci.tb.Peek(); tab != nil {
				for k := range tab.entries {
					if e == &tab.entries[k] {
						return fmt.Sprintf("ci%d[%d]->table[%d]", si.typ, i, k)
					}
				}
			}
		}
	}
	for i := range si.freedClusters {
		if obj == &si.freedClusters[i].lock {
			return fmt.Sprintf("ci%d[%d]->lock (freed)", si.typ, i)
		}
	}
	// The count continuation of each swap_map page: its struct page's
	// private and list head, and the list's pages (a few at most).
	for i := range si.cont {
		h := &si.cont[i]
		switch obj {
		case &h.private:
			return fmt.Sprintf("page_private(si%d->swap_map page %d)", si.typ, i)
		case &h.next:
			return fmt.Sprintf("si%d->swap_map page %d->lru.next", si.typ, i)
		}
		k := 0
		for p := h.next.Peek(); p != nil; p = p.next.Peek() {
			if obj == &p.next {
				return fmt.Sprintf("si%d->swap_map page %d cont page %d->lru.next", si.typ, i, k)
			}
			k++
		}
	}
	return ""
}
