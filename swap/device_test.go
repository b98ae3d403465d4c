package swap

import (
	"errors"
	"testing"
	"time"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
)

// TestSectionsAfterSwapoff: with the -V5a/-V5b variants the accesses the
// patch put in a get_swap_device() section find a swapped-off device
// invalid and answer "nothing there" instead of touching the freed maps;
// no section is left open, and no reference is taken.
func TestSectionsAfterSwapoff(t *testing.T) {
	forEachSectionVariant(t, func(t *testing.T, r *rig, si *SwapInfo) {
		f, e := r.swapOut()
		if si := r.c.GetSwapDevice(r.t, e); si == nil || si.users.Count() != 0 {
			t.Fatal("GetSwapDevice took a reference (or found nothing)")
		}
		if r.c.SwapCount(r.t, e) != 0 || r.c.SwapCacheGetFolio(r.t, e) != f {
			t.Fatal("the slot is not as swap-out left it")
		}
		f.Put(r.t) // SwapCacheGetFolio's
		f.Lock(r.t)
		r.c.SwapCacheDelFolio(r.t, f)
		f.Unlock(r.t)
		f.Put(r.t)
		if err := r.c.Swapoff(r.t, si, nil); err != nil {
			t.Fatal(err)
		}
		if got := r.c.SwapCount(r.t, e); got != 0 {
			t.Errorf("SwapCount after swapoff: %d", got)
		}
		if err := r.c.SwapcachePrepare(r.t, e); !errors.Is(err, ErrNoEnt) {
			t.Errorf("SwapcachePrepare after swapoff: %v, want ErrNoEnt", err)
		}
		if r.c.SwapCacheGetFolio(r.t, e) != nil {
			t.Error("a swap cache folio after swapoff")
		}
		if r.c.preempt.Open() != 0 || r.c.rcu.Readers() != 0 {
			t.Error("a section left open")
		}
	})
}

// TestGetSwapDeviceBadOffset: get_swap_device() takes si->users and then
// refuses, dropping the reference again, an entry whose offset is past
// the device's end or is its header page (the bad_nofile path): the
// cluster readahead's window and the lockless PTE reads may name them.
func TestGetSwapDeviceBadOffset(t *testing.T) {
	r := newRig(t, 8, 64)
	si := r.devs[0]
	for _, off := range []uint64{0, si.max, si.max + 7} {
		if got := r.c.GetSwapDevice(r.t, mem.SwpEntryOf(si.typ, off)); got != nil {
			t.Errorf("GetSwapDevice(offset %d of a device of %d) = %s, want nil", off, si.max, got.name)
		}
		if n := si.users.Count(); n != 0 {
			t.Fatalf("offset %d: %d references held after a refusal", off, n)
		}
	}
	if got := r.c.GetSwapDevice(r.t, mem.SwpEntryOf(si.typ, si.max-1)); got != si {
		t.Fatalf("GetSwapDevice(the last slot) = %v", got)
	}
	r.c.PutSwapDevice(r.t, si)
	r.audit()
}

// TestSectionsRefusedAfterSwapoffWait: with the -V5a/-V5b variants
// swapoff clears SWP_VALID before it waits for the sections
// (synchronize_rcu() or stop_machine()), so that a section that opens
// after the wait, while swapoff goes on to free swap_map, finds the
// device invalid. An allocation holding si->users (get_swap_device_info)
// keeps swapoff after that wait while the test opens a section.
func TestSectionsRefusedAfterSwapoffWait(t *testing.T) {
	forEachSectionVariant(t, func(t *testing.T, r *rig, si *SwapInfo) {
		entries := []mem.SwpEntry{r.allocSlot(r.t)}
		e := entries[0]
		if !si.users.TryGetLive(r.t) {
			t.Fatal("no allocation reference on a device swapped on")
		}
		done := make(chan error, 1)
		go func() {
			done <- r.c.Swapoff(ksync.NewTask("swapoff", 1), si, r.freeAll(&entries))
		}()
		// Swapoff has killed si->users once a new reference is refused:
		// it is past the wait for the sections.
		deadline := time.Now().Add(10 * time.Second)
		for si.users.TryGetLive(r.t) {
			si.users.Put(r.t)
			if time.Now().After(deadline) {
				t.Fatal("swapoff never killed si->users")
			}
			time.Sleep(time.Millisecond)
		}
		if sec, ok := r.c.enterSectionOf(r.t, si, e); ok {
			r.c.exitSection(r.t, sec)
			t.Error("a section opened after swapoff's wait finds the device valid")
		}
		si.users.Put(r.t)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r.audit()
	})
}

// forEachSectionVariant runs fn on a core of each get_swap_device()
// variant that opens sections (stop-machine, rcu-sched), with one device
// of 64 pages swapped on.
func forEachSectionVariant(t *testing.T, fn func(t *testing.T, r *rig, si *SwapInfo)) {
	for _, v := range []fixes.Variant{fixes.SwapDeviceStopMachine, fixes.SwapDeviceRCUSched} {
		t.Run(fixes.SwapDevice.VariantName(v), func(t *testing.T) {
			r := newRig(t, 8)
			r.c = NewCore(Config{Fixes: fixes.Default().With(fixes.SwapDevice, v)})
			fn(t, r, r.swapon("zram0", 64, SwaponOptions{}))
		})
	}
}
