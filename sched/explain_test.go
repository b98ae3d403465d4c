package sched_test

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"uswap/ksync"
	"uswap/sched"
)

// spinner is the loop of a livelock: trylock, and on failure yield and
// try again.
func spinner(mu *ksync.Mutex) func(*ksync.Task) {
	return func(t *ksync.Task) {
		for !mu.TryLock(t) {
			ksync.CondResched(t)
		}
		mu.Unlock(t)
	}
}

// TestLivelockLoop: a task that keeps failing a trylock on a lock whose
// holder sleeps until the spinner gets somewhere is reported as a
// livelock, with its loop, what it waits for and who holds it.
func TestLivelockLoop(t *testing.T) {
	names := map[any]string{}
	var mu ksync.Mutex
	mu.Init(ksync.RankTestOuter)
	var never ksync.Completion
	names[&mu] = "ci0[0]->lock"
	r := sched.Run(sched.Random(3), sched.Options{MaxSteps: 2000, Record: true, Namer: func(o any) string { return names[o] }}, func(t *ksync.Task) {
		ksync.Spawn(t, "holder", 0, func(t *ksync.Task) {
			mu.Lock(t)
			never.Wait(t)
			mu.Unlock(t)
		})
		ksync.Spawn(t, "spin", 1, spinner(&mu))
	})
	f := r.Failure
	if f == nil || f.Kind != sched.Livelock || f.Loop == nil {
		t.Fatalf("want a livelock with its loop, got %v", f)
	}
	l := f.Loop
	if l.TaskName != "spin" || l.Starved || len(l.Turn) != 2 || l.Turns < 100 {
		t.Fatalf("loop: %s (task %s, starved %v, %d steps a turn, %d turns)", l, l.TaskName, l.Starved, len(l.Turn), l.Turns)
	}
	for _, want := range []string{"livelock: no end after 2000 scheduling points: spin repeats a cycle of 2 steps", "in spinner: trylock ci0[0]->lock, cond_resched current", "waits for ci0[0]->lock (held by holder", "holder sleeps on"} {
		if !strings.Contains(f.String(), want) {
			t.Errorf("report lacks %q: %s", want, f)
		}
	}
}

// TestStarvation: a task spinning on a lock that another task keeps
// while it makes progress is reported as starved.
func TestStarvation(t *testing.T) {
	var mu ksync.Mutex
	mu.Init(ksync.RankTestOuter)
	objs := make([]ksync.Int64, 5000)
	var locked ksync.Completion
	r := sched.Run(sched.Random(1), sched.Options{MaxSteps: 3000, Record: true}, func(t *ksync.Task) {
		ksync.Spawn(t, "worker", 0, func(t *ksync.Task) {
			mu.Lock(t)
			locked.Complete(t)
			for i := range objs {
				objs[i].Store(t, 1)
			}
			mu.Unlock(t)
		})
		ksync.Spawn(t, "spin", 1, func(t *ksync.Task) {
			locked.Wait(t)
			spinner(&mu)(t)
		})
	})
	f := r.Failure
	if f == nil || f.Kind != sched.Livelock || f.Loop == nil {
		t.Fatalf("want a step-cap failure with a loop, got %v", f)
	}
	if l := f.Loop; l.TaskName != "spin" || !l.Starved || l.Kind() != "starvation" || !strings.Contains(f.Message, "starvation: spin repeats") || !strings.Contains(l.String(), "worker makes progress") {
		t.Fatalf("loop: %s", l)
	}
}

// TestOrderReplaysTrace: a recorded run replayed by its steps (sched.Order)
// gives the same trace, and the Runner that reuses its coroutines gives
// the same runs as fresh ones and leaves no goroutine after Close.
func TestOrderReplaysTrace(t *testing.T) {
	before := runtime.NumGoroutine()
	var rn sched.Runner
	for seed := int64(1); seed <= 20; seed++ {
		r := rn.Run(sched.Random(seed), sched.Options{Record: true}, traced)
		o := rn.Run(sched.Order(sched.Steps(r.Trace)), sched.Options{Record: true}, traced)
		if a, b := formatted(t, r), formatted(t, o); a != b {
			t.Fatalf("seed %d: the run by steps differs:\n%s\n---\n%s", seed, a, b)
		}
		fresh := sched.Run(sched.Random(seed), sched.Options{}, traced)
		if !slices.Equal(fresh.Choices, r.Choices) {
			t.Fatalf("seed %d: a reused runner took other choices", seed)
		}
	}
	rn.Close()
	waitGoroutines(t, before)
}

// TestDecisionsOnlyWithAChoice: a run in which one task at a time can run
// makes no decision, whatever its length.
func TestDecisionsOnlyWithAChoice(t *testing.T) {
	r := sched.Run(sched.Random(1), sched.Options{}, func(t *ksync.Task) {
		var x ksync.Int64
		for range 1000 {
			x.Add(t, 1)
		}
		var done ksync.Completion
		ksync.Spawn(t, "b", 1, func(t *ksync.Task) { done.Complete(t) })
		done.Wait(t)
	})
	if r.Failure != nil || r.Steps < 1000 || len(r.Choices) > 2 {
		t.Fatalf("%d steps, %d choices, failure %v", r.Steps, len(r.Choices), r.Failure)
	}
}
