//go:build invariants

package ksync_test

import (
	"strings"
	"testing"

	"uswap/ksync"
	"uswap/sched"
)

// TestLockOrderControlled: two tasks take two mutexes in opposite orders
// (the ABBA deadlock). Without the checks only the schedules that
// interleave the two acquisitions deadlock; with them every schedule
// fails, as a panic that names both locks, because the inverted order is
// a bug whether or not this run deadlocks.
func TestLockOrderControlled(t *testing.T) {
	abba := func(t *ksync.Task) {
		var a, b ksync.Mutex
		a.Init(ksync.RankTestOuter)
		b.Init(ksync.RankTestInner)
		var done ksync.Completion
		ksync.Spawn(t, "ba", 1, func(t *ksync.Task) {
			b.Lock(t)
			a.Lock(t)
			a.Unlock(t)
			b.Unlock(t)
			done.Complete(t)
		})
		a.Lock(t)
		b.Lock(t)
		b.Unlock(t)
		a.Unlock(t)
		done.Wait(t)
	}
	for runs := 1; runs <= 50; runs++ {
		r := sched.Run(sched.PCT(int64(runs), 2, 50), sched.Options{}, abba)
		if r.Failure == nil {
			t.Fatalf("run %d: the inverted order was not caught", runs)
		}
		if r.Failure.Kind != sched.Panic {
			t.Fatalf("run %d: %v, want the lock-order panic", runs, r.Failure)
		}
		for _, want := range []string{"lock order", ksync.RankTestOuter.String(), ksync.RankTestInner.String()} {
			if !strings.Contains(r.Failure.Message, want) {
				t.Fatalf("run %d: report %q lacks %q", runs, r.Failure.Message, want)
			}
		}
	}
}
