package swap

import "fmt"

// ObjectName names an object of the swap core for traces, with the
// kernel's names: "swap_lock", "si0->lock", "ci0[3]->lock",
// "si0->users", "pcp1.lock", "swapcache_wq". It returns "" for an object
// that is not the core's. It is for the explorer, which calls it once per
// object of a run; it reads no state that could change the run.
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
	case &c.preempt:
		return "cpus"
	case &c.rcu:
		return "rcu_sched"
	case &c.strays.mu:
		return "strays_lock"
	}
	for i := range c.pcp {
		if p := &c.pcp[i]; obj == &p.lock {
			return fmt.Sprintf("percpu_swap_cluster[%d].lock", i)
		} else if obj == &p.si {
			return fmt.Sprintf("percpu_swap_cluster[%d].si", i)
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
		if obj == &si.clusters[i].lock {
			return fmt.Sprintf("ci%d[%d]->lock", si.typ, i)
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
