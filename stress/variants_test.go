package stress

import (
	"slices"
	"testing"

	"uswap/fixes"
)

// explorerBroken are the variants the explorer finds broken (explore's
// verdicts, uswap fixes compare): a stress run proves nothing about
// them. Every other variant must keep a stress run clean, under -race in
// CI.
var explorerBroken = map[fixes.Fix][]string{
	fixes.Swapcache:  {"none", "swap-count", "map-lock"},
	fixes.SwapDevice: {"none", "stop-machine", "rcu-sched"},
}

// TestStressVariants runs a short stress (shmem operations, injected
// device errors, swapoff/swapon cycles when the controller gets to them)
// with each correct variant of each fix, the others at their default.
func TestStressVariants(t *testing.T) {
	for _, f := range fixes.All() {
		for _, name := range f.VariantNames() {
			if slices.Contains(explorerBroken[f], name) || fixes.Variant(slices.Index(f.VariantNames(), name)) == f.Info().Merged {
				continue // the default runs in every other stress test
			}
			t.Run(f.String()+"="+name, func(t *testing.T) {
				fx, err := fixes.Default().Choose(f.String() + "=" + name)
				if err != nil {
					t.Fatal(err)
				}
				rep := runClean(t, Config{Tasks: 4, Ops: 4000, Seed: 5, Frames: 512, Limit: 256, Pages: 64, SwapPages: 2048,
					Checkpoint: 2000, Fixes: fx, Faults: rules(t, "read:rate=0.001", "write:rate=0.005")})
				if rep.SwapIns == 0 {
					t.Errorf("the run did not swap in: %s", rep)
				}
			})
		}
	}
}
