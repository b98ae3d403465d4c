package explore

import (
	"errors"
	"fmt"

	"uswap/ksync"
	"uswap/pager"
	"uswap/swapdev"
	"uswap/uffdsim"
)

// The pager-read-error scenario is a swap-in whose device read fails
// while the process discards the page. The pager then poisons the page
// and frees the pte's slot count, as do_swap_page() leaves a swapin-error
// marker after a failed read, but only if the pte still holds the entry
// it read: the discard (a REMOVE event) has already freed that count and
// made the page none, and the thread's next touch must find zeroes:
//
//	worker                          T2, worker 2
//	T1's fault: orig = swap(E)
//	read E: I/O error
//	                                MADV_DONTNEED(P)
//	                                REMOVE: P none, swap_free(E)
//	lock P: pte != orig: leave it
//	  (without the check: poison P
//	  !!! SIGBUS for a discarded page,
//	  swap_free(E) !!! a free slot)
//
// Every fix is on; no schedule may free E twice (the audit of the swap
// core's counts, or its own check of a free of a free slot).
func init() {
	register(pagerScenario(&Scenario{
		Name:  "pager-read-error",
		NoFix: true,
		Doc: "a swap-in's read fails while the process discards the page: the pager poisons the\n" +
			"page and frees its slot only if the pte still holds the entry it read.",
		MaxSteps: 50_000,
		Budgets: []Budget{
			{Strategy: "random", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "pct:3", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "walk:0.99", Runs: 200, Seed: 1, Want: NothingFound},
		},
	}, buildPagerReadError))
}

func buildPagerReadError(t *ksync.Task, env Env) (*pagerRig, error) {
	dev, err := swapdev.NewRAM("zram0", 10, "lz4")
	if err != nil {
		return nil, err
	}
	if _, err := swapdev.MkswapDevice(t, dev, swapdev.MkswapOptions{}); err != nil {
		return nil, err
	}
	rule, err := swapdev.ParseFaultRule("read:offset=1:times=1")
	if err != nil {
		return nil, err
	}
	faulty := swapdev.NewFaulty(dev, 1, rule)
	r := uffdsim.New(pagerRigBase, 2)
	p, err := pager.New(t, r, pager.Config{
		Pages: 2, Budget: 4, Device: faulty,
		Workers: 1, Batch: 4, Low: 1, High: 2, Fixes: env.Fixes,
	})
	if err != nil {
		return nil, err
	}
	g := &pagerRig{p: p, dev: dev, r: r, faulty: faulty}
	// Page 0 is swapped out to slot 1, whose first read fails.
	if err := g.p.Preset(t, 0, same(0xa0), true); err != nil {
		return nil, err
	}
	g.start = startPagerReadError
	return g, nil
}

func startPagerReadError(g *pagerRig) *Instance {
	inst := g.instance(
		g.closer(3),
		g.worker("worker1", 2),
		g.worker("worker2", 4),
		g.thread("T1", 0, func(t *ksync.Task) error {
			// The read failed (SIGBUS), or the page was discarded
			// first (zeroes), or the discard's event made the pager
			// try the fault again, and the second read worked.
			v, err := g.r.Load(t, 0)
			switch {
			case errors.Is(err, uffdsim.ErrSigbus):
				return nil
			case err != nil:
				return fmt.Errorf("load of page 0: %w", err)
			case v != 0 && v != 0xa0:
				return fmt.Errorf("load of page 0 read %#x, want SIGBUS, 0 or 0xa0", v)
			}
			return nil
		}),
		g.thread("T2", 1, func(t *ksync.Task) error {
			g.r.Dontneed(t, 0, 1)
			return nil
		}),
	)
	// The fault injector's lock, then what the rig names.
	namer := inst.Namer
	inst.Namer = func(obj any) string {
		if n := g.faulty.ObjectName(obj); n != "" {
			return n
		}
		return namer(obj)
	}
	return inst
}
