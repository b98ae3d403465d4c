package ksync_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"uswap/ksync"
	"uswap/sched"
)

// Tests of ksync under the controlled scheduler: the same properties as
// the ordinary-run tests, over many explored interleavings.

const seeds = 40

// runAll runs main under Random and PCT for every seed and fails on the
// first failure, printing its trace.
func runAll(t *testing.T, main func(*ksync.Task)) {
	t.Helper()
	for seed := int64(1); seed <= seeds; seed++ {
		for _, s := range []sched.Strategy{sched.Random(seed), sched.PCT(seed, 3, 200)} {
			if r := sched.Run(s, sched.Options{MaxSteps: 200000}, main); r.Failure != nil {
				r = sched.Run(sched.Replay(r.Choices), sched.Options{Record: true, MaxSteps: 200000}, main)
				t.Fatalf("seed %d %T: %v\n%s", seed, s, r.Failure, trace(r))
			}
		}
	}
}

func trace(r sched.Result) string {
	var b strings.Builder
	if err := sched.FormatColumns(r, &b); err != nil {
		return err.Error()
	}
	return b.String()
}

// workers spawns n tasks running fn and waits for all of them.
func workers(t *ksync.Task, n int, fn func(t *ksync.Task, i int)) {
	var left ksync.Int32
	var done ksync.Completion
	left.Init(int32(n))
	for i := 0; i < n; i++ {
		ksync.Spawn(t, fmt.Sprint("w", i), i, func(t *ksync.Task) {
			fn(t, i)
			if left.Add(t, -1) == 0 {
				done.Complete(t)
			}
		})
	}
	done.Wait(t)
}

func TestControlledMutualExclusion(t *testing.T) {
	type lockCase struct {
		name         string
		lock, unlock func(*ksync.Task)
		trylock      func(*ksync.Task) bool
	}
	cases := func() []lockCase {
		var mu ksync.Mutex
		var sp ksync.SpinLock
		var rw ksync.RWSem
		var f ksync.Flags
		mu.Init(ksync.RankTestLeaf)
		sp.Init(ksync.RankTestLeaf)
		rw.Init(ksync.RankTestLeaf)
		f.InitRank(ksync.RankTestLeaf)
		return []lockCase{
			{"Mutex", mu.Lock, mu.Unlock, mu.TryLock},
			{"SpinLock", sp.Lock, sp.Unlock, sp.TryLock},
			{"RWSem", rw.Lock, rw.Unlock, rw.TryLock},
			{"BitLock", func(t *ksync.Task) { f.LockBit(t, 2) }, func(t *ksync.Task) { f.UnlockBit(t, 2) },
				func(t *ksync.Task) bool { return f.TryLockBit(t, 2) }},
		}
	}
	for i, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			runAll(t, func(task *ksync.Task) {
				c := cases()[i] // fresh lock for every run
				var n ksync.Int64
				workers(task, 3, func(t *ksync.Task, w int) {
					for j := 0; j < 3; j++ {
						if w == 0 {
							for !c.trylock(t) {
								ksync.CondResched(t)
							}
						} else {
							c.lock(t)
						}
						v := n.Load(t) // a lost update if two hold the lock
						n.Store(t, v+1)
						c.unlock(t)
					}
				})
				if got := n.Load(task); got != 9 {
					panic(fmt.Sprintf("counter %d, want 9", got))
				}
			})
		})
	}
}

func TestControlledRWSemReaders(t *testing.T) {
	runAll(t, func(task *ksync.Task) {
		var rw ksync.RWSem
		rw.Init(ksync.RankTestLeaf)
		var readers, writers ksync.Int32
		workers(task, 3, func(t *ksync.Task, w int) {
			for j := 0; j < 2; j++ {
				if w == 0 {
					rw.Lock(t)
					if writers.Add(t, 1) != 1 || readers.Load(t) != 0 {
						panic("writer not alone")
					}
					writers.Add(t, -1)
					rw.Unlock(t)
				} else {
					rw.RLock(t)
					readers.Add(t, 1)
					if writers.Load(t) != 0 {
						panic("reader with a writer")
					}
					readers.Add(t, -1)
					rw.RUnlock(t)
				}
			}
		})
	})
}

// TestControlledLiveRef is swapoff against users: once WaitForZero
// returns, no user holds a reference, and none gets one later.
func TestControlledLiveRef(t *testing.T) {
	runAll(t, func(task *ksync.Task) {
		var ref ksync.LiveRef
		var inUse ksync.Int32
		var killed ksync.Bool
		var done ksync.Completion
		ksync.Spawn(task, "swapoff", 0, func(t *ksync.Task) {
			ref.Kill(t)
			ref.WaitForZero(t)
			if inUse.Load(t) != 0 {
				panic("WaitForZero returned with a reference in use")
			}
			killed.Store(t, true)
			done.Complete(t)
		})
		workers(task, 2, func(t *ksync.Task, w int) {
			for j := 0; j < 3; j++ {
				if !ref.TryGetLive(t) {
					return
				}
				if killed.Load(t) {
					panic("TryGetLive succeeded after WaitForZero")
				}
				inUse.Add(t, 1)
				inUse.Add(t, -1)
				ref.Put(t)
			}
		})
		done.Wait(task)
		ref.Resurrect(task)
		if !ref.TryGetLive(task) {
			panic("Resurrect did not revive the ref")
		}
		ref.Put(task)
	})
}

// TestControlledWaits covers bit waits, wait-queue wakes and completions.
func TestControlledWaits(t *testing.T) {
	runAll(t, func(task *ksync.Task) {
		const writeback = 5
		var f ksync.Flags
		var wq ksync.WaitQueue
		var count ksync.Int32
		f.Init(1 << writeback)
		workers(task, 3, func(t *ksync.Task, w int) {
			switch w {
			case 0:
				f.ClearAndWake(t, writeback) // folio_end_writeback
				count.Add(t, 1)
				wq.WakeAll(t)
			case 1:
				f.WaitOnBit(t, writeback)
				if f.Test(t, writeback) {
					panic("WaitOnBit returned with the bit set")
				}
				count.Add(t, 1)
				wq.WakeAll(t)
			case 2:
				wq.Wait(t, func() bool { return count.Load(t) == 2 })
			}
		})
	})
}

func TestControlledWaitTimeout(t *testing.T) {
	var got time.Duration
	r := sched.Run(sched.Random(1), sched.Options{}, func(t *ksync.Task) {
		var wq ksync.WaitQueue
		start := ksync.Now(t)
		if wq.WaitTimeout(t, func() bool { return false }, time.Second) {
			panic("WaitTimeout reported a false condition")
		}
		got = ksync.Now(t) - start
	})
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if got < time.Second || got > time.Second+time.Millisecond {
		t.Fatalf("WaitTimeout(1s) took %v of virtual time", got)
	}
}

// TestControlledBitDeadlock: a bit lock never released leaves its
// waiter asleep for ever, and the deadlock report names the bit lock.
// (Taking one twice in one task is caught sooner in a checked build: see
// TestLockOrder.)
func TestControlledBitDeadlock(t *testing.T) {
	r := sched.Run(sched.Random(1), sched.Options{Record: true}, func(t *ksync.Task) {
		var f ksync.Flags
		f.InitRank(ksync.RankTestLeaf)
		f.LockBit(t, 0)
		ksync.Spawn(t, "waiter", 1, func(t *ksync.Task) {
			f.LockBit(t, 0) // folio_lock of a folio whose holder never unlocks it
		})
	})
	if r.Failure == nil || r.Failure.Kind != sched.Deadlock || len(r.Failure.Blocked) != 1 {
		t.Fatalf("want a deadlock of one task, got %v", r.Failure)
	}
	if r.Failure.Blocked[0].Op != ksync.OpBitLock {
		t.Fatalf("deadlock report: %v", r.Failure)
	}
}
