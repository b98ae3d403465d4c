package ksync

import (
	"sync"
	"testing"
	"time"
)

// hammer runs fn on n goroutines, each with its own task and CPU, and
// waits for them.
func hammer(n int, fn func(t *Task, i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(NewTask("hammer", i), i)
		}()
	}
	wg.Wait()
}

const (
	hammerTasks = 8
	hammerIters = 2000
)

// TestMutualExclusion checks, for every lock, that a plain (non-atomic)
// read-modify-write under the lock loses nothing and that no two holders
// overlap. The race detector also checks the plain counter.
func TestMutualExclusion(t *testing.T) {
	for _, k := range lockKinds() {
		if k.name == "RWSem read" {
			continue // readers share it: see TestRWSemReaders
		}
		c := k.make(RankTestLeaf)
		t.Run(k.name, func(t *testing.T) {
			var counter int // guarded by the lock under test
			var inside Int32
			hammer(hammerTasks, func(task *Task, i int) {
				for j := 0; j < hammerIters; j++ {
					if j%3 == 0 {
						for !c.trylock(task) {
							CondResched(task)
						}
					} else {
						c.lock(task)
					}
					if inside.Add(task, 1) != 1 {
						panic("two holders at once")
					}
					counter++
					inside.Add(task, -1)
					c.unlock(task)
				}
			})
			if counter != hammerTasks*hammerIters {
				t.Fatalf("counter %d, want %d", counter, hammerTasks*hammerIters)
			}
		})
	}
}

// TestRWSemReaders checks that readers share the semaphore and exclude
// writers.
func TestRWSemReaders(t *testing.T) {
	var rw RWSem
	rw.Init(RankTestLeaf)
	var readers, writers Int32
	var maxReaders Int32
	hammer(hammerTasks, func(task *Task, i int) {
		for j := 0; j < hammerIters; j++ {
			if i == 0 && j%10 == 0 {
				rw.Lock(task)
				if writers.Add(task, 1) != 1 || readers.Load(task) != 0 {
					panic("writer not alone")
				}
				writers.Add(task, -1)
				rw.Unlock(task)
				continue
			}
			rw.RLock(task)
			n := readers.Add(task, 1)
			if writers.Load(task) != 0 {
				panic("reader with a writer")
			}
			for m := maxReaders.Load(task); n > m && !maxReaders.CompareAndSwap(task, m, n); m = maxReaders.Load(task) {
			}
			readers.Add(task, -1)
			rw.RUnlock(task)
		}
	})
	task := NewTask("check", 0)
	if !rw.TryRLock(task) || !rw.TryRLock(task) {
		t.Fatal("two TryRLock of a free rwsem failed")
	}
	if rw.TryLock(task) {
		t.Fatal("TryLock succeeded under readers")
	}
	rw.RUnlock(task)
	rw.RUnlock(task)
	t.Logf("max concurrent readers %d", maxReaders.Load(task))
}

func TestWaitQueueWakes(t *testing.T) {
	var wq WaitQueue
	var ready Bool
	var woke Int32
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := NewTask("waiter", i)
			wq.Wait(task, func() bool { return ready.Load(task) })
			woke.Add(task, 1)
		}()
	}
	task := NewTask("waker", 0)
	for !wq.Active(task) { // at least one sleeps: the wake is needed
		time.Sleep(time.Millisecond)
	}
	ready.Store(task, true)
	wq.WakeAll(task)
	wg.Wait()
	if woke.Load(task) != 4 {
		t.Fatalf("%d waiters woke", woke.Load(task))
	}
	if wq.Active(task) {
		t.Fatal("queue still active after every waiter left")
	}
}

func TestWaitTimeout(t *testing.T) {
	var wq WaitQueue
	task := NewTask("waiter", 0)
	start := time.Now()
	if wq.WaitTimeout(task, func() bool { return false }, 20*time.Millisecond) {
		t.Fatal("WaitTimeout reported a false condition")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("WaitTimeout returned after %v", d)
	}
	if wq.Active(task) {
		t.Fatal("timed-out waiter left on the queue")
	}
	// A wake that makes the condition true ends the wait early.
	var ready Bool
	go func() {
		t := NewTask("waker", 1)
		time.Sleep(5 * time.Millisecond)
		ready.Store(t, true)
		wq.WakeAll(t)
	}()
	if !wq.WaitTimeout(task, func() bool { return ready.Load(task) }, time.Minute) {
		t.Fatal("WaitTimeout missed the wake")
	}
}

func TestCompletion(t *testing.T) {
	var c Completion
	var got Int64
	task := NewTask("main", 0)
	go func() {
		t := NewTask("worker", 1)
		got.Store(t, 42)
		c.Complete(t)
	}()
	c.Wait(task)
	if got.Load(task) != 42 || !c.Done(task) {
		t.Fatal("Wait returned before Complete")
	}
	c.Wait(task) // complete_all: later waits return at once
	c.Reinit()
	if c.Done(task) {
		t.Fatal("Reinit left the completion done")
	}
}

func TestLiveRef(t *testing.T) {
	var ref LiveRef
	var held sync.WaitGroup
	release := make(chan struct{})
	// Take references on several CPUs and drop them on others.
	const n = 8
	tasks := make(chan *Task, n)
	for i := 0; i < n; i++ {
		task := NewTask("get", i)
		if !ref.TryGetLive(task) {
			t.Fatal("TryGetLive failed on a live ref")
		}
		tasks <- task
	}
	if ref.Count() != n {
		t.Fatalf("count %d, want %d", ref.Count(), n)
	}
	for i := 0; i < n; i++ {
		held.Add(1)
		go func() {
			defer held.Done()
			<-release
			ref.Put(NewTask("put", i+3)) // another CPU than the get
		}()
	}
	killer := NewTask("swapoff", 0)
	ref.Kill(killer)
	if !ref.Dead(killer) {
		t.Fatal("Dead is false after Kill")
	}
	if ref.TryGetLive(NewTask("late", 5)) {
		t.Fatal("TryGetLive succeeded after Kill")
	}
	done := make(chan struct{})
	go func() {
		ref.WaitForZero(killer)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("WaitForZero returned with references held")
	case <-time.After(10 * time.Millisecond):
	}
	close(release)
	held.Wait()
	<-done
	if ref.Count() != 0 {
		t.Fatalf("count %d after WaitForZero", ref.Count())
	}
	ref.Resurrect(killer)
	if ref.Dead(killer) || !ref.TryGetLive(killer) {
		t.Fatal("Resurrect did not make the ref live")
	}
	ref.Put(killer)
}

// TestLiveRefRace has getters race with Kill: WaitForZero must not return
// while a getter that succeeded still holds its reference.
func TestLiveRefRace(t *testing.T) {
	for round := 0; round < 50; round++ {
		var ref LiveRef
		var inUse Int32
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				task := NewTask("user", i)
				for j := 0; j < 200; j++ {
					if !ref.TryGetLive(task) {
						return
					}
					inUse.Add(task, 1)
					inUse.Add(task, -1)
					ref.Put(NewTask("user", i+1))
				}
			}()
		}
		killer := NewTask("swapoff", 0)
		ref.Kill(killer)
		ref.WaitForZero(killer)
		if inUse.Load(killer) != 0 {
			t.Fatal("WaitForZero returned while a reference was in use")
		}
		wg.Wait()
	}
}

func TestStat(t *testing.T) {
	var s Stat
	hammer(4, func(task *Task, i int) {
		for j := 0; j < 100; j++ {
			s.Inc(task)
			s.Add(task, 2)
			s.Sub(task, 1)
		}
	})
	if s.Sum() != 4*100*2 {
		t.Fatalf("sum %d", s.Sum())
	}
	s.Reset()
	if s.Sum() != 0 {
		t.Fatal("Reset left a count")
	}
}

func TestOrdinarySpawnAndSleep(t *testing.T) {
	var c Completion
	parent := NewTask("parent", 0)
	child := Spawn(parent, "child", 1, func(t *Task) {
		ScheduleTimeout(t, time.Millisecond)
		c.Complete(t)
	})
	if child.Controlled() || child.Name() != "child" || child.ID() == parent.ID() {
		t.Fatalf("bad child %v", child)
	}
	c.Wait(parent)
	if Now(parent) <= 0 {
		t.Fatal("Now does not advance")
	}
}
