package memcg

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// This file charges and uncharges memory: try_charge_memcg() and the
// uncharge half of mem_cgroup_uncharge().

// MaxReclaimRetries is MAX_RECLAIM_RETRIES: how many times a charge over
// a limit reclaims and retries before it gives up.
const MaxReclaimRetries = 16

// OOMError is a charge that failed: the cgroup Over has a counter at its
// limit, and reclaim could not make room. For the memory and memsw
// counters it is the -ENOMEM that try_charge_memcg returns after
// mem_cgroup_oom; for the swap counter it is the -ENOMEM of
// __mem_cgroup_try_charge_swap (the folio just stays in memory). It is
// an error of the task that charged, not of the system.
type OOMError struct {
	Memcg   *MemCgroup // the cgroup that was charged
	Over    *MemCgroup // the cgroup whose counter is at its limit (mem_over_limit)
	Counter string     // "memory", "memsw" or "swap"
	NrPages int        // the pages asked for
	Usage   int64      // Over's usage of Counter in pages, when it failed
	Limit   int64      // Over's limit of Counter in pages
}

func (e *OOMError) Error() string {
	what := "out of memory"
	if e.Counter == "swap" {
		what = "swap limit reached"
	}
	return fmt.Sprintf("memcg: %s: charging %d page(s) to %s: %s %s usage %d pages (%d bytes), limit %d pages (%s)",
		what, e.NrPages, e.Memcg.Path(), e.Over.Path(), e.Counter,
		e.Usage, e.Usage*mem.PageSize, e.Limit, limitString(e.Limit))
}

func limitString(pages int64) string {
	if pages >= PageCounterMax {
		return "max"
	}
	return fmt.Sprintf("%d bytes", pages*mem.PageSize)
}

// tryChargeCounters is the counter half of try_charge_memcg: v1 charges
// memsw and then memory, v2 memory only. It returns the counter that
// failed.
func (m *MemCgroup) tryChargeCounters(t *ksync.Task, n int64) (failed *PageCounter, ok bool) {
	if m.h.mode == V1 {
		if f, ok := m.memsw.TryCharge(t, n); !ok {
			return f, false
		}
		if f, ok := m.memory.TryCharge(t, n); !ok {
			m.memsw.Uncharge(t, n)
			return f, false
		}
		return nil, true
	}
	return m.memory.TryCharge(t, n)
}

func (m *MemCgroup) unchargeCounters(t *ksync.Task, n int64) {
	m.memory.Uncharge(t, n)
	if m.h.mode == V1 {
		m.memsw.Uncharge(t, n)
	}
}

// TryCharge is try_charge_memcg(): charge nrPages pages to m and its
// ancestors. When a counter up the tree is at its limit, it calls the
// hierarchy's Reclaimer on the cgroup that owns that counter
// (try_to_free_mem_cgroup_pages on mem_over_limit) and tries again, up to
// MaxReclaimRetries times; then it gives up with an *OOMError. With no
// Reclaimer it gives up at once. Charges to the root are not counted
// (mem_cgroup_is_root: the kernel's root has no limit and its counters
// only sum its children). It may sleep (in reclaim).
//
// Differences from the kernel: no per-CPU charge stock (consume_stock,
// MEMCG_CHARGE_BATCH) and no memory.high; every reclaim counts against
// the retries, also one that made progress (the kernel retries those
// without counting, which could livelock under the explorer); and the
// OOM killer is the caller's business (the error says which cgroup is
// over its limit: the mm layer may kill and charge again).
func (m *MemCgroup) TryCharge(t *ksync.Task, nrPages int) error {
	if nrPages < 0 {
		panic(fmt.Sprintf("memcg: TryCharge(%d) to %s", nrPages, m.path))
	}
	// A charge may reclaim: never under a spinlock (a PTL, a lruvec
	// lock), even when this one would not.
	ksync.MightSleep(t)
	if nrPages == 0 || m.IsRoot() {
		return nil
	}
	n := int64(nrPages)
	retries := MaxReclaimRetries
	for {
		failed, ok := m.tryChargeCounters(t, n)
		if ok {
			// See Remove for why the state is read after charging.
			if s := m.state.Load(t); s != memcgOnline {
				m.unchargeCounters(t, n)
				if s == memcgDead {
					return fmt.Errorf("%w: charging %s", ErrRemoved, m.path)
				}
				ksync.CondResched(t)
				continue
			}
			return nil
		}
		over := failed.memcg
		over.memoryEvent(t, EventMax)
		r := m.h.getReclaimer(t)
		if r == nil || retries == 0 {
			over.memoryEvent(t, EventOOM)
			return &OOMError{
				Memcg:   m,
				Over:    over,
				Counter: failed.name,
				NrPages: nrPages,
				Usage:   failed.Read(t),
				Limit:   failed.Max(t),
			}
		}
		retries--
		r.ReclaimMemcg(t, over, nrPages)
	}
}

// Uncharge is the counter half of mem_cgroup_uncharge(): nrPages pages
// charged to m by TryCharge are freed (v1: from memory and memsw).
// Uncharging more than was charged panics.
func Uncharge(t *ksync.Task, m *MemCgroup, nrPages int) {
	if nrPages < 0 {
		panic(fmt.Sprintf("memcg: Uncharge(%d) from %s", nrPages, m.path))
	}
	if nrPages == 0 || m.IsRoot() {
		return
	}
	m.unchargeCounters(t, int64(nrPages))
}

// Margin is mem_cgroup_margin(): how many pages m can still be charged
// before its own limits (not its ancestors') are reached.
func (m *MemCgroup) Margin(t *ksync.Task) int64 {
	margin := m.memory.Max(t) - m.memory.Read(t)
	if m.h.mode == V1 {
		margin = min(margin, m.memsw.Max(t)-m.memsw.Read(t))
	}
	return max(margin, 0)
}
