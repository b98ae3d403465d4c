package explore

import (
	"uswap/fixes"
	"uswap/ksync"
)

// The pager-writeout scenario is a page evicted while it is being
// written: the evictor writes a dirty page to its slot and then drops
// it; a store in between, to a page that is still writable, lands in
// memory and is dropped with it:
//
//	T                         evictor
//	store v1 (page dirty)
//	                          clear dirty, read the page (v1)
//	store v2: no fault
//	                          write v1 to the slot
//	                          dirty? no: drop the page
//	load: swap-in of v1  !!! v2 is lost
//
// With the fix the evictor write-protects the page first: T's store
// faults, the worker marks the page dirty and lets the store through,
// and the evictor, finding the page dirty again, keeps it.
func init() {
	register(pagerScenario(&Scenario{
		Name:     "pager-writeout",
		Fix:      fixes.PagerWriteout,
		Commit:   fixes.PagerWriteout.Info().Commit,
		Doc:      "a store lands during the write-out of its page; without write protection it makes no\nfault, the page is dropped after the write-out, and the store is lost.",
		MaxSteps: 50_000,
		Budgets: []Budget{
			{Fixes: []string{"pager-writeout=none"}, Strategy: "pct:3", Runs: 300, Seed: 1, Want: "found no-lost-data"},
			{Fixes: []string{"pager-writeout=none"}, Strategy: "walk:0.99", Runs: 300, Seed: 1, Want: "found no-lost-data"},
			{Strategy: "random", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "walk:0.99", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "pct:3", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "dfs:1", Runs: 300, Seed: 1, Want: NothingFound},
		},
	}, buildPagerWriteout))
}

func buildPagerWriteout(t *ksync.Task, env Env) (*pagerRig, error) {
	g, err := newPagerRig(t, env, 1, 4, 10, 0)
	if err != nil {
		return nil, err
	}
	g.start = startPagerWriteout
	return g, nil
}

func startPagerWriteout(g *pagerRig) *Instance {
	// The second store and the eviction start together, and the load
	// comes after the eviction: the race is one preemption of the
	// evictor away.
	dirty, started, evicted := g.completion("dirty"), g.completion("started"), g.completion("evicted")
	return g.instance(
		g.closer(3),
		g.worker("worker", 2),
		g.thread("evictor", 1, func(t *ksync.Task) error {
			dirty.Wait(t)
			started.Complete(t)
			g.p.Reclaim(t, 1)
			evicted.Complete(t)
			return nil
		}),
		g.thread("T", 0, func(t *ksync.Task) error {
			if err := g.r.Store(t, 0, 0xa1); err != nil {
				return err
			}
			dirty.Complete(t)
			started.Wait(t)
			if err := g.r.Store(t, 0, 0xa2); err != nil {
				return err
			}
			evicted.Wait(t)
			return g.load(t, 0, 0xa2)
		}),
	)
}
