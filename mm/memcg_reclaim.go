package mm

import (
	"uswap/ksync"
	"uswap/memcg"
)

// This file is background (asynchronous) memcg reclaim, in the spirit of
// the kernel's memory.high work (high_work_func, reclaim_high) and of the
// per-memcg kswapd that has been proposed for it: when a charge brings a
// limited cgroup within a margin of its memory.max, a background task
// reclaims the cgroup down to a lower mark, so that the task that faults
// seldom has to compress pages itself. A charge that hits the hard limit
// still reclaims directly (try_charge_memcg), so the limit holds at every
// moment: background reclaim only moves work off the fault path.
//
// Differences from the kernel: the kernel has no such watermark below
// memory.max (memory.high is a separate, user-set threshold, and its
// reclaim runs on return to user space or on a workqueue); here the marks
// are derived from memory.max. It is off unless Config.MemcgBgReclaim is
// set or StartMemcgReclaim is called (explorer scenarios leave it off: its
// task never exits on its own); `uswap bench --memcg-bg-reclaim on|off`
// chooses it for the bench.
//
//	high = max - max(max/64, 64)   a charge above it queues the cgroup
//	low  = high - max(max/64, 64)  the worker reclaims down to it
//
// One worker serves every cgroup of the node, in the order they were
// queued (a FIFO, so no decision depends on map order).

// memcgReclaimBatch is how many pages the worker asks for at a time
// (SWAP_CLUSTER_MAX): small, so that it notices a stop soon.
const memcgReclaimBatch = directReclaimBatch

// memcgBgState is the node's background memcg reclaimer.
type memcgBgState struct {
	// on is set by StartMemcgReclaim before the node is shared and never
	// changes after: immutable while tasks run.
	on bool

	kthread                // the worker; it sleeps on wait
	lock    ksync.SpinLock // guards queue
	queue   []*memcgQueued // guarded by lock: cgroups to reclaim, FIFO
	nqueued ksync.Int32    // atomic: len(queue), written under lock
	// Reclaimed counts the pages the worker freed (reporting only).
	reclaimed ksync.Stat
	wakeups   ksync.Stat
}

type memcgQueued struct {
	cg *memcg.MemCgroup
	lv *lruvec // lv.bgQueued is set while cg is on the queue
}

// MemcgHighMarks returns the marks of a cgroup whose memory.max is max
// pages: above high a charge queues background reclaim, which reclaims
// down to low.
func MemcgHighMarks(limit int64) (high, low int64) {
	gap := max(limit/64, 64)
	high = limit - gap
	low = high - gap
	return max(high, 0), max(low, 0)
}

// StartMemcgReclaim starts the background memcg reclaimer (what
// Config.MemcgBgReclaim does in NewNode). Call it before the node is
// shared with other tasks (right after NewNode or system.New); a second
// call does nothing. Stop it with StopMemcgReclaim before shutting down.
func (n *Node) StartMemcgReclaim(t *ksync.Task) {
	if n.memcgBg.on {
		return
	}
	n.memcgBg.on = true
	n.memcgBg.run(t, "memcg_reclaim", 1, n.memcgReclaimMain)
}

// StopMemcgReclaim stops the background reclaimer and returns once it has
// exited. Charges after it no longer queue anything. A node without one
// returns at once.
func (n *Node) StopMemcgReclaim(t *ksync.Task) {
	if n.memcgBg.on {
		n.memcgBg.kthreadStop(t)
	}
}

// MemcgReclaimStats returns the pages the background reclaimer freed and
// how many times it was queued work.
func (n *Node) MemcgReclaimStats() (reclaimed, wakeups uint64) {
	return n.memcgBg.reclaimed.Sum(), n.memcgBg.wakeups.Sum()
}

// memcgCharged is called after a page was charged to cg: it queues
// background reclaim for the lowest cgroup from cg up whose usage is
// above its high mark. Without a background reclaimer it does nothing
// (and is no scheduling point).
func (n *Node) memcgCharged(t *ksync.Task, cg *memcg.MemCgroup) {
	if !n.memcgBg.on {
		return
	}
	for c := cg; c != nil && !c.IsRoot(); c = c.Parent() {
		mc := c.Memory()
		limit := mc.Max(t)
		if limit >= memcg.PageCounterMax {
			continue
		}
		if high, _ := MemcgHighMarks(limit); mc.Read(t) <= high {
			continue
		}
		n.queueMemcgReclaim(t, c)
		return
	}
}

// queueMemcgReclaim puts cg on the worker's queue unless it is there.
func (n *Node) queueMemcgReclaim(t *ksync.Task, cg *memcg.MemCgroup) {
	lv := n.lruvecOf(t, cg.ID())
	if lv.bgQueued.Load(t) || n.memcgBg.stop.Load(t) {
		return
	}
	if lv.bgQueued.Swap(t, true) {
		return
	}
	bg := &n.memcgBg
	bg.lock.Lock(t)
	bg.queue = append(bg.queue, &memcgQueued{cg: cg, lv: lv})
	bg.nqueued.Store(t, int32(len(bg.queue)))
	bg.lock.Unlock(t)
	bg.wakeups.Inc(t)
	bg.wait.WakeAll(t)
}

// memcgReclaimMain is the worker: sleep until a cgroup is queued, then
// reclaim it down to its low mark.
func (n *Node) memcgReclaimMain(t *ksync.Task) {
	bg := &n.memcgBg
	for {
		var q *memcgQueued
		bg.wait.Wait(t, func() bool {
			return bg.stop.Load(t) || bg.nqueued.Load(t) > 0
		})
		if bg.stop.Load(t) {
			n.drainMemcgQueue(t)
			return
		}
		bg.lock.Lock(t)
		if len(bg.queue) > 0 {
			q = bg.queue[0]
			bg.queue[0] = nil
			bg.queue = bg.queue[1:]
			bg.nqueued.Store(t, int32(len(bg.queue)))
		}
		bg.lock.Unlock(t)
		if q == nil {
			continue
		}
		n.memcgReclaimTo(t, q.cg)
		// Charges from now on may queue it again.
		q.lv.bgQueued.Store(t, false)
		// One that came in while we reclaimed found it queued: look
		// again, so that it is not missed.
		n.memcgCharged(t, q.cg)
	}
}

// drainMemcgQueue empties the queue as the worker exits.
func (n *Node) drainMemcgQueue(t *ksync.Task) {
	bg := &n.memcgBg
	bg.lock.Lock(t)
	q := bg.queue
	bg.queue = nil
	bg.nqueued.Store(t, 0)
	bg.lock.Unlock(t)
	for _, e := range q {
		e.lv.bgQueued.Store(t, false)
	}
}

// memcgReclaimTo reclaims cg until its usage is at its low mark, the
// reclaimer is stopped, or a pass makes no progress.
func (n *Node) memcgReclaimTo(t *ksync.Task, cg *memcg.MemCgroup) {
	bg := &n.memcgBg
	mc := cg.Memory()
	for !bg.stop.Load(t) {
		limit := mc.Max(t)
		if limit >= memcg.PageCounterMax {
			return
		}
		_, low := MemcgHighMarks(limit)
		over := mc.Read(t) - low
		if over <= 0 {
			return
		}
		got := n.shrinkNode(t, cg, int(min(over, memcgReclaimBatch)))
		if got == 0 {
			return
		}
		bg.reclaimed.Add(t, uint64(got))
		ksync.CondResched(t)
	}
}
