package swap

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"uswap/design"
	"uswap/ksync"
	"uswap/mem"
)

// lists says, for each cluster of si, which list it is on:
// "nonfull frag free free".
func (r *rig) lists(si *SwapInfo) string {
	s := make([]string, len(si.clusters))
	for i := range s {
		s[i] = r.listOfCluster(si, i)
	}
	return strings.Join(s, " ")
}

// listOrder is the clusters of list l of si, head first.
func listOrder(t *ksync.Task, si *SwapInfo, l *clusterList) []int32 {
	si.lock.Lock(t)
	defer si.lock.Unlock(t)
	var out []int32
	for idx := l.head; idx >= 0; idx = si.clusters[idx].next {
		out = append(out, idx)
	}
	return out
}

// availNames is the available list, by device name.
func (r *rig) availNames() string {
	r.c.availLock.Lock(r.t)
	defer r.c.availLock.Unlock(r.t)
	var s []string
	for _, si := range r.c.avail {
		s = append(s, si.name)
	}
	return strings.Join(s, " ")
}

// TestClusterLists runs scripts of allocations, frees and per-CPU cluster
// flushes on one 4-cluster device and checks, after every step, the slot
// each allocation returned and the list every cluster is on, against the
// transitions of cluster_alloc_swap_entry(), alloc_swap_scan_cluster(),
// relocate_cluster(), partial_free_cluster() and free_cluster().
func TestClusterLists(t *testing.T) {
	type step struct {
		op    string // "alloc N" (N allocations), "free OFF", "freerange A B", "flush"
		want  uint64 // offset of the last allocation, for alloc
		lists string // every cluster's list after the step
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"fresh device", []step{
			{"", 0, "nonfull free free free"},
		}},
		{"first allocation takes the first free cluster", []step{
			{"alloc 1", 512, "nonfull frag free free"},
			{"alloc 1", 513, "nonfull frag free free"},
		}},
		{"filling a cluster moves it to full, then the next free one is taken", []step{
			{"alloc 512", 1023, "nonfull full free free"},
			{"alloc 1", 1024, "nonfull full frag free"},
		}},
		{"free clusters gone: nonfull, then frag, rotating", []step{
			{"alloc 1", 512, "nonfull frag free free"},
			{"flush", 0, "nonfull frag free free"},
			{"alloc 1", 1024, "nonfull frag frag free"},
			{"flush", 0, "nonfull frag frag free"},
			{"alloc 1", 1536, "nonfull frag frag frag"},
			{"flush", 0, "nonfull frag frag frag"},
			// No free cluster: the nonfull one (the header's) is next.
			{"alloc 1", 1, "frag frag frag frag"},
			{"flush", 0, "frag frag frag frag"},
			// Then the head of the frag list, cluster 1.
			{"alloc 1", 513, "frag frag frag frag"},
		}},
		{"one slot freed in a full cluster: nonfull", []step{
			{"alloc 512", 1023, "nonfull full free free"},
			{"free 700", 0, "nonfull nonfull free free"},
		}},
		{"a frag cluster with a slot freed: nonfull", []step{
			{"alloc 3", 514, "nonfull frag free free"},
			{"free 513", 0, "nonfull nonfull free free"},
		}},
		{"every slot freed: free", []step{
			{"alloc 512", 1023, "nonfull full free free"},
			{"freerange 512 1024", 0, "nonfull free free free"},
		}},
		{"header cluster filled and emptied stays nonfull/full, never free", []step{
			{"alloc 1536", 2047, "nonfull full full full"},
			{"alloc 511", 511, "full full full full"},
			{"freerange 1 512", 0, "nonfull full full full"},
		}},
	}
	forDesigns(t, func(t *testing.T, d design.Design) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := newRigDesign(t, d, 1, 2048)
				si := r.devs[0]
				live := map[uint64]bool{}
				for i, s := range tc.steps {
					f := strings.Fields(s.op)
					var last mem.SwpEntry
					switch {
					case len(f) == 0:
					case f[0] == "alloc":
						var n int
						fmt.Sscan(f[1], &n)
						for j := 0; j < n; j++ {
							last = r.allocSlot(r.t)
							if live[last.Offset()] {
								t.Fatalf("step %d: slot %d handed out twice", i, last.Offset())
							}
							live[last.Offset()] = true
						}
						if last.Offset() != s.want {
							t.Errorf("step %d (%s): last slot %d, want %d", i, s.op, last.Offset(), s.want)
						}
					case f[0] == "free":
						var off uint64
						fmt.Sscan(f[1], &off)
						r.free(mem.SwpEntryOf(si.typ, off))
						delete(live, off)
					case f[0] == "freerange":
						var a, b uint64
						fmt.Sscan(f[1], &a)
						fmt.Sscan(f[2], &b)
						for off := a; off < b; off++ {
							r.free(mem.SwpEntryOf(si.typ, off))
							delete(live, off)
						}
					case f[0] == "flush":
						r.c.flushPercpuSwapCluster(r.t, si)
					default:
						t.Fatalf("bad op %q", s.op)
					}
					if got := r.lists(si); got != s.lists {
						t.Errorf("step %d (%s): lists %q, want %q", i, s.op, got, s.lists)
					}
					if got := si.InusePages(r.t); got != int64(len(live)) {
						t.Errorf("step %d: inuse_pages %d, want %d", i, got, len(live))
					}
					r.audit()
				}
			})
		}
	})
}

// TestFragListRotation checks that a frag cluster that is tried is put at
// the tail of the frag list (cluster_alloc_swap_entry rotates it).
func TestFragListRotation(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 1, 2048)
		si := r.devs[0]
		for range 3 {
			r.allocSlot(r.t)
			r.c.flushPercpuSwapCluster(r.t, si)
		}
		r.allocSlot(r.t) // cluster 0, from nonfull
		r.c.flushPercpuSwapCluster(r.t, si)
		if got, want := fmt.Sprint(listOrder(r.t, si, &si.frag)), "[1 2 3 0]"; got != want {
			t.Fatalf("frag list %s, want %s", got, want)
		}
		if e := r.allocSlot(r.t); e.Offset() != 513 {
			t.Fatalf("allocation from frag got %d, want 513", e.Offset())
		}
		if got, want := fmt.Sprint(listOrder(r.t, si, &si.frag)), "[2 3 0 1]"; got != want {
			t.Fatalf("frag list after one use %s, want %s", got, want)
		}
		if si.fragNr != 4 {
			t.Fatalf("frag_cluster_nr %d, want 4", si.fragNr)
		}
		r.audit()
	})
}

// TestFreeClusterDropsTable checks that a cluster in use has its tables
// (the classic clusterTable, the table design's swap table) and that
// free_cluster() drops them to the CPU's spare, clean, for the next
// cluster that comes into use.
func TestFreeClusterDropsTable(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 1, 2048)
		si := r.devs[0]
		if r.clusterTable(si, 1) != nil {
			t.Fatal("a free cluster has a swap table")
		}
		e := r.allocSlot(r.t)
		tab := r.clusterTable(si, 1)
		if e.Offset()/ClusterSize != 1 || tab == nil {
			t.Fatalf("slot %v: cluster 1 in use has no swap table", e)
		}
		si.swapCgroupRecord(r.t, e.Offset(), 7)
		r.free(e)
		if r.clusterTable(si, 1) != nil || r.listOfCluster(si, 1) != "free" || si.clusters[1].count != 0 {
			t.Fatalf("emptied cluster: table %v, list %s, count %d", r.clusterTable(si, 1), r.listOfCluster(si, 1), si.clusters[1].count)
		}
		if sp, clean := r.spareTable(); sp != tab || !clean {
			t.Fatalf("spare table %p (want %p), clean %v", sp, tab, clean)
		}
		r.audit()
		r.c.flushPercpuSwapCluster(r.t, si)
		e = r.allocSlot(r.t)
		if sp, _ := r.spareTable(); r.clusterTable(si, int(e.Offset()/ClusterSize)) != tab || sp != nil {
			t.Fatalf("slot %v: the spare table was not reused", e)
		}
		r.free(e)
		r.audit()
	})
}

// clusterTable is cluster idx's table in r's design, or nil.
func (r *rig) clusterTable(si *SwapInfo, idx int) any {
	ci := &si.clusters[idx]
	if r.c.design == design.Table {
		if tab := ci.tb.Peek(); tab != nil {
			return tab
		}
	} else if ci.table != nil {
		return ci.table
	}
	return nil
}

// spareTable is the CPU's spare table in r's design, or nil, and whether
// it is clean.
func (r *rig) spareTable() (any, bool) {
	p := &r.c.pcp[r.t.CPU()]
	if r.c.design == design.Table {
		if tab := p.spareSwapTable.Load(r.t); tab != nil {
			return tab, tab.clean(r.t)
		}
	} else if tab := p.spareTable.Load(r.t); tab != nil {
		return tab, *tab == (clusterTable{})
	}
	return nil, false
}

// TestPerCPUClusters checks that tasks on different CPUs allocate from
// different clusters, each continuing in its own.
func TestPerCPUClusters(t *testing.T) {
	if ksync.NumCPU < 2 {
		t.Skip("needs two per-CPU slots")
	}
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 1, 2048)
		si := r.devs[0]
		a, b := ksync.NewTask("a", 0), ksync.NewTask("b", 1)
		got := []uint64{
			r.allocSlot(a).Offset(), r.allocSlot(b).Offset(),
			r.allocSlot(a).Offset(), r.allocSlot(b).Offset(),
		}
		if fmt.Sprint(got) != "[512 1024 513 1025]" {
			t.Fatalf("a, b, a, b got slots %v, want [512 1024 513 1025]", got)
		}
		if l := r.lists(si); l != "nonfull frag frag free" {
			t.Fatalf("lists %q", l)
		}
		r.audit()
	})
}

// TestFullDevice fills a device: the next allocation fails cleanly with
// ErrNoSwap, and one free makes the device available again.
func TestFullDevice(t *testing.T) {
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 4, 1024)
		si := r.devs[0]
		var entries []mem.SwpEntry
		for range si.Pages() {
			entries = append(entries, r.allocSlot(r.t))
		}
		if n := r.c.NrSwapPages(r.t); n != 0 {
			t.Fatalf("nr_swap_pages %d on a full device", n)
		}
		if a := r.availNames(); a != "" {
			t.Fatalf("full device still available: %q", a)
		}
		fails := r.c.Stats.AllocFail.Sum()
		f := r.pool.Alloc(r.t)
		f.Flags.Set(r.t, mem.PGSwapBacked)
		f.Lock(r.t)
		if _, err := r.c.FolioAllocSwap(r.t, f, nil); !errors.Is(err, ErrNoSwap) {
			t.Fatalf("FolioAllocSwap on a full device: %v, want ErrNoSwap", err)
		}
		f.Unlock(r.t)
		if f.Test(r.t, mem.PGSwapCache) || f.RefCount(r.t) != 1 {
			t.Fatalf("failed allocation left the folio changed: flags %s ref %d", mem.FlagString(f.Flags.Load(r.t)), f.RefCount(r.t))
		}
		if got := r.c.Stats.AllocFail.Sum() - fails; got != 1 {
			t.Fatalf("AllocFail grew by %d, want 1", got)
		}
		if l := r.lists(si); l != "full full" {
			t.Fatalf("lists of a full device %q", l)
		}
		r.audit()

		// One free: the device is back on the available list.
		r.free(entries[100])
		if a := r.availNames(); a != "zram0" {
			t.Fatalf("available list after a free: %q", a)
		}
		if n := r.c.NrSwapPages(r.t); n != 1 {
			t.Fatalf("nr_swap_pages %d, want 1", n)
		}
		f.Lock(r.t)
		e, err := r.c.FolioAllocSwap(r.t, f, nil)
		f.Unlock(r.t)
		if err != nil || e != entries[100] {
			t.Fatalf("allocation after a free: %v, %v; want %v", e, err, entries[100])
		}
		if got := r.slot(e); got != "cached" || r.c.NrSwapPages(r.t) != 0 {
			t.Fatalf("slot %s, nr_swap_pages %d", got, r.c.NrSwapPages(r.t))
		}
		r.audit()
		r.dropCache(f) // frees entries[100] again
		for i, e := range entries {
			if i != 100 {
				r.free(e)
			}
		}
		if l := r.lists(si); l != "nonfull free" || si.InusePages(r.t) != 0 {
			t.Fatalf("after freeing all: lists %q, inuse %d", l, si.InusePages(r.t))
		}
		r.audit()
	})
}
