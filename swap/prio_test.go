package swap

import (
	"fmt"
	"testing"

	"uswap/design"
	"uswap/ksync"
	"uswap/mem"
)

// TestPreferredPriorities: allocations go to the priority-10 device until
// it is full, then to the priority-5 one.
func TestPreferredPriorities(t *testing.T) {
	r := newRig(t, 1)
	lo := r.swapon("lo", 1024, SwaponOptions{Prefer: true, Priority: 5})
	hi := r.swapon("hi", 1024, SwaponOptions{Prefer: true, Priority: 10})
	if a := r.availNames(); a != "hi lo" {
		t.Fatalf("available list %q, want \"hi lo\"", a)
	}
	for i := range hi.Pages() {
		if e := r.allocSlot(r.t); e.Type() != hi.Type() {
			t.Fatalf("allocation %d went to %v, want device hi (type %d)", i, e, hi.Type())
		}
	}
	if hi.InusePages(r.t) != int64(hi.Pages()) || lo.InusePages(r.t) != 0 {
		t.Fatalf("inuse hi %d lo %d", hi.InusePages(r.t), lo.InusePages(r.t))
	}
	if a := r.availNames(); a != "lo" {
		t.Fatalf("available list %q once hi is full, want \"lo\"", a)
	}
	for i := range 600 {
		if e := r.allocSlot(r.t); e.Type() != lo.Type() {
			t.Fatalf("allocation %d after hi filled went to %v, want lo (type %d)", i, e, lo.Type())
		}
	}
	// A slot freed on hi: hi is available again. The per-CPU cluster
	// on lo is still tried first (swap_alloc_fast does not look at
	// priorities); once it is flushed the slow path picks hi.
	r.c.SwapFree(r.t, mem.SwpEntryOf(hi.Type(), 3))
	if a := r.availNames(); a != "hi lo" {
		t.Fatalf("available list %q after a free on hi", a)
	}
	if e := r.allocSlot(r.t); e.Type() != lo.Type() {
		t.Fatalf("fast path went to %v, want lo's per-CPU cluster", e)
	}
	r.c.flushPercpuSwapCluster(r.t, lo)
	if e := r.allocSlot(r.t); e != mem.SwpEntryOf(hi.Type(), 3) {
		t.Fatalf("after a free on hi, allocation went to %v", e)
	}
	r.audit()
}

// TestEqualPrioritiesRoundRobin: two devices of one priority take turns,
// a cluster at a time: the per-CPU cluster keeps a device until its
// cluster is full, and the slow path then requeues.
func TestEqualPrioritiesRoundRobin(t *testing.T) {
	r := newRig(t, 1)
	a := r.swapon("a", 2048, SwaponOptions{Prefer: true, Priority: 7})
	b := r.swapon("b", 2048, SwaponOptions{Prefer: true, Priority: 7})
	type run struct {
		typ     int
		cluster uint64
	}
	var runs []run
	for range 4 * ClusterSize {
		e := r.allocSlot(r.t)
		cur := run{e.Type(), e.Offset() / ClusterSize}
		if len(runs) == 0 || runs[len(runs)-1] != cur {
			runs = append(runs, cur)
		}
	}
	want := []run{{a.Type(), 1}, {b.Type(), 1}, {a.Type(), 2}, {b.Type(), 2}}
	if fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Fatalf("allocation runs (type, cluster) %v, want %v", runs, want)
	}
	if a.InusePages(r.t) != 2*ClusterSize || b.InusePages(r.t) != 2*ClusterSize {
		t.Fatalf("inuse a %d b %d", a.InusePages(r.t), b.InusePages(r.t))
	}
	r.audit()
}

// TestAutomaticPriorities: devices without a preferred priority get -2,
// -3, -4; swapping off the -2 device moves the others up by one, as
// swapoff does in the kernel, and the next swapon gets the lowest again.
func TestAutomaticPriorities(t *testing.T) {
	r := newRig(t, 1, 1024, 1024, 1024)
	prios := func() string {
		var s []string
		for _, si := range r.c.Active(r.t) {
			s = append(s, fmt.Sprintf("%s:%d", si.Name(), si.Priority(r.t)))
		}
		return fmt.Sprint(s)
	}
	if got := prios(); got != "[zram0:-2 zram1:-3 zram2:-4]" {
		t.Fatalf("priorities %s", got)
	}
	if err := r.c.Swapoff(r.t, r.devs[0], nil); err != nil {
		t.Fatal(err)
	}
	if got := prios(); got != "[zram1:-2 zram2:-3]" {
		t.Fatalf("priorities after swapoff of zram0: %s", got)
	}
	if a := r.availNames(); a != "zram1 zram2" {
		t.Fatalf("available list %q", a)
	}
	r.swapon("zram3", 1024, SwaponOptions{})
	if got := prios(); got != "[zram1:-2 zram2:-3 zram3:-4]" {
		t.Fatalf("priorities after a new swapon: %s", got)
	}
	// Allocation follows the new order.
	if e := r.allocSlot(r.t); r.c.SwapInfo(r.t, e.Type()).Name() != "zram1" {
		t.Fatalf("allocation went to %v", e)
	}
	r.audit()
}

// TestSwapoffMiddleAutomaticPriority: swapping off a device in the middle
// moves up only the devices below it.
func TestSwapoffMiddleAutomaticPriority(t *testing.T) {
	r := newRig(t, 1, 1024, 1024, 1024)
	if err := r.c.Swapoff(r.t, r.devs[1], nil); err != nil {
		t.Fatal(err)
	}
	if p0, p2 := r.devs[0].Priority(r.t), r.devs[2].Priority(r.t); p0 != -2 || p2 != -3 {
		t.Fatalf("priorities %d %d, want -2 -3", p0, p2)
	}
	r.audit()
}

// TestReclaimFullClusters: with more than half of swap used and no free
// cluster, allocation frees the swap cache folios of a full cluster whose
// slots hold nothing else (swap_reclaim_full_clusters); a locked folio is
// skipped, and the slots freed are allocated again.
func TestReclaimFullClusters(t *testing.T) {
	forDesigns(t, testReclaimFullClusters)
}

func testReclaimFullClusters(t *testing.T, d design.Design) {
	r := newRigDesign(t, d, 600, 1024)
	si := r.devs[0]
	// Cluster 1: 512 cache-only folios, kept locked while cluster 0
	// fills, so that the allocator cannot reclaim them yet. Another
	// task holds them (by trylock: one task takes no two folio locks in
	// order), as a racing reclaim would.
	holder := ksync.NewTask("holder", 1)
	folios := make([]*mem.Folio, 0, ClusterSize)
	for range ClusterSize {
		f, e := r.swapOut()
		if e.Offset()/ClusterSize != 1 {
			t.Fatalf("cache folio got %v, want cluster 1", e)
		}
		if !f.TryLock(holder) {
			t.Fatalf("%v is locked", f)
		}
		folios = append(folios, f)
	}
	// Cluster 0: 510 slots held by PTEs; slot 511 stays free.
	for range ClusterSize - 2 {
		if e := r.allocSlot(r.t); e.Offset()/ClusterSize != 0 {
			t.Fatalf("slot %v, want cluster 0", e)
		}
	}
	if !r.c.VMSwapFull(r.t) {
		t.Fatal("vm_swap_full is false with one slot free")
	}
	for _, f := range folios {
		if !f.Test(r.t, mem.PGSwapCache) {
			t.Fatalf("%v left the swap cache while locked", f)
		}
	}
	// Unlock all but the folio of slot 600.
	keep := folios[600-ClusterSize]
	for _, f := range folios {
		if f != keep {
			f.Unlock(holder)
		}
	}
	r.c.flushPercpuSwapCluster(r.t, si)
	// No free cluster and swap more than half full: cluster 1 (full) is
	// reclaimed, goes to nonfull, and the nonfull list is tried before
	// cluster 0 on the frag list.
	if e := r.allocSlot(r.t); e.Offset() != 512 {
		t.Fatalf("allocation got %v, want reclaimed slot 512", e)
	}
	for _, f := range folios {
		inCache := f.Test(r.t, mem.PGSwapCache)
		if f == keep {
			if !inCache || f.Swap().Offset() != 600 || r.slot(f.Swap()) != "cached" {
				t.Fatalf("locked folio was reclaimed: flags %s", mem.FlagString(f.Flags.Load(r.t)))
			}
			continue
		}
		if inCache || !f.Test(r.t, mem.PGDirty) || f.RefCount(r.t) != 1 || f.Swap() != 0 {
			t.Fatalf("%v not reclaimed: flags %s ref %d swap %v", f, mem.FlagString(f.Flags.Load(r.t)), f.RefCount(r.t), f.Swap())
		}
	}
	if si.clusters[1].count != 2 || r.listOfCluster(si, 1) != "frag" || r.listOfCluster(si, 0) != "frag" {
		t.Fatalf("cluster 1 count %d on %s, cluster 0 on %s", si.clusters[1].count, r.listOfCluster(si, 1), r.listOfCluster(si, 0))
	}
	r.audit()
	// The reclaimed slots go on being allocated.
	if e := r.allocSlot(r.t); e.Offset() != 513 {
		t.Fatalf("allocation after reclaim got %v, want slot 513", e)
	}
	keep.Unlock(holder)
	r.dropCache(keep)
	for _, f := range folios {
		if f != keep {
			f.Flags.Clear(r.t, mem.PGDirty)
			f.Put(r.t)
		}
	}
	if n := r.pool.NrFree(r.t); n != 600 {
		t.Fatalf("%d frames free, want 600", n)
	}
	r.audit()
}

// TestReclaimSlotWhileScanning: in a nonfull cluster, with swap more than
// half full, alloc_swap_scan_cluster frees a cache-only slot it meets
// before a free one (cluster_reclaim_range), skipping a locked folio.
func TestReclaimSlotWhileScanning(t *testing.T) {
	forDesigns(t, testReclaimSlotWhileScanning)
}

func testReclaimSlotWhileScanning(t *testing.T, d design.Design) {
	r := newRigDesign(t, d, 600, 1024)
	si := r.devs[0]
	for range ClusterSize {
		r.allocSlot(r.t) // cluster 1, PTE-held
	}
	folios := map[uint64]*mem.Folio{}
	for range ClusterSize - 1 {
		f, e := r.swapOut() // cluster 0, cache only
		folios[e.Offset()] = f
	}
	if r.c.NrSwapPages(r.t) != 0 || len(folios) != ClusterSize-1 || folios[1] == nil {
		t.Fatalf("setup: nr_swap_pages %d, %d folios", r.c.NrSwapPages(r.t), len(folios))
	}
	// Free slot 5: cluster 0 becomes nonfull.
	r.dropCache(folios[5])
	delete(folios, 5)
	if l := r.listOfCluster(si, 0); l != "nonfull" {
		t.Fatalf("cluster 0 on %s after a free", l)
	}
	// Another task holds slot 1's folio locked (a racing swap-in): the
	// allocation's own folio is locked on r.t, and a task holds one
	// folio lock at a time.
	other := ksync.NewTask("other", 1)
	folios[1].Lock(other)
	r.c.flushPercpuSwapCluster(r.t, si)
	e := r.allocSlot(r.t)
	if e.Offset() != 2 {
		t.Fatalf("allocation got %v, want slot 2 (1 locked, 2 reclaimable, 5 free)", e)
	}
	f2 := folios[2]
	if f2.Test(r.t, mem.PGSwapCache) || !f2.Test(r.t, mem.PGDirty) || f2.RefCount(r.t) != 1 {
		t.Fatalf("folio of slot 2 not reclaimed: flags %s ref %d", mem.FlagString(f2.Flags.Load(r.t)), f2.RefCount(r.t))
	}
	if !folios[1].Test(r.t, mem.PGSwapCache) || r.slot(mem.SwpEntryOf(0, 1)) != "cached" {
		t.Fatal("locked folio of slot 1 was reclaimed")
	}
	if r.slot(mem.SwpEntryOf(0, 5)) != "free" || r.slot(e) != "count 1" {
		t.Fatalf("slots: 5 %s, 2 %s", r.slot(mem.SwpEntryOf(0, 5)), r.slot(e))
	}
	folios[1].Unlock(other)
	r.audit()
	f2.Flags.Clear(r.t, mem.PGDirty)
	f2.Put(r.t)
	delete(folios, 2)
	for _, f := range folios {
		r.dropCache(f)
	}
	r.audit()
}

// TestSwapoffFlushesPerCPUCluster: a device that another CPU holds as its
// per-CPU cluster is flushed from it by swapoff.
func TestSwapoffFlushesPerCPUCluster(t *testing.T) {
	forDesigns(t, testSwapoffFlushesPerCPUCluster)
}

func testSwapoffFlushesPerCPUCluster(t *testing.T, d design.Design) {
	r := newRigDesign(t, d, 1, 1024)
	si := r.devs[0]
	other := ksync.NewTask("other", 1)
	e := r.allocSlot(other)
	if r.c.pcp[other.CPU()].si.Peek() != si {
		t.Fatal("per-CPU cluster not set by the allocation")
	}
	err := r.c.Swapoff(r.t, si, unuseFunc(func(t *ksync.Task, _ *SwapInfo) error {
		r.c.SwapPutEntriesDirect(t, e)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.c.pcp {
		if r.c.pcp[i].si.Peek() == si {
			t.Fatalf("CPU %d still caches the swapped-off device", i)
		}
	}
	r.audit()
}
