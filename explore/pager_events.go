package explore

import (
	"uswap/fixes"
	"uswap/ksync"
)

// The pager-events scenario is a stale copy written over newer data: a
// worker swapping a page in has checked its pte and is about to copy
// when the process discards the page (MADV_DONTNEED). The kernel refuses
// copies (EAGAIN) only until the REMOVE event is read; if another worker
// reads it while the copy is in flight, the zap can run first and the
// copy land after it:
//
//	worker 1 (T1's fault)      worker 2          T2
//	pte = swap(E), read E: v1
//	                                             MADV_DONTNEED: REMOVE queued
//	                           read REMOVE
//	                                             zap; load: fault
//	UFFDIO_COPY(v1): succeeds
//	                                             reads v1  !!! the page was discarded
//
// With the fix, messages are read under the event lock held for writing
// and the copy holds it for reading from its pte check on: the REMOVE is
// read before the check (which then sees the page none) or after the
// copy (which the zap then removes).
func init() {
	register(pagerScenario(&Scenario{
		Name:   "pager-events",
		Fix:    fixes.PagerEvents,
		Commit: fixes.PagerEvents.Info().Commit,
		Doc: "a copy decided before a REMOVE event is read lands after the process's zap: the thread\n" +
			"that discarded the page reads the old data back.",
		MaxSteps: 50_000,
		Budgets: []Budget{
			{Fixes: []string{"pager-events=none"}, Strategy: "pct:2", Runs: 300, Seed: 1, Want: "found no-lost-data"},
			{Fixes: []string{"pager-events=none"}, Strategy: "walk:0.99", Runs: 300, Seed: 1, Want: "found no-lost-data"},
			{Strategy: "random", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "walk:0.99", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "pct:3", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "dfs:1", Runs: 300, Seed: 1, Want: NothingFound},
		},
	}, buildPagerEvents))
}

func buildPagerEvents(t *ksync.Task, env Env) (*pagerRig, error) {
	g, err := newPagerRig(t, env, 1, 4, 10, 0)
	if err != nil {
		return nil, err
	}
	if err := g.p.Preset(t, 0, same(0xe1), true); err != nil {
		return nil, err
	}
	g.start = startPagerEvents
	return g, nil
}

func startPagerEvents(g *pagerRig) *Instance {
	return g.instance(
		g.closer(4),
		g.worker("worker1", 2),
		g.worker("worker2", 3),
		// T1's load is concurrent with T2's MADV_DONTNEED: either is
		// right.
		g.thread("T1", 0, func(t *ksync.Task) error { return g.load(t, 0, 0xe1, 0) }),
		g.thread("T2", 1, func(t *ksync.Task) error {
			g.r.Dontneed(t, 0, 1)
			return g.load(t, 0, 0)
		}),
	)
}
