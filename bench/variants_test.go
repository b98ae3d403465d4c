package bench

import (
	"testing"

	"uswap/design"
	"uswap/fixes"
)

// TestShmemBenchCharges: a failed charge costs the patch under review a
// device read each time and every page again later; every other variant
// reads each page once, and keeps it.
func TestShmemBenchCharges(t *testing.T) {
	for _, tc := range []struct {
		variant  string
		perFail  float64
		readBack uint64
	}{
		{"delete-any-error", 1, 32},
		{"keep-cache", 0.5, 0},
		{"lock-in-undo", 0.5, 0},
	} {
		fx, err := fixes.Default().Choose("shmem-swapin=" + tc.variant)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Shmem(ShmemOptions{Pages: 64, ChargePages: 32, Ops: 400, Readers: 2, Fixes: fx})
		if err != nil {
			t.Fatal(err)
		}
		if r.FailedCharges != 64 || r.ReadsPerFailedCharge != tc.perFail || r.ReadBack != tc.readBack || r.Corrupt != 0 {
			t.Errorf("%s: %s", tc.variant, r)
		}
	}
}

// TestSwapinBench: every page comes back right, through the bypass or
// the swap cache as asked.
func TestSwapinBench(t *testing.T) {
	for _, cache := range []bool{false, true} {
		o := DefaultSwapinOptions()
		o.SizeMiB, o.Threads, o.Cache = 1, 2, cache
		r, err := Swapin(o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Pages != 256 || r.Corrupt != 0 || r.PswpIn < 256 || (r.Bypass == 0) != cache {
			t.Errorf("cache %v: %s", cache, r)
		}
	}
}

// TestSwapoffWithFaulters: with the device reference fix on, a swapoff
// ends while two tasks keep faulting the device's pages in, in both
// designs, and no task sees a wrong page or crashes (under the race
// detector too: the faulters and swapoff share nothing unguarded).
func TestSwapoffWithFaulters(t *testing.T) {
	for _, d := range design.All() {
		r, err := Swapoff(SwapoffOptions{SizeMiB: 2, Faulters: 2, Comp: "lz4", Fixes: fixes.Default(), Design: d})
		if err != nil {
			t.Fatalf("%s design: %v", d, err)
		}
		if r.Crashed != "" || r.Corrupt != 0 || r.Swapoff <= 0 {
			t.Errorf("%s design: crashed %q, %d corrupt pages, swapoff took %v", d, r.Crashed, r.Corrupt, r.Swapoff)
		}
	}
}
