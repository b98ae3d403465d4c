package mm

import (
	"uswap/ksync"
)

// kswapdState is the node's kswapd: a kernel thread that sleeps on wait
// until an allocation finds free frames below the low watermark, then
// reclaims until they are at the high watermark (balance_pgdat).
type kswapdState struct {
	task    *ksync.Task      // set by startKswapd before the node is shared
	wait    ksync.WaitQueue  // pgdat->kswapd_wait
	wakeup  ksync.Bool       // atomic: a wakeup is pending
	stop    ksync.Bool       // atomic: kthread_stop was called
	stopped ksync.Completion // completed by kswapd as it exits
	running ksync.Bool       // atomic: started and not yet stopped
}

func (n *Node) startKswapd(t *ksync.Task) {
	n.kswapd.running.Init(true)
	n.kswapd.task = ksync.Spawn(t, "kswapd0", 0, n.kswapdMain)
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
	if !n.cfg.Kswapd || !n.kswapd.running.Swap(t, false) {
		return
	}
	n.kswapd.stop.Store(t, true)
	n.kswapd.wait.WakeAll(t)
	n.kswapd.stopped.Wait(t)
}

// kswapdMain is kswapd(): sleep until woken, then balance_pgdat.
func (n *Node) kswapdMain(t *ksync.Task) {
	defer n.kswapd.stopped.Complete(t)
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
