package swap

import (
	"fmt"

	"uswap/ksync"
)

// ObjectName names an object of the swap core for traces, with the
// kernel's names: "swap_lock", "si0->lock", "ci0[3]->lock",
// "si0->users", "pcp1.lock", "swapcache_wq", and in the table design
// "ci0[3]->table" (the table pointer) and "ci0[3]->table[17]" (an
// entry). It returns "" for an object that is not the core's. It is for
// the explorer, which calls it once per object of a run; it reads no
// state that could change the run.
func (c *Core) ObjectName(obj any) string {
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
	}
	for i := range c.pcp {
		if p := &c.pcp[i]; obj == &p.lock {
			return fmt.Sprintf("percpu_swap_cluster[%d].lock", i)
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
	return ""
}
