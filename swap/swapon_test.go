package swap

import (
	"errors"
	"strings"
	"testing"
	"time"

	"uswap/design"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
)

// unuseFunc adapts a function to Unuser.
type unuseFunc func(t *ksync.Task, si *SwapInfo) error

func (f unuseFunc) TryToUnuse(t *ksync.Task, si *SwapInfo) error { return f(t, si) }

// freeAll is an Unuser that drops one reference from each of entries.
func (r *rig) freeAll(entries *[]mem.SwpEntry) Unuser {
	return unuseFunc(func(t *ksync.Task, si *SwapInfo) error {
		for _, e := range *entries {
			r.c.SwapPutEntriesDirect(t, e)
		}
		*entries = nil
		return nil
	})
}

func TestSwaponWithoutHeader(t *testing.T) {
	r := newRig(t, 1)
	dev, err := swapdev.NewRAM("blank", 1024, "lz4")
	if err != nil {
		t.Fatal(err)
	}
	si, err := r.c.Swapon(r.t, dev, SwaponOptions{})
	if si != nil || err == nil {
		t.Fatalf("swapon of a blank device = %v, %v; want an error", si, err)
	}
	if !errors.Is(err, swapdev.ErrBadHeader) || !strings.Contains(err.Error(), "blank") || !strings.Contains(err.Error(), "no swap signature") {
		t.Fatalf("error %q: want ErrBadHeader naming the device and the missing signature", err)
	}
	if r.c.TotalSwapPages(r.t) != 0 || len(r.c.Active(r.t)) != 0 || r.c.SwapInfo(r.t, 0) != nil {
		t.Fatal("a failed swapon left a device behind")
	}
	// The type slot is still free for a good device.
	if good := r.swapon("good", 1024, SwaponOptions{}); good.Type() != 0 || good.Priority(r.t) != -2 {
		t.Fatalf("next swapon got type %d priority %d", good.Type(), good.Priority(r.t))
	}
	r.audit()
}

// checkUsable checks that si is back after a failed swapoff: writable,
// available, with its priority and counts, and allocating.
func (r *rig) checkUsable(si *SwapInfo, prio int, inuse int64) {
	r.tb.Helper()
	if !si.Writable(r.t) || si.Priority(r.t) != prio || si.InusePages(r.t) != inuse {
		r.tb.Fatalf("after a failed swapoff: writable %v priority %d (want %d) inuse %d (want %d)",
			si.Writable(r.t), si.Priority(r.t), prio, si.InusePages(r.t), inuse)
	}
	if n := r.c.NrSwapPages(r.t); n != int64(si.Pages())-inuse {
		r.tb.Fatalf("nr_swap_pages %d, want %d", n, int64(si.Pages())-inuse)
	}
	if n := r.c.TotalSwapPages(r.t); n != int64(si.Pages()) {
		r.tb.Fatalf("total_swap_pages %d, want %d", n, si.Pages())
	}
	if got := r.c.SwapInfo(r.t, si.Type()); got != si {
		r.tb.Fatalf("SwapInfo(%d) = %v", si.Type(), got)
	}
	r.audit()
	e := r.allocSlot(r.t)
	if e.Type() != si.Type() {
		r.tb.Fatalf("allocation after failed swapoff went to %v", e)
	}
	r.free(e)
	r.audit()
}

func TestSwapoffBusy(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		for _, opts := range []SwaponOptions{{}, {Prefer: true, Priority: 10}} {
			r := newRigDesign(t, d, 1)
			si := r.swapon("zram", 2048, opts)
			prio := si.Priority(r.t)
			var entries []mem.SwpEntry
			for range 700 {
				entries = append(entries, r.allocSlot(r.t))
			}
			err := r.c.Swapoff(r.t, si, nil)
			if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "700 slots still in use") {
				t.Fatalf("swapoff with slots in use: %v, want ErrBusy with the count", err)
			}
			r.checkUsable(si, prio, 700)

			// An Unuser that fails: swapoff fails with its error.
			boom := errors.New("unuse: out of memory")
			err = r.c.Swapoff(r.t, si, unuseFunc(func(*ksync.Task, *SwapInfo) error { return boom }))
			if !errors.Is(err, boom) {
				t.Fatalf("swapoff with a failing Unuser: %v", err)
			}
			r.checkUsable(si, prio, 700)

			// An Unuser that frees only some slots: ErrBusy.
			some := entries[:100]
			entries = entries[100:]
			if err := r.c.Swapoff(r.t, si, r.freeAll(&some)); !errors.Is(err, ErrBusy) {
				t.Fatalf("swapoff with a partial Unuser: %v", err)
			}
			r.checkUsable(si, prio, 600)

			for _, e := range entries {
				r.free(e)
			}
			r.audit()
		}
	})
}

func TestSwapoffSucceeds(t *testing.T) {
	forDesigns(t, testSwapoffSucceeds)
}

func testSwapoffSucceeds(t *testing.T, d design.Design) {
	r := newRigDesign(t, d, 16, 2048)
	si := r.devs[0]
	var entries []mem.SwpEntry
	for range 600 {
		entries = append(entries, r.allocSlot(r.t))
	}
	// A slot counted far above SWAP_MAP_MAX has continuation pages (an
	// extend table in the table design), which swapoff frees too.
	for range 3 * SwapMapMax {
		if err := r.c.SwapDupEntryDirect(r.t, entries[0]); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entries[0])
	}
	if si.Footprint(r.t).Overflow == 0 {
		t.Fatal("no overflow table for a count far above the maximum")
	}
	old := entries[0]
	if err := r.c.Swapoff(r.t, si, r.freeAll(&entries)); err != nil {
		t.Fatalf("swapoff: %v", err)
	}
	if got := r.c.GetSwapDevice(r.t, old); got != nil {
		t.Fatalf("GetSwapDevice(%v) after swapoff = %v", old, got)
	}
	if si.swapMap != nil || si.clusters != nil || si.cont != nil || si.Writable(r.t) {
		t.Fatal("swapoff left the maps or SWP_WRITEOK behind")
	}
	if r.c.SwapInfo(r.t, si.Type()) != nil || len(r.c.Active(r.t)) != 0 || r.c.NrSwapPages(r.t) != 0 || r.c.TotalSwapPages(r.t) != 0 {
		t.Fatal("swapped-off device still counted")
	}
	if a := r.availNames(); a != "" {
		t.Fatalf("available list %q", a)
	}
	r.audit()
	// A swapoff of a device already off is busy.
	if err := r.c.Swapoff(r.t, si, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("second swapoff: %v", err)
	}
	// The type slot is reused.
	again := r.swapon("again", 1024, SwaponOptions{})
	if again.Type() != si.Type() || again == si {
		t.Fatalf("swapon after swapoff got type %d (old %d)", again.Type(), si.Type())
	}
	if again.Priority(r.t) != -2 {
		t.Fatalf("priority %d, want -2", again.Priority(r.t))
	}
	e := r.allocSlot(r.t)
	if got := r.c.GetSwapDevice(r.t, e); got != again {
		t.Fatalf("GetSwapDevice(%v) = %v, want the new device", e, got)
	} else {
		r.c.PutSwapDevice(r.t, got)
	}
	r.free(e)
	r.audit()
}

// TestSwapoffWaitsForReference: swapoff returns only after every
// GetSwapDevice reference is put, and a second swapoff meanwhile is busy.
func TestSwapoffWaitsForReference(t *testing.T) {
	forDesigns(t, testSwapoffWaitsForReference)
}

func testSwapoffWaitsForReference(t *testing.T, d design.Design) {
	r := newRigDesign(t, d, 16, 2048)
	si := r.devs[0]
	entries := []mem.SwpEntry{r.allocSlot(r.t), r.allocSlot(r.t)}
	old := entries[0]
	ref := r.c.GetSwapDevice(r.t, old)
	if ref != si {
		t.Fatalf("GetSwapDevice = %v", ref)
	}
	unused := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		t2 := ksync.NewTask("swapoff", 1)
		done <- r.c.Swapoff(t2, si, unuseFunc(func(t *ksync.Task, si *SwapInfo) error {
			err := r.freeAll(&entries).TryToUnuse(t, si)
			close(unused)
			return err
		}))
	}()
	<-unused
	select {
	case err := <-done:
		t.Fatalf("swapoff returned (%v) while a device reference is held", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The device is still readable through the reference we hold.
	if si.clusters == nil {
		t.Fatal("the clusters freed under a device reference")
	}
	if n := si.InusePages(r.t); n != 0 {
		t.Fatalf("inuse %d after unuse", n)
	}
	// New references are refused; a second swapoff is busy.
	if got := r.c.GetSwapDevice(r.t, old); got != nil {
		t.Fatal("GetSwapDevice succeeded on a device being swapped off")
	}
	t3 := ksync.NewTask("swapoff2", 0)
	if err := r.c.Swapoff(t3, si, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("concurrent second swapoff: %v, want ErrBusy", err)
	}
	r.c.PutSwapDevice(r.t, ref)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("swapoff: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("swapoff did not return after PutSwapDevice")
	}
	if si.swapMap != nil || si.clusters != nil || r.c.SwapInfo(r.t, si.Type()) != nil {
		t.Fatal("swapoff did not free the device")
	}
	r.audit()
}
