package explore

import (
	"fmt"

	"uswap/fixes"
	"uswap/invariant"
	"uswap/ksync"
)

// The pager-recheck scenario is a fault handled twice, the ABA of seed
// 000 in userspace. Worker 2 reads T1's fault on page P and the entry E
// its pte holds; before it swaps E in, page P is discarded (E is freed)
// and faulted in again by T2, and may be evicted as a clean zero page
// while E is reused by page Q's eviction. Worker 2 then reads E (P's old
// data, or Q's) and, unless it checks under the page lock that P's pte
// still holds E, copies it into P, where the process discarded the data,
// and frees E again (Q's slot, if Q took it). The explorer finds the
// short form first (P's old data back, a free of an unused entry); the
// long one needs the evictor in the window too:
//
//	worker 2 (T1's fault)   worker 1                  T2, evictor
//	orig = swap(E)
//	                                                  MADV_DONTNEED(P)
//	                        REMOVE: P none, E free
//	                                                  T2: load P
//	                        zero-fill P
//	                                                  evictor: Q to E, P dropped
//	read E: Q's data
//	copy to P !!! P holds Q's data
//	swap_free(E) !!! Q's slot
//
// The device is full but for E, so that Q's eviction takes it.
func init() {
	register(pagerScenario(&Scenario{
		Name:   "pager-recheck",
		Fix:    fixes.PagerRecheck,
		Commit: fixes.PagerRecheck.Info().Commit,
		Doc: "a worker swaps in the entry it read from page P's pte before P was discarded, zero-filled\n" +
			"and evicted, and the entry reused by page Q: without pte_same it copies Q's data into P\n" +
			"and frees Q's slot.",
		MaxSteps: 100_000,
		Budgets: []Budget{
			{Fixes: []string{"pager-recheck=none"}, Strategy: "pct:3", Runs: 300, Seed: 1, Want: "found no-lost-data, no-kernel-bug"},
			{Fixes: []string{"pager-recheck=none"}, Strategy: "walk:0.99", Runs: 300, Seed: 1, Want: "found no-lost-data, no-kernel-bug"},
			{Strategy: "random", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "walk:0.99", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "pct:3", Runs: 200, Seed: 1, Want: NothingFound},
			{Strategy: "dfs:1", Runs: 300, Seed: 1, Want: NothingFound},
		},
	}, buildPagerRecheck))
}

const (
	recheckP       = 0
	recheckQ       = 1
	recheckFillers = 8 // with P, every slot of the 10-page device
)

func buildPagerRecheck(t *ksync.Task, env Env) (*pagerRig, error) {
	g, err := newPagerRig(t, env, 2+recheckFillers, 4, 10, 0)
	if err != nil {
		return nil, err
	}
	if err := g.p.Preset(t, recheckQ, same(0xb0), false); err != nil {
		return nil, err
	}
	if err := g.p.Preset(t, recheckP, same(0xa0), true); err != nil {
		return nil, err
	}
	for i := range uint64(recheckFillers) {
		if err := g.p.Preset(t, 2+i, same(0xc0+i), true); err != nil {
			return nil, err
		}
	}
	if free := g.p.Core().NrSwapPages(t); free != 0 {
		return nil, fmt.Errorf("%d slots free after the setup, want 0", free)
	}
	g.start = startPagerRecheck
	return g, nil
}

func startPagerRecheck(g *pagerRig) *Instance {
	loaded := g.completion("loaded")
	inst := g.instance(
		g.closer(5),
		g.worker("worker1", 3),
		g.worker("worker2", 4),
		g.thread("T1", 0, func(t *ksync.Task) error { return g.load(t, recheckP, 0xa0, 0) }),
		g.thread("T2", 1, func(t *ksync.Task) error {
			g.r.Dontneed(t, recheckP, 1)
			err := g.load(t, recheckP, 0)
			loaded.Complete(t)
			return err
		}),
		g.thread("evictor", 2, func(t *ksync.Task) error {
			loaded.Wait(t)
			g.p.Reclaim(t, 2)
			return nil
		}),
	)
	check := inst.Check
	inst.Check = func(t *ksync.Task) error {
		// P was discarded after T1's load: it holds zeros, or nothing.
		if st := g.r.Peek(recheckP); st.Cached && st.Word != 0 {
			err := invariant.List{invariant.Newf(invariant.NoLostData, "page P", "holds %#x after MADV_DONTNEED, want 0", st.Word)}
			if cerr, ok := check(t).(invariant.List); ok {
				err = append(err, cerr...)
			}
			return err
		}
		return check(t)
	}
	return inst
}
