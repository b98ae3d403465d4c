package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Interrupts, the same for every command: the first SIGINT or SIGTERM
// cancels the command's context, and the command stops at a clean point,
// prints the summary of what ran marked as interrupted, and exits 130. A
// second one runs the clean-ups registered with onForcedStop (what must
// be undone on the host: the kernel engine's zram device, cgroup and
// settings; temporary swap files) and exits 130 at once.
type interrupts struct {
	mu     sync.Mutex
	next   int
	forced map[int]func() // guarded by mu
}

type interruptsKey struct{}

// withInterrupts watches SIGINT and SIGTERM for the command run with the
// returned context, telling w what it does; stop ends the watch.
func withInterrupts(parent context.Context, w io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	in := &interrupts{forced: map[int]func(){}}
	ctx = context.WithValue(ctx, interruptsKey{}, in)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			fmt.Fprintf(w, "\nuswap: %v: stopping at a clean point (again to stop at once)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sig:
			fmt.Fprintf(w, "\nuswap: %v again: undoing what was set up on the host, then stopping\n", s)
			in.runForced()
			fmt.Fprintln(w, "uswap: interrupted")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}

// onForcedStop registers fn to run if a second signal ends the command
// at once; remove unregisters it. Without withInterrupts (tests) it does
// nothing.
func onForcedStop(ctx context.Context, fn func()) (remove func()) {
	in, ok := ctx.Value(interruptsKey{}).(*interrupts)
	if !ok {
		return func() {}
	}
	in.mu.Lock()
	id := in.next
	in.next++
	in.forced[id] = fn
	in.mu.Unlock()
	return func() {
		in.mu.Lock()
		delete(in.forced, id)
		in.mu.Unlock()
	}
}

// runForced runs the registered clean-ups, the latest first.
func (in *interrupts) runForced() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for id := in.next - 1; id >= 0; id-- {
		if fn, ok := in.forced[id]; ok {
			fn()
		}
	}
}

// interrupted is errInterrupted when ctx was cancelled by a signal.
func interrupted(ctx context.Context) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}
