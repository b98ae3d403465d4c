package explore

import (
	"uswap/fixes"
	"uswap/ksync"
)

// The pager-wake scenario is a copy that finds its page already there
// and forgets to wake the thread that faulted. Readahead copies the page
// after a sequential fault with UFFDIO_COPY_MODE_DONTWAKE, since nobody
// should be waiting for it; when a thread did fault on it just before,
// the handler of that fault finds it installed (EEXIST, or the pte), and
// unless it wakes the range the thread sleeps forever:
//
//	T1                 T2                worker
//	load 1: fault
//	                   load 2: fault
//	                                     swap in page 1 (wakes T1)
//	                                     readahead: copy page 2, DONTWAKE
//	                                     T2's fault: page 2 is there
//	                                     return  !!! T2 sleeps forever
//
// With the fix (ioctl_userfaultfd(2)'s rule for EEXIST) the worker
// answers with UFFDIO_WAKE. The race shows as a deadlock: its budgets
// with the fix reverted find one.
func init() {
	register(pagerScenario(&Scenario{
		Name:   "pager-wake",
		Fix:    fixes.PagerWake,
		Commit: fixes.PagerWake.Info().Commit,
		Doc: "readahead copies page 2 without waking (DONTWAKE) while T2 sleeps in a fault on it;\n" +
			"the worker that reads T2's fault finds the page installed and, without UFFDIO_WAKE,\n" +
			"returns: T2 never wakes (a deadlock).",
		MaxSteps: 50_000,
		Budgets: []Budget{
			{Fixes: []string{"pager-wake=none"}, Strategy: "pct:2", Runs: 300, Seed: 1, Want: "found deadlock"},
			{Fixes: []string{"pager-wake=none"}, Strategy: "dfs:1", Runs: 500, Seed: 1, Want: "found deadlock"},
			{Strategy: "random", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "walk:0.99", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "pct:3", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "dfs:1", Runs: 300, Seed: 1, Want: NothingFound},
		},
	}, buildPagerWake))
}

func buildPagerWake(t *ksync.Task, env Env) (*pagerRig, error) {
	g, err := newPagerRig(t, env, 3, 4, 10, 1)
	if err != nil {
		return nil, err
	}
	// Page 0 was never written; pages 1 and 2 are swapped out.
	for page := uint64(1); page <= 2; page++ {
		if err := g.p.Preset(t, page, same(0x10+page), true); err != nil {
			return nil, err
		}
	}
	g.start = startPagerWake
	return g, nil
}

func startPagerWake(g *pagerRig) *Instance {
	return g.instance(
		g.closer(3),
		g.worker("worker", 2),
		g.thread("T1", 0, func(t *ksync.Task) error {
			// A sequential walk: page 1's swap-in reads page 2 ahead.
			if err := g.load(t, 0, 0); err != nil {
				return err
			}
			return g.load(t, 1, 0x11)
		}),
		g.thread("T2", 1, func(t *ksync.Task) error { return g.load(t, 2, 0x12) }),
	)
}
