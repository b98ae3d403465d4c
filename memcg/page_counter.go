package memcg

import (
	"fmt"
	"math"

	"uswap/ksync"
	"uswap/mem"
)

// This file is mm/page_counter.c: hierarchical counters of pages with a
// limit, charged all the way up to the root.

// PageCounterMax is PAGE_COUNTER_MAX: the largest limit in pages, which
// stands for "max" (no limit).
const PageCounterMax int64 = math.MaxInt64 / mem.PageSize

// Unlimited is "max" written to a limit file: a limit in bytes that means
// no limit. Unlimited/PageSize == PageCounterMax.
const Unlimited int64 = math.MaxInt64

// PageCounter is struct page_counter. Every field that changes is a ksync
// atomic: counters are charged and uncharged by many tasks at once, with
// no lock (the kernel's atomic_long_t usage and READ_ONCE/WRITE_ONCE max).
type PageCounter struct {
	// usage is the number of pages charged here and below: accessed
	// atomically. It may be briefly above max while TryCharge rolls back
	// a charge that failed (as in the kernel); watermark never is.
	usage ksync.Int64
	// max is the limit in pages: accessed atomically; written by SetMax.
	max ksync.Int64
	// watermark is the highest usage seen by a charge that passed this
	// counter's limit (the kernel's watermark, memory.max_usage_in_bytes /
	// memory.peak), so never above max (a lowered max aside). As in the
	// kernel it is raised before the ancestors are checked, so it may
	// count a charge that an ancestor then refused. Accessed atomically.
	watermark ksync.Int64
	// failcnt counts charges that failed at this counter: accessed
	// atomically (a data_race increment in the kernel).
	failcnt ksync.Int64

	parent *PageCounter // immutable
	memcg  *MemCgroup   // immutable: the container (mem_cgroup_from_counter)
	name   string       // immutable: "memory", "swap" or "memsw"
}

// init is page_counter_init(): no usage, no limit.
func (c *PageCounter) init(name string, memcg *MemCgroup, parent *PageCounter) {
	c.name = name
	c.memcg = memcg
	c.parent = parent
	c.max.Init(PageCounterMax)
}

// Name is "memory", "swap" or "memsw".
func (c *PageCounter) Name() string { return c.name }

// Memcg is the cgroup whose counter this is (mem_cgroup_from_counter).
func (c *PageCounter) Memcg() *MemCgroup { return c.memcg }

// Parent is the counter of the parent cgroup, nil at the root.
func (c *PageCounter) Parent() *PageCounter { return c.parent }

// Read is page_counter_read(): the usage in pages.
func (c *PageCounter) Read(t *ksync.Task) int64 { return c.usage.Load(t) }

// Max is the limit in pages (PageCounterMax: none).
func (c *PageCounter) Max(t *ksync.Task) int64 { return c.max.Load(t) }

// Watermark is the highest usage reached by a successful charge.
func (c *PageCounter) Watermark(t *ksync.Task) int64 { return c.watermark.Load(t) }

// Failcnt is the number of charges that failed at this counter.
func (c *PageCounter) Failcnt(t *ksync.Task) int64 { return c.failcnt.Load(t) }

// ResetWatermark is page_counter_reset_watermark(): the watermark becomes
// the current usage (a write to memory.max_usage_in_bytes).
func (c *PageCounter) ResetWatermark(t *ksync.Task) { c.watermark.Store(t, c.usage.Load(t)) }

// ResetFailcnt zeroes failcnt (a write to memory.failcnt).
func (c *PageCounter) ResetFailcnt(t *ksync.Task) { c.failcnt.Store(t, 0) }

// raiseWatermark lifts the watermark to usage. The kernel does a racy
// READ_ONCE/WRITE_ONCE; a compare-and-swap keeps it exact.
func (c *PageCounter) raiseWatermark(t *ksync.Task, usage int64) {
	for {
		w := c.watermark.Load(t)
		if usage <= w || c.watermark.CompareAndSwap(t, w, usage) {
			return
		}
	}
}

// cancel is page_counter_cancel(): take n pages off this counter only.
// Going below zero is a bug (the kernel warns and clamps; we panic).
func (c *PageCounter) cancel(t *ksync.Task, n int64) {
	if v := c.usage.Add(t, -n); v < 0 {
		panic(fmt.Sprintf("memcg: page counter %s of %s underflow: usage %d after uncharging %d", c.name, c.memcg.Path(), v, n))
	}
}

// Charge is page_counter_charge(): charge n pages here and at every
// ancestor, whatever the limits.
func (c *PageCounter) Charge(t *ksync.Task, n int64) {
	for p := c; p != nil; p = p.parent {
		p.raiseWatermark(t, p.usage.Add(t, n))
	}
}

// TryCharge is page_counter_try_charge(): charge n pages here and at every
// ancestor unless that takes one of them above its limit. On failure the
// counters already charged are rolled back and failed is the counter that
// hit its limit; its failcnt is incremented.
//
// Like the kernel, it adds first and checks after: two racing chargers
// can both see the sum over the limit and both fail, where one could
// have succeeded; but no charge that succeeds leaves a counter above its
// limit (a concurrent SetMax aside, which is checked there).
// Watermarks are raised level by level as the walk passes them.
func (c *PageCounter) TryCharge(t *ksync.Task, n int64) (failed *PageCounter, ok bool) {
	for p := c; p != nil; p = p.parent {
		v := p.usage.Add(t, n)
		if v > p.max.Load(t) {
			p.usage.Add(t, -n)
			p.failcnt.Add(t, 1)
			for q := c; q != p; q = q.parent {
				q.cancel(t, n)
			}
			return p, false
		}
		p.raiseWatermark(t, v)
	}
	return nil, true
}

// Uncharge is page_counter_uncharge(): take n pages off this counter and
// every ancestor. Uncharging more than was charged panics: it is a bug.
func (c *PageCounter) Uncharge(t *ksync.Task, n int64) {
	for p := c; p != nil; p = p.parent {
		p.cancel(t, n)
	}
}

// errBusy is the -EBUSY of page_counter_set_max.
type errBusy struct{ usage, max int64 }

func (e errBusy) Error() string {
	return fmt.Sprintf("usage %d pages above the new limit %d (EBUSY)", e.usage, e.max)
}

// SetMax is page_counter_set_max(): set the limit to max pages, unless
// the usage is above it, which fails with an EBUSY error. A charge racing
// with the change is caught by re-reading the usage after the exchange:
// if the usage grew while the limit went down, the old limit is put back
// and it tries again.
func (c *PageCounter) SetMax(t *ksync.Task, max int64) error {
	for {
		usage := c.usage.Load(t)
		if usage > max {
			return errBusy{usage, max}
		}
		old := c.max.Swap(t, max)
		if c.usage.Load(t) <= usage || max >= old {
			return nil
		}
		c.max.Store(t, old)
		ksync.CondResched(t)
	}
}
