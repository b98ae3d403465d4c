package sched_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"uswap/ksync"
	"uswap/sched"
)

// strategies returns one of each strategy for a fixed seed.
func strategies(seed int64) map[string]func() sched.Strategy {
	return map[string]func() sched.Strategy{
		"random": func() sched.Strategy { return sched.Random(seed) },
		"pct":    func() sched.Strategy { return sched.PCT(seed, 3, 8) }, // lostUpdate passes 8 points
	}
}

var strategyNames = []string{"random", "pct"}

// lostUpdate has two tasks increment a counter with Load then Store (or
// with Add) and checks the final value.
//
// It is not inlined, so that the closures' names, which traces show, do
// not depend on the call site.
//
//go:noinline
func lostUpdate(useAdd bool) (func(*ksync.Task), func() error) {
	var n ksync.Int64
	var wg ksync.Completion
	var left ksync.Int32
	main := func(t *ksync.Task) {
		left.Init(2)
		inc := func(t *ksync.Task) {
			if useAdd {
				n.Add(t, 1)
			} else {
				v := n.Load(t)
				n.Store(t, v+1)
			}
			if left.Add(t, -1) == 0 {
				wg.Complete(t)
			}
		}
		ksync.Spawn(t, "a", 0, inc)
		ksync.Spawn(t, "b", 1, inc)
		wg.Wait(t)
	}
	check := func() error {
		if v := n.Load(ksync.NewTask("check", 0)); v != 2 {
			return fmt.Errorf("lost update: counter is %d", v)
		}
		return nil
	}
	return main, check
}

func TestLostUpdateFound(t *testing.T) {
	for _, name := range strategyNames {
		t.Run(name, func(t *testing.T) {
			found := -1
			for seed := int64(1); seed <= 50 && found < 0; seed++ {
				main, check := lostUpdate(false)
				r := sched.Run(strategies(seed)[name](), sched.Options{Check: check}, main)
				if r.Failure != nil {
					if r.Failure.Kind != sched.CheckFailed {
						t.Fatalf("seed %d: unexpected failure %v", seed, r.Failure)
					}
					found = int(seed)
				}
			}
			if found < 0 {
				t.Fatal("lost update not found in 50 seeds")
			}
			t.Logf("found with seed %d", found)
			for seed := int64(1); seed <= 50; seed++ {
				main, check := lostUpdate(true)
				if r := sched.Run(strategies(seed)[name](), sched.Options{Check: check}, main); r.Failure != nil {
					t.Fatalf("seed %d with Add: %v", seed, r.Failure)
				}
			}
		})
	}
}

func TestLostUpdateDFS(t *testing.T) {
	e := sched.DFS(1)
	var fail *sched.Result
	for {
		s, ok := e.Next()
		if !ok {
			break
		}
		main, check := lostUpdate(false)
		r := sched.Run(s, sched.Options{Check: check, Record: true}, main)
		if r.Failure != nil {
			fail = &r
			break
		}
	}
	if fail == nil {
		t.Fatalf("DFS did not find the lost update in %d runs", e.Runs())
	}
	t.Logf("DFS found it on run %d", e.Runs())

	// Replaying the choices reproduces the identical trace.
	main, check := lostUpdate(false)
	r := sched.Run(sched.Replay(fail.Choices), sched.Options{Check: check, Record: true}, main)
	if r.Failure == nil || r.Failure.Kind != sched.CheckFailed {
		t.Fatalf("replay did not fail: %v", r.Failure)
	}
	if a, b := formatted(t, *fail), formatted(t, r); a != b {
		t.Fatalf("replay differs:\n%s\n---\n%s", a, b)
	}

	// With Add, DFS exhausts the space without a failure.
	e = sched.DFS(2)
	for {
		s, ok := e.Next()
		if !ok {
			break
		}
		main, check := lostUpdate(true)
		if r := sched.Run(s, sched.Options{Check: check}, main); r.Failure != nil {
			t.Fatalf("run %d with Add: %v", e.Runs(), r.Failure)
		}
	}
	if e.Runs() < 2 {
		t.Fatalf("DFS explored only %d schedules", e.Runs())
	}
}

// TestDFSCountsSchedules checks the exploration is exhaustive on a tiny
// program: two tasks of two stores each, no preemption bound to speak of,
// must see all 6 interleavings of the stores.
func TestDFSCountsSchedules(t *testing.T) {
	seen := map[string]bool{}
	e := sched.DFS(10)
	for {
		s, ok := e.Next()
		if !ok {
			break
		}
		var log []string
		var x ksync.Int32
		sched.Run(s, sched.Options{}, func(t *ksync.Task) {
			var done ksync.Completion
			ksync.Spawn(t, "b", 1, func(t *ksync.Task) {
				x.Store(t, 1)
				log = append(log, "b1")
				x.Store(t, 2)
				log = append(log, "b2")
				done.Complete(t)
			})
			x.Store(t, 3)
			log = append(log, "a1")
			x.Store(t, 4)
			log = append(log, "a2")
			done.Wait(t)
		})
		seen[strings.Join(log, ",")] = true
	}
	// The log entry follows each store with no point in between, so the
	// orders of log entries are the interleavings of a1<a2 and b1<b2.
	if len(seen) != 6 {
		t.Fatalf("saw %d interleavings, want 6: %v", len(seen), seen)
	}
}

// lockAcrossWait deadlocks on the schedules where main takes the mutex
// first: it waits for a completion, holding the mutex that the task who
// would complete it needs. (Two mutexes taken in opposite orders would
// deadlock too, but a checked build panics on the inverted order before
// it can: see ksync's lock ranks.)
func lockAcrossWait(t *ksync.Task) {
	var a ksync.Mutex
	a.Init(ksync.RankTestLeaf)
	var done ksync.Completion
	ksync.Spawn(t, "b", 1, func(t *ksync.Task) {
		a.Lock(t)
		done.Complete(t)
		a.Unlock(t)
	})
	a.Lock(t)
	done.Wait(t)
	a.Unlock(t)
}

func TestDeadlockFound(t *testing.T) {
	before := runtime.NumGoroutine()
	check := func(t *testing.T, r sched.Result, runs int) {
		if r.Failure == nil || r.Failure.Kind != sched.Deadlock {
			t.Fatalf("no deadlock after %d runs: %v", runs, r.Failure)
		}
		if len(r.Failure.Blocked) != 2 {
			t.Fatalf("deadlock report names %d sleepers: %v", len(r.Failure.Blocked), r.Failure)
		}
		if !strings.Contains(r.Failure.Message, "Mutex") {
			t.Fatalf("deadlock report does not name the mutexes: %v", r.Failure)
		}
		t.Logf("after %d runs: %v", runs, r.Failure)
	}
	t.Run("dfs", func(t *testing.T) {
		e := sched.DFS(1)
		for {
			s, ok := e.Next()
			if !ok {
				t.Fatalf("DFS exhausted after %d runs without a deadlock", e.Runs())
			}
			if r := sched.Run(s, sched.Options{Record: true}, lockAcrossWait); r.Failure != nil {
				check(t, r, e.Runs())
				return
			}
		}
	})
	t.Run("random", func(t *testing.T) {
		for seed := int64(1); seed <= 100; seed++ {
			if r := sched.Run(sched.Random(seed), sched.Options{}, lockAcrossWait); r.Failure != nil {
				check(t, r, int(seed))
				return
			}
		}
		t.Fatal("random found no deadlock in 100 runs")
	})
	waitGoroutines(t, before)
}

// waitGoroutines fails if goroutines outlive the runs. Run waits until
// each of its goroutines has run its last statement; the runtime may
// count one for a moment longer, so allow a short grace period.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines leaked: %d before, %d after\n%s", before, after, buf)
	}
}

func TestPanicReported(t *testing.T) {
	before := runtime.NumGoroutine()
	var mu ksync.Mutex
	mu.Init(ksync.RankTestLeaf)
	r := sched.Run(sched.Random(7), sched.Options{Record: true}, func(t *ksync.Task) {
		for i := 0; i < 3; i++ {
			ksync.Spawn(t, "worker", i, func(t *ksync.Task) {
				mu.Lock(t)
				defer mu.Unlock(t) // runs during the abort too
				ksync.ScheduleTimeout(t, time.Second)
			})
		}
		var x ksync.Int32
		x.Store(t, 1)
		explode(x.Load(t))
	})
	if r.Failure == nil || r.Failure.Kind != sched.Panic {
		t.Fatalf("want a panic failure, got %v", r.Failure)
	}
	if r.Failure.Task != 0 || r.Failure.Value != "boom 1" {
		t.Fatalf("wrong panic report: task %d value %v", r.Failure.Task, r.Failure.Value)
	}
	if !strings.Contains(r.Failure.Stack, "sched_test.explode") {
		t.Fatalf("stack does not show the panicking function:\n%s", r.Failure.Stack)
	}
	waitGoroutines(t, before)
}

func explode(v int32) { panic("boom " + string(rune('0'+v))) }

func TestLivelock(t *testing.T) {
	before := runtime.NumGoroutine()
	var stop ksync.Bool
	r := sched.Run(sched.Random(1), sched.Options{MaxSteps: 1000}, func(t *ksync.Task) {
		ksync.Spawn(t, "spinner", 1, func(t *ksync.Task) {
			for !stop.Load(t) {
				ksync.CondResched(t)
			}
		})
		for !stop.Load(t) {
			ksync.CondResched(t)
		}
	})
	if r.Failure == nil || r.Failure.Kind != sched.Livelock || r.Steps != 1001 {
		t.Fatalf("want a livelock at 1000 steps, got %v after %d", r.Failure, r.Steps)
	}
	waitGoroutines(t, before)
}

func TestScheduleTimeoutVirtualTime(t *testing.T) {
	start := time.Now()
	var woke time.Duration
	r := sched.Run(sched.Random(3), sched.Options{Record: true}, func(t *ksync.Task) {
		ksync.ScheduleTimeout(t, time.Hour)
		woke = ksync.Now(t)
	})
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if woke < time.Hour || r.VirtualTime < time.Hour {
		t.Fatalf("virtual clock at %v after sleeping an hour", woke)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the sleep took real time")
	}
	if !strings.Contains(formatted(t, r), "timed out") {
		t.Fatalf("trace does not show the timeout:\n%s", formatted(t, r))
	}
}

// TestWaitTimeoutWhileOthersSpin: a timeout fires from the per-step
// quantum even when other tasks keep running.
func TestWaitTimeoutWhileOthersSpin(t *testing.T) {
	var stop ksync.Bool
	var wq ksync.WaitQueue
	var got ksync.Bool
	r := sched.Run(sched.Random(5), sched.Options{MaxSteps: 100000}, func(t *ksync.Task) {
		ksync.Spawn(t, "spinner", 1, func(t *ksync.Task) {
			for !stop.Load(t) {
				ksync.CondResched(t)
			}
		})
		ok := wq.WaitTimeout(t, func() bool { return got.Load(t) }, 100*time.Microsecond)
		if ok {
			panic("WaitTimeout reported the condition without a wake")
		}
		stop.Store(t, true)
	})
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if r.VirtualTime < 100*time.Microsecond {
		t.Fatalf("virtual time %v", r.VirtualTime)
	}
}

// traced is a small program with notes, spawns, sleeps and wakes.
func traced(t *ksync.Task) {
	var mu ksync.Mutex
	mu.Init(ksync.RankTestLeaf)
	var n ksync.Int64
	var done ksync.Completion
	var left ksync.Int32
	left.Init(3)
	for i := 0; i < 3; i++ {
		ksync.Spawn(t, "w", i, func(t *ksync.Task) {
			for j := 0; j < 3; j++ {
				mu.Lock(t)
				v := n.Load(t)
				if t.Traced() {
					ksync.Note(t, "n was %d", v)
				}
				n.Store(t, v+1)
				mu.Unlock(t)
			}
			if left.Add(t, -1) == 0 {
				done.Complete(t)
			}
		})
	}
	done.Wait(t)
	if n.Load(t) != 9 {
		panic("mutex let an update through")
	}
}

func formatted(t *testing.T, r sched.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := sched.FormatColumns(r, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDeterministicTrace(t *testing.T) {
	for _, name := range strategyNames {
		t.Run(name, func(t *testing.T) {
			var outs []string
			var choices [][]int
			for _, procs := range []int{1, 4, 4} {
				old := runtime.GOMAXPROCS(procs)
				r := sched.Run(strategies(42)[name](), sched.Options{Record: true}, traced)
				runtime.GOMAXPROCS(old)
				if r.Failure != nil {
					t.Fatal(r.Failure)
				}
				outs = append(outs, formatted(t, r))
				choices = append(choices, r.Choices)
			}
			for i := 1; i < len(outs); i++ {
				if outs[i] != outs[0] {
					t.Fatalf("run %d differs:\n%s\n---\n%s", i, outs[0], outs[i])
				}
			}
			r := sched.Run(sched.Replay(choices[0]), sched.Options{Record: true}, traced)
			if got := formatted(t, r); got != outs[0] {
				t.Fatalf("replay differs:\n%s\n---\n%s", outs[0], got)
			}
			for _, want := range []string{"» n was", "lock Mutex#", "sched_test.traced", "spawn w[1]", "exit"} {
				if !strings.Contains(outs[0], want) {
					t.Fatalf("trace lacks %q:\n%s", want, outs[0])
				}
			}
		})
	}
}

func TestWriteHTML(t *testing.T) {
	r := sched.Run(sched.Random(1), sched.Options{Record: true}, lockAcrossWait)
	for seed := int64(2); r.Failure == nil; seed++ {
		r = sched.Run(sched.Random(seed), sched.Options{Record: true}, lockAcrossWait)
	}
	var b bytes.Buffer
	if err := sched.WriteHTML(r, &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"<!DOCTYPE html>", "<th>main[0]</th>", "<th>b[1]</th>", "deadlock", "sched_test.lockAcrossWait"} {
		if !strings.Contains(out, want) {
			t.Fatalf("HTML lacks %q", want)
		}
	}
	if strings.Contains(out, "http") || strings.Contains(out, "src=") {
		t.Fatal("HTML refers to external assets")
	}
}

func TestNamer(t *testing.T) {
	var mu ksync.Mutex
	mu.Init(ksync.RankTestLeaf)
	r := sched.Run(sched.Random(1), sched.Options{Record: true, Namer: func(obj any) string {
		if obj == &mu {
			return "si->lock"
		}
		return ""
	}}, func(t *ksync.Task) {
		mu.Lock(t)
		mu.Unlock(t)
	})
	if out := formatted(t, r); !strings.Contains(out, "lock si->lock\n") && !strings.Contains(out, "lock si->lock ") {
		t.Fatalf("namer not used:\n%s", out)
	}
}

func TestPCTPriorities(t *testing.T) {
	// With depth 1 (no change points) PCT never preempts a running task
	// that does not block: each task's stores come in one run.
	for seed := int64(1); seed <= 20; seed++ {
		var log []int
		r := sched.Run(sched.PCT(seed, 1, 1000), sched.Options{}, func(t *ksync.Task) {
			var x ksync.Int32
			var done ksync.Completion
			ksync.Spawn(t, "b", 1, func(t *ksync.Task) {
				for i := 0; i < 5; i++ {
					x.Store(t, 1)
					log = append(log, 1)
				}
				done.Complete(t)
			})
			for i := 0; i < 5; i++ {
				x.Store(t, 0)
				log = append(log, 0)
			}
			done.Wait(t)
		})
		if r.Failure != nil {
			t.Fatal(r.Failure)
		}
		switches := 0
		for i := 1; i < len(log); i++ {
			if log[i] != log[i-1] {
				switches++
			}
		}
		if switches > 1 {
			t.Fatalf("seed %d: PCT depth 1 switched %d times: %v", seed, switches, log)
		}
	}
}

func BenchmarkPoints(b *testing.B) {
	for _, record := range []bool{false, true} {
		name := "norecord"
		if record {
			name = "record"
		}
		b.Run(name, func(b *testing.B) {
			const per = 10000
			var x ksync.Int64
			points := 0
			b.ResetTimer()
			for i := 0; i < b.N; i += 2 * per {
				r := sched.Run(sched.Random(int64(i)), sched.Options{Record: record}, func(t *ksync.Task) {
					var done ksync.Completion
					ksync.Spawn(t, "b", 1, func(t *ksync.Task) {
						for j := 0; j < per; j++ {
							x.Add(t, 1)
						}
						done.Complete(t)
					})
					for j := 0; j < per; j++ {
						x.Add(t, 1)
					}
					done.Wait(t)
				})
				points += r.Steps
			}
			b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// TestNamerLate: an object the Namer could not name at its first
// appearance is named, in every event, once the Namer knows it.
func TestNamerLate(t *testing.T) {
	var mu ksync.Mutex
	mu.Init(ksync.RankTestLeaf)
	known := false
	r := sched.Run(sched.Random(1), sched.Options{Record: true, Namer: func(obj any) string {
		if obj == &mu && known {
			return "ptl"
		}
		return ""
	}}, func(t *ksync.Task) {
		mu.Lock(t)
		mu.Unlock(t)
		known = true
		mu.Lock(t)
		mu.Unlock(t)
	})
	// The name learned later applies to the whole trace.
	out := formatted(t, r)
	if strings.Contains(out, "Mutex#1") || strings.Count(out, "lock ptl ") != 4 {
		t.Fatalf("late name not used throughout:\n%s", out)
	}
}

// TestWalk: the sticky walk is deterministic for a seed, keeps the
// current task about as often as asked, and with stay 0 switches as
// often as the uniform walk.
func TestWalk(t *testing.T) {
	runnable := []int{0, 1, 2, 3}
	for _, stay := range []float64{0, 0.9} {
		a, b := sched.Walk(5, stay), sched.Walk(5, stay)
		kept := 0
		const n = 10000
		cur := 0
		for i := range n {
			d := sched.Decision{Index: i, Current: cur, Runnable: runnable}
			x := a.Pick(&d)
			if y := b.Pick(&d); x != y {
				t.Fatalf("stay %v: decision %d differs: %d vs %d", stay, i, x, y)
			}
			if x == cur {
				kept++
			}
			cur = x
		}
		want := stay + (1-stay)/4
		if got := float64(kept) / n; got < want-0.03 || got > want+0.03 {
			t.Errorf("stay %v: kept the current task %.3f of the time, want about %.3f", stay, got, want)
		}
	}
	// A current task that cannot go on is never picked.
	w := sched.Walk(1, 1)
	if got := w.Pick(&sched.Decision{Current: 2, Runnable: []int{0, 1}}); got == 2 {
		t.Fatal("picked a task that is not runnable")
	}
}

// TestAfterPrefix checks Options.After: a set-up run on task 0 alone,
// then a run that starts where it left the scheduler and only spawns the
// racing tasks, makes the same decisions, at the same steps, as one run
// that does both, and ends at the same step and virtual time, for PCT and
// a walk.
func TestAfterPrefix(t *testing.T) {
	var x ksync.Int64
	setup := func(t *ksync.Task) {
		for i := range 7 {
			x.Store(t, int64(i))
		}
		ksync.ScheduleTimeout(t, 3*time.Millisecond) // a sleep: points, not steps
		x.Store(t, 0)
	}
	race := func(t *ksync.Task) {
		inc := func(t *ksync.Task) {
			for range 3 {
				v := x.Load(t)
				x.Store(t, v+1)
			}
		}
		ksync.Spawn(t, "a", 0, inc)
		ksync.Spawn(t, "b", 1, inc)
	}
	pre := sched.Run(sched.Replay(nil), sched.Options{}, setup)
	p, ok := pre.Prefix()
	if !ok || p.Steps != 9 || p.MainPoints != 10 || p.Now != 3*time.Millisecond+9*sched.Quantum {
		t.Fatalf("prefix %+v, %v", p, ok)
	}
	differs := 0
	for seed := range int64(20) {
		for name, mk := range map[string]func() sched.Strategy{
			"pct":  func() sched.Strategy { return sched.PCT(seed, 3, 20) },
			"walk": func() sched.Strategy { return sched.Walk(seed, 0.5) },
		} {
			whole := sched.Run(mk(), sched.Options{}, func(t *ksync.Task) { setup(t); race(t) })
			after := sched.Run(mk(), sched.Options{After: &p}, race)
			if fmt.Sprint(whole.Choices) != fmt.Sprint(after.Choices) || whole.Steps != after.Steps || whole.VirtualTime != after.VirtualTime {
				t.Fatalf("%s seed %d: whole run %v, %d steps, %v; after the prefix %v, %d steps, %v",
					name, seed, whole.Choices, whole.Steps, whole.VirtualTime, after.Choices, after.Steps, after.VirtualTime)
			}
			if alone := sched.Run(mk(), sched.Options{}, race); alone.Steps != whole.Steps || alone.VirtualTime != whole.VirtualTime {
				differs++
			}
		}
	}
	if differs == 0 {
		t.Error("the racing tasks alone, without the prefix, end at the whole run's step and time: the test shows nothing")
	}
	// A run with more than task 0, or with decisions, is no prefix.
	if _, ok := sched.Run(sched.Random(1), sched.Options{}, race).Prefix(); ok {
		t.Error("a run with spawned tasks gave a prefix")
	}
}
