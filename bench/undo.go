package bench

import (
	"errors"
	"fmt"
	"sync"
)

// Undo is the list of changes a run made to the host (a zram device
// added, a swap area swapped on, a cgroup made, vm.page-cluster set, a
// swap file made, a child process started), each with the step that
// takes it back. Steps run once, last first, from whichever goroutine
// gets there first: the run's own deferred clean-up on every ordinary way
// out (success, error, panic, a stop at a clean point), or a caller that
// must leave at once (a second Ctrl-C) calling Run from another
// goroutine while the run is still going.
//
// A change is made by Change, under the same lock as Run: a Run that
// comes while a change is being made waits for it and then undoes it
// too, so that no change slips in between Run and the process's exit;
// after Run, Change makes no more changes.
type Undo struct {
	mu     sync.Mutex
	steps  []*UndoStep // guarded by mu
	undone bool        // guarded by mu: Run has run
}

// UndoStep is one change's undoing.
type UndoStep struct {
	u    *Undo
	what string
	fn   func() error
	done bool // guarded by u.mu
}

// ErrUndone is Change's error once Run has undone everything: the run is
// being abandoned.
var ErrUndone = errors.New("the run's changes to the host were undone; it is stopping")

// Change makes a change to the host with change and, if it succeeds,
// records undo to take it back; what names it in errors.
func (u *Undo) Change(what string, change, undo func() error) (*UndoStep, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.undone {
		return nil, fmt.Errorf("%s: %w", what, ErrUndone)
	}
	if err := change(); err != nil {
		return nil, err
	}
	s := &UndoStep{u: u, what: what, fn: undo}
	u.steps = append(u.steps, s)
	return s, nil
}

// Do undoes the change now, unless that was done already.
func (s *UndoStep) Do() error {
	s.u.mu.Lock()
	defer s.u.mu.Unlock()
	return s.doLocked()
}

// Dismiss forgets the step without running it: the change went away by
// itself (the child process exited).
func (s *UndoStep) Dismiss() {
	s.u.mu.Lock()
	s.done = true
	s.u.mu.Unlock()
}

func (s *UndoStep) doLocked() error {
	if s.done {
		return nil
	}
	s.done = true
	if err := s.fn(); err != nil {
		return fmt.Errorf("undoing %s: %w", s.what, err)
	}
	return nil
}

// Run undoes every change not undone yet, the latest first, and returns
// what failed (a step that fails is not retried). Later Changes fail.
func (u *Undo) Run() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		errs = append(errs, u.steps[i].doLocked())
	}
	u.steps = nil
	u.undone = true
	return errors.Join(errs...)
}
