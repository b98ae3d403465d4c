package bench

import (
	"errors"
	"slices"
	"testing"
)

// TestUndo: steps run once, the latest first, whoever runs them; a Run
// that comes during a change waits for it and undoes it too; after Run
// no change is made.
func TestUndo(t *testing.T) {
	var u Undo
	var log []string
	change := func(name string) *UndoStep {
		s, err := u.Change(name, func() error { log = append(log, "+"+name); return nil }, func() error { log = append(log, "-"+name); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := change("a"), change("b")
	if _, err := u.Change("failed", func() error { return errors.New("no") }, func() error { t.Error("undid a change that failed"); return nil }); err == nil {
		t.Error("a failed change was not reported")
	}
	if err := b.Do(); err != nil {
		t.Fatal(err)
	}
	b.Do()
	c := change("c")
	c.Dismiss()
	// A Run from another goroutine while a change is being made.
	started, release, ran := make(chan bool), make(chan bool), make(chan error)
	go func() {
		u.Change("d", func() error { log = append(log, "+d"); started <- true; <-release; return nil }, func() error { log = append(log, "-d"); return nil })
	}()
	<-started
	go func() { ran <- u.Run() }()
	release <- true
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	a.Do()
	if _, err := u.Change("e", func() error { t.Error("a change after Run"); return nil }, nil); !errors.Is(err, ErrUndone) {
		t.Errorf("change after Run: %v", err)
	}
	if want := []string{"+a", "+b", "-b", "+c", "+d", "-d", "-a"}; !slices.Equal(log, want) {
		t.Errorf("got %v, want %v", log, want)
	}
}
