package bench

import (
	"context"
	"testing"
)

// TestUswapLimitHolds runs the bench on uswap with its background memcg
// reclaim and checks usemem's rule: at no moment are more than LIMIT MiB
// resident (the cgroup's watermark, raised by every successful charge,
// never passed the limit), and no page came back wrong.
func TestUswapLimitHolds(t *testing.T) {
	for _, tc := range []struct {
		random  bool
		threads int
	}{{false, 1}, {true, 1}, {false, 2}, {true, 2}} {
		o := DefaultOptions()
		o.SizeMiB, o.LimitMiB, o.Passes = 32, 8, 2
		o.Random, o.Threads = tc.random, tc.threads
		e := &UswapEngine{}
		rep, err := Run(context.Background(), e, o, nil)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if rep.Corrupt != 0 {
			t.Errorf("%+v: corrupt=%d", tc, rep.Corrupt)
		}
		limit := int64(o.LimitMiB << 20 / PageSize)
		if e.MemcgLimit != limit || e.MemcgPeak > limit || e.MemcgPeak == 0 {
			t.Errorf("%+v: memcg peak %d pages, limit %d (want the limit %d, and peak within it)", tc, e.MemcgPeak, e.MemcgLimit, limit)
		}
	}
}
