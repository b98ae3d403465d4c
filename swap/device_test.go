package swap

import (
	"errors"
	"testing"

	"uswap/fixes"
)

// TestSectionsAfterSwapoff: with the -V5a/-V5b variants the accesses the
// patch put in a get_swap_device() section find a swapped-off device
// invalid and answer "nothing there" instead of touching the freed maps;
// no section is left open, and no reference is taken.
func TestSectionsAfterSwapoff(t *testing.T) {
	for _, v := range []fixes.Variant{fixes.SwapDeviceStopMachine, fixes.SwapDeviceRCUSched} {
		t.Run(fixes.SwapDevice.VariantName(v), func(t *testing.T) {
			r := newRig(t, 8)
			r.c = NewCore(Config{Fixes: fixes.Default().With(fixes.SwapDevice, v)})
			si := r.swapon("zram0", 64, SwaponOptions{})
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
}
