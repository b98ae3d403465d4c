package swap

import (
	"fmt"
	"testing"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
)

// rig is a swap core with devices and a frame pool, for tests.
type rig struct {
	tb   testing.TB
	t    *ksync.Task
	c    *Core
	pool *mem.Pool
	devs []*SwapInfo
}

// newRig swaps on one compressed-RAM device per size (in pages, header
// included), with automatic priorities.
func newRig(tb testing.TB, frames int, sizes ...uint64) *rig {
	tb.Helper()
	t := ksync.NewTask("test", 0)
	pool, err := mem.NewPool(frames)
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{tb: tb, t: t, c: NewCore(Config{Fixes: fixes.Default()}), pool: pool}
	for i, n := range sizes {
		r.swapon(fmt.Sprintf("zram%d", i), n, SwaponOptions{})
	}
	return r
}

func (r *rig) swapon(name string, pages uint64, opts SwaponOptions) *SwapInfo {
	r.tb.Helper()
	dev, err := swapdev.NewRAM(name, pages, "lz4")
	if err != nil {
		r.tb.Fatal(err)
	}
	if _, err := swapdev.MkswapDevice(r.t, dev, swapdev.MkswapOptions{}); err != nil {
		r.tb.Fatal(err)
	}
	si, err := r.c.Swapon(r.t, dev, opts)
	if err != nil {
		r.tb.Fatal(err)
	}
	r.devs = append(r.devs, si)
	return si
}

// audit fails the test on any violation.
func (r *rig) audit() {
	r.tb.Helper()
	for _, v := range r.c.Audit(r.t) {
		r.tb.Error(v)
	}
}

// swapOut allocates a slot for a fresh folio and leaves the folio in the
// swap cache, locked state released: what add_to_swap leaves behind.
func (r *rig) swapOut() (*mem.Folio, mem.SwpEntry) {
	r.tb.Helper()
	f := r.pool.Alloc(r.t)
	if f == nil {
		r.tb.Fatal("out of frames")
	}
	f.Flags.Set(r.t, mem.PGSwapBacked)
	f.Lock(r.t)
	e, err := r.c.FolioAllocSwap(r.t, f, nil)
	f.Unlock(r.t)
	if err != nil {
		f.Put(r.t)
		r.tb.Fatalf("FolioAllocSwap: %v", err)
	}
	return f, e
}

// mapByte reads the swap_map byte of e.
func (r *rig) mapByte(e mem.SwpEntry) uint8 {
	si := r.c.swapInfoOf(r.t, e)
	ci := si.lockCluster(r.t, e.Offset())
	defer ci.lock.Unlock(r.t)
	return si.swapMap[e.Offset()]
}

// dropCache deletes f from the swap cache and drops the test's reference.
func (r *rig) dropCache(f *mem.Folio) {
	f.Lock(r.t)
	r.c.DeleteFromSwapCache(r.t, f)
	f.Unlock(r.t)
	f.Put(r.t)
}

// listOfCluster says which list cluster idx of si is on.
func (r *rig) listOfCluster(si *SwapInfo, idx int) string {
	ci := &si.clusters[idx]
	ci.lock.Lock(r.t)
	defer ci.lock.Unlock(r.t)
	return clusterFlagNames[ci.flags]
}
