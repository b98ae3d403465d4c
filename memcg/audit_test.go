package memcg

import (
	"strings"
	"testing"

	"uswap/invariant"
)

// TestAudit: the memcg-charge audit passes when the census matches the
// charges, and names the cgroup and the counter when it does not. Charges:
// b holds 3 pages and 2 swap slots, a (b's parent) 1 page of its own.
func TestAudit(t *testing.T) {
	cases := []struct {
		name   string
		mode   Mode
		frames map[string]int64 // by cgroup name; "?" is an unregistered id
		slots  map[string]int64
		want   []string // substrings of the violations, in order; none when clean
	}{
		{"v2 clean", V2, map[string]int64{"a": 1, "b": 3}, map[string]int64{"b": 2}, nil},
		{"v1 clean", V1, map[string]int64{"a": 1, "b": 3}, map[string]int64{"b": 2}, nil},
		{"a frame too few", V2, map[string]int64{"a": 1, "b": 2}, map[string]int64{"b": 2},
			[]string{"memcg /a/b: memory usage 3 pages, but 2 frames", "memcg /a: memory usage 4 pages, but 3 frames"}},
		{"a slot unaccounted", V2, map[string]int64{"a": 1, "b": 3}, map[string]int64{"b": 3},
			[]string{"memcg /a/b: swap usage 2 slots, but 3", "memcg /a: swap usage 2 slots, but 3"}},
		{"memsw off", V1, map[string]int64{"a": 1, "b": 3}, map[string]int64{"b": 1},
			[]string{"memcg /a/b: memsw usage 5 pages, but 3 frames and 1 swap slots", "memcg /a: memsw usage 6 pages"}},
		{"unregistered id", V2, map[string]int64{"a": 1, "b": 3, "?": 1}, map[string]int64{"b": 2},
			[]string{"1 frames are charged to a cgroup that is not registered"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t0 *testing.T) {
			t, root, a, b := tree(t0, c.mode)
			must(t0, b.TryCharge(t, 3))
			must(t0, a.TryCharge(t, 1))
			must(t0, TryChargeSwap(t, b, 2))
			ids := map[string]uint16{"a": a.ID(), "b": b.ID(), "?": 999}
			census := Census{Frames: map[uint16]int64{}, Slots: map[uint16]int64{}}
			for n, v := range c.frames {
				census.Frames[ids[n]] = v
			}
			for n, v := range c.slots {
				census.Slots[ids[n]] = v
			}
			vs := root.Hierarchy().Audit(t, census)
			if len(vs) != len(c.want) {
				t0.Fatalf("%d violations, want %d: %v", len(vs), len(c.want), invariant.List(vs))
			}
			for i, v := range vs {
				if v.Invariant != invariant.MemcgCharge || !strings.Contains(v.String(), c.want[i]) {
					t0.Errorf("violation %d: %v, want memcg-charge with %q", i, v, c.want[i])
				}
			}
		})
	}
}

// TestAuditLimit: a usage above the limit is a violation. The API
// refuses to lower a limit below the usage, so the test raises the
// usage past it the way only a bug could: an unconditional charge.
func TestAuditLimit(t0 *testing.T) {
	t, root, a, _ := tree(t0, V2)
	must(t0, a.SetMemoryMax(t, 2*pg))
	a.Memory().Charge(t, 3)
	vs := root.Hierarchy().Audit(t, Census{Frames: map[uint16]int64{a.ID(): 3}})
	if len(vs) != 1 || !strings.Contains(vs[0].String(), "memory usage 3 pages is above memory.max 2") {
		t0.Fatalf("violations %v", invariant.List(vs))
	}
}
