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
