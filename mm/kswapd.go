package mm

import (
	"uswap/ksync"
)

// kswapdState is the node's kswapd: a kernel thread that sleeps on wait
// until an allocation finds free frames below the low watermark, then
// reclaims until they are at the high watermark (balance_pgdat).
type kswapdState struct {
	kthread            // wait is pgdat->kswapd_wait
	wakeup  ksync.Bool // atomic: a wakeup is pending
}

// kthread is a kernel thread's life cycle (kthread_run, kthread_stop,
// kthread_should_stop) for a thread that sleeps on wait between rounds
// of work: kswapd and the background memcg reclaimer.
type kthread struct {
	task    *ksync.Task      // set by run before the node is shared
	wait    ksync.WaitQueue  // the thread sleeps here
	stop    ksync.Bool       // atomic: kthread_stop was called
	stopped ksync.Completion // completed by the thread as it exits
	running ksync.Bool       // atomic: started and not yet stopped
}

// run is kthread_run(): start fn on a new task on cpu.
func (k *kthread) run(t *ksync.Task, name string, cpu int, fn func(*ksync.Task)) {
	k.running.Init(true)
	k.task = ksync.Spawn(t, name, cpu, func(t *ksync.Task) {
		defer k.stopped.Complete(t)
		fn(t)
	})
}

// kthreadStop is kthread_stop(): tell the thread to stop, wake it, and
// return once it has exited. A thread that is not running returns at
// once.
func (k *kthread) kthreadStop(t *ksync.Task) {
	if !k.running.Swap(t, false) {
		return
	}
	k.stop.Store(t, true)
	k.wait.WakeAll(t)
	k.stopped.Wait(t)
}

func (n *Node) startKswapd(t *ksync.Task) {
	n.kswapd.run(t, "kswapd0", 0, n.kswapdMain)
}

// wakeKswapd is wakeup_kswapd().
func (n *Node) wakeKswapd(t *ksync.Task) {
	if !n.cfg.Kswapd {
		return
	}
	if !n.kswapd.wakeup.Swap(t, true) {
		n.Stat.KswapdWake.Inc(t)
	}
	n.kswapd.wait.WakeAll(t)
}

// StopKswapd is kthread_stop(kswapd): it returns once kswapd has exited.
// A node without kswapd returns at once.
func (n *Node) StopKswapd(t *ksync.Task) {
	if n.cfg.Kswapd {
		n.kswapd.kthreadStop(t)
	}
}

// kswapdMain is kswapd(): sleep until woken, then balance_pgdat.
func (n *Node) kswapdMain(t *ksync.Task) {
	for {
		n.kswapd.wait.Wait(t, func() bool {
			return n.kswapd.wakeup.Load(t) || n.kswapd.stop.Load(t)
		})
		if n.kswapd.stop.Load(t) {
			return
		}
		n.kswapd.wakeup.Store(t, false)
		n.balancePgdat(t)
	}
}

// balancePgdat reclaims until free frames reach the high watermark, or a
// pass makes no progress (nothing reclaimable now: sleep until the next
// wakeup).
func (n *Node) balancePgdat(t *ksync.Task) {
	for n.pool.NrFree(t) < n.high && !n.kswapd.stop.Load(t) {
		if n.shrinkNode(t, nil, directReclaimBatch) == 0 {
			return
		}
		ksync.CondResched(t)
	}
}
