package uffdsim

import (
	"errors"
	"syscall"
	"testing"

	"uswap/ksync"
	"uswap/uffd"
)

// Poison markers as the kernel keeps them (uffd.TestPoison checks the
// same on the real userfaultfd): SIGBUS on a touch; UFFDIO_POISON only
// over a none pte, cached or not; UFFDIO_COPY and UFFDIO_CONTINUE write
// over a marker; MADV_DONTNEED zaps it, so the page faults again.
func TestPoisonMarkers(t *testing.T) {
	task := ksync.NewTask("test", 0)
	r := New(0x7f0000000000, 4)
	if err := r.Poison(task, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(task, 0); !errors.Is(err, ErrSigbus) {
		t.Fatalf("load of a poisoned page = %v, want SIGBUS", err)
	}
	if err := r.Poison(task, 0); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("poison over a marker = %v, want EEXIST", err)
	}
	if err := r.Copy(task, 1, FillWord(5), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Poison(task, 1); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("poison of a mapped page = %v, want EEXIST", err)
	}

	// MADV_DONTNEED waits for its REMOVE to be read, then zaps the
	// mappings and the marker; the page cache keeps page 1.
	done := make(chan struct{})
	ksync.Spawn(task, "madvise", 1, func(tt *ksync.Task) {
		defer close(done)
		r.Dontneed(tt, 0, 2)
	})
	var msgs [1]uffd.Msg
	if err := r.Wait(task); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Read(task, msgs[:]); n != 1 || msgs[0].Event != uffd.EventRemove {
		t.Fatalf("read %d messages %v, want the REMOVE", n, msgs[0])
	}
	<-done
	if st := r.Peek(0); st.Poisoned || st.Mapped {
		t.Fatalf("page 0 after MADV_DONTNEED: %+v, want no marker", st)
	}
	// Over the none pte of a cached page, the poison is taken.
	if err := r.Poison(task, 1); err != nil {
		t.Fatalf("poison of a cached page that is not mapped: %v", err)
	}
	if err := r.Continue(task, 1, false); err != nil {
		t.Fatalf("UFFDIO_CONTINUE over a marker: %v", err)
	}
	if v, err := r.Load(task, 1); err != nil || v != 5 {
		t.Fatalf("load after UFFDIO_CONTINUE: %d, %v; want 5", v, err)
	}
	// UFFDIO_COPY writes over a marker too.
	if err := r.Poison(task, 2); err != nil {
		t.Fatal(err)
	}
	if err := r.Copy(task, 2, FillWord(7), 0); err != nil {
		t.Fatalf("UFFDIO_COPY over a marker: %v", err)
	}
	if v, err := r.Load(task, 2); err != nil || v != 7 {
		t.Fatalf("load after UFFDIO_COPY: %d, %v; want 7", v, err)
	}
}
