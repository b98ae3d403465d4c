//go:build invariants

package ksync

import (
	"strings"
	"testing"
	"time"
)

// mustPanic runs fn and returns the panic message, failing if there is
// none.
func mustPanic(t *testing.T, what string, fn func()) string {
	t.Helper()
	var msg any
	func() {
		defer func() { msg = recover() }()
		fn()
	}()
	if msg == nil {
		t.Fatalf("%s did not panic", what)
	}
	s, _ := msg.(string)
	return s
}

// TestSleepUnderSpinLock: with -tags invariants, sleeping while holding a
// spinlock is caught, in ordinary and controlled runs alike.
func TestSleepUnderSpinLock(t *testing.T) {
	sleeps := []struct {
		name  string
		sleep func(t *Task)
	}{
		{"Mutex.Lock", func(t *Task) { var m Mutex; m.Init(RankTestLeaf); m.Lock(t) }},
		{"RWSem.Lock", func(t *Task) { var s RWSem; s.Init(RankTestLeaf); s.Lock(t) }},
		{"RWSem.RLock", func(t *Task) { var s RWSem; s.Init(RankTestLeaf); s.RLock(t) }},
		{"ScheduleTimeout", func(t *Task) { ScheduleTimeout(t, time.Millisecond) }},
		{"CondResched", CondResched},
		{"LockBit", func(t *Task) { var f Flags; f.InitRank(RankTestLeaf); f.LockBit(t, 0) }},
		{"WaitOnBit", func(t *Task) { var f Flags; f.WaitOnBit(t, 0) }},
		{"WaitQueue.Wait", func(t *Task) { var w WaitQueue; w.Wait(t, func() bool { return true }) }},
	}
	tasks := map[string]func() *Task{
		"ordinary":   func() *Task { return NewTask("t", 0) },
		"controlled": func() *Task { return NewControlledTask(0, "t", 0, &recorder{}) },
	}
	for _, kind := range []string{"ordinary", "controlled"} {
		for _, c := range sleeps {
			task := tasks[kind]()
			var sp SpinLock
			sp.Init(RankTestOuter)
			sp.Lock(task)
			msg := mustPanic(t, kind+" "+c.name, func() { c.sleep(task) })
			if !strings.Contains(msg, "spinlock") {
				t.Errorf("%s %s: panic %q does not mention the spinlock", kind, c.name, msg)
			}
			sp.Unlock(task)
			c.sleep(task) // without the spinlock it is fine
		}
	}
}

// TestSleepInSection: with -tags invariants, sleeping inside a
// preempt-disabled or RCU-sched read-side section is caught like
// sleeping under a spinlock, and so is leaving a section never entered.
func TestSleepInSection(t *testing.T) {
	var p Preemption
	var r RCUSched
	p.Init()
	r.Init()
	for _, kind := range []string{"ordinary", "controlled"} {
		task := NewTask("t", 0)
		if kind == "controlled" {
			task = NewControlledTask(0, "t", 0, &recorder{})
		}
		p.Disable(task)
		msg := mustPanic(t, kind+" sleep under preempt_disable", func() { ScheduleTimeout(task, time.Millisecond) })
		if !strings.Contains(msg, "preempt-disabled") {
			t.Errorf("%s: panic %q does not name the section", kind, msg)
		}
		mustPanic(t, kind+" cond_resched under preempt_disable", func() { CondResched(task) })
		mustPanic(t, kind+" stop_machine under preempt_disable", func() { p.StopMachine(task, nil) })
		p.Enable(task)
		tok := r.ReadLock(task)
		mustPanic(t, kind+" mutex under rcu_read_lock_sched", func() { var m Mutex; m.Lock(task) })
		mustPanic(t, kind+" synchronize_sched in a read-side section", func() { r.Synchronize(task) })
		r.ReadUnlock(task, tok)
		ScheduleTimeout(task, time.Millisecond) // outside: fine
		mustPanic(t, kind+" preempt_enable without disable", func() { p.Enable(task) })
		task.preempt = 0
		mustPanic(t, kind+" rcu_read_unlock_sched without lock", func() { r.ReadUnlock(task, 0) })
		task.preempt = 0
	}
}
