package swap

import (
	"errors"
	"testing"
	"unsafe"

	"uswap/design"
	"uswap/invariant"
	"uswap/ksync"
	"uswap/mem"
)

// TestSwapTableEncoding checks the entry layout of mm/swap_table.h:
// NULL is 0, a shadow ends in 1, a PFN in 10, the bad entry is all ones
// above 1000, and the count is the top SWP_TB_COUNT_BITS bits.
func TestSwapTableEncoding(t *testing.T) {
	type kind struct{ null, folio, shadow, bad, countable bool }
	kindOf := func(tb uint64) kind {
		return kind{swpTbIsNull(tb), swpTbIsFolio(tb), swpTbIsShadow(tb), swpTbIsBad(tb), swpTbIsCountable(tb)}
	}
	for _, tc := range []struct {
		name string
		tb   uint64
		want uint64
		kind kind
	}{
		{"null", swpTbNull, 0, kind{null: true, countable: true}},
		{"empty shadow, count 3", shadowToSwpTb(3), 3<<60 | 1, kind{shadow: true, countable: true}},
		{"pfn 5, count 0", pfnToSwpTb(5, 0), 5<<2 | 0b10, kind{folio: true, countable: true}},
		{"pfn 5, count 15", pfnToSwpTb(5, SwpTbCountMax), 0xf<<60 | 5<<2 | 0b10, kind{folio: true, countable: true}},
		{"bad", swpTbBad, 0xfffffffffffffff8, kind{bad: true}},
		{"pointer format", 0b100, 0b100, kind{}},
	} {
		if tc.tb != tc.want {
			t.Errorf("%s: entry %#x, want %#x", tc.name, tc.tb, tc.want)
		}
		if got := kindOf(tc.tb); got != tc.kind {
			t.Errorf("%s: kind %+v, want %+v", tc.name, got, tc.kind)
		}
	}
	tb := pfnToSwpTb(123456, 7)
	if swpTbToPFN(tb) != 123456 || swpTbGetCount(tb) != 7 {
		t.Errorf("pfn entry %#x decodes to pfn %d count %d", tb, swpTbToPFN(tb), swpTbGetCount(tb))
	}
	tb = swpTbSetCount(tb, 2)
	if swpTbToPFN(tb) != 123456 || swpTbGetCount(tb) != 2 || !swpTbIsFolio(tb) {
		t.Errorf("set count kept %s", swpTbString(tb))
	}
	if SwpTbCountMax != 15 {
		t.Errorf("SWP_TB_COUNT_MAX %d, want 15 on 64-bit", SwpTbCountMax)
	}
}

// tableRig is a table-design rig with one 1024-page device.
func tableRig(t *testing.T) *rig {
	t.Helper()
	return newRigDesign(t, design.Table, 16, 1024)
}

// entry reads the swap table entry of e.
func (r *rig) entry(e mem.SwpEntry) uint64 {
	si := r.c.swapInfoOf(r.t, e)
	ci := si.lockCluster(r.t, e.Offset())
	defer ci.lock.Unlock(r.t)
	tab := ci.tb.Load(r.t)
	if tab == nil {
		return swpTbNull
	}
	return entryOf(tab, e.Offset()).Load(r.t)
}

// TestTableCounts walks one slot's life in the table design: the folio
// enters the slot's entry at allocation with count 0; PTEs raise the
// count in the entry up to 14 and then in the extend table; the folio
// leaves the cache and the entry becomes a shadow keeping the count; the
// counts go back down, the extend table goes when the count is below 15
// again, and the last reference frees the slot.
func TestTableCounts(t *testing.T) {
	r := tableRig(t)
	f, e := r.swapOut()
	if got := r.entry(e); got != folioToSwpTb(f, 0) {
		t.Fatalf("fresh slot %s, want the folio with count 0", swpTbString(got))
	}
	ci := &r.devs[0].clusters[e.Offset()/ClusterSize]
	const n = 40
	f.Lock(r.t)
	for i := 1; i <= n; i++ {
		if err := r.c.FolioDupSwap(r.t, f); err != nil {
			t.Fatal(err)
		}
		wantField := min(i, SwpTbCountMax)
		if got := swpTbGetCount(r.entry(e)); got != wantField {
			t.Fatalf("count %d: entry count %d, want %d", i, got, wantField)
		}
		if got := r.c.SwpSwapcount(r.t, e); got != i {
			t.Fatalf("count %d: swp_swapcount %d", i, got)
		}
		if (ci.extend != nil) != (i >= SwpTbCountMax) {
			t.Fatalf("count %d: extend table %v", i, ci.extend != nil)
		}
	}
	f.Unlock(r.t)
	if r.c.Stats.ExtendAdd.Sum() != 1 {
		t.Fatalf("%d extend tables added, want 1", r.c.Stats.ExtendAdd.Sum())
	}
	r.audit()
	r.dropCache(f)
	if got := r.entry(e); !swpTbIsShadow(got) || swpTbGetCount(got) != SwpTbCountMax {
		t.Fatalf("after the folio left: %s, want a shadow with a saturated count", swpTbString(got))
	}
	r.audit()
	for i := n; i > 0; i-- {
		r.free(e)
		left := i - 1
		if left == 0 {
			break
		}
		if got := r.c.SwpSwapcount(r.t, e); got != left {
			t.Fatalf("count %d: swp_swapcount %d", left, got)
		}
		if (ci.extend != nil) != (left >= SwpTbCountMax) {
			t.Fatalf("count %d: extend table %v", left, ci.extend != nil)
		}
	}
	if got := r.slot(e); got != "free" {
		t.Fatalf("slot %s after the last reference went", got)
	}
	r.audit()
}

// TestTableSwapinReserve is swap_cache_add_folio(): a slot swapped out
// takes a folio keeping its count; a second reservation finds it
// (ErrExist); a free slot, or one whose count went, gives ErrNoEnt; a
// cancelled reservation (the charge failed) leaves the shadow as it was.
func TestTableSwapinReserve(t *testing.T) {
	r := tableRig(t)
	si := r.devs[0]
	e := r.allocSlot(r.t)
	if err := r.c.SwapDupEntryDirect(r.t, e); err != nil { // fork: count 2
		t.Fatal(err)
	}
	f := r.pool.Alloc(r.t)
	f.Flags.Set(r.t, mem.PGSwapBacked)
	if err := r.c.SwapinReserve(r.t, si, f, e); err != nil {
		t.Fatalf("reserve a swapped-out slot: %v", err)
	}
	if got := r.entry(e); got != folioToSwpTb(f, 2) || !f.Test(r.t, mem.PGSwapCache) || f.Swap() != e || !f.Test(r.t, mem.PGLocked) {
		t.Fatalf("reserved slot %s, folio swap %v", swpTbString(got), f.Swap())
	}
	// A racing swap-in, on a task of its own (a task holds one folio
	// lock at a time).
	racer := ksync.NewTask("racer", 1)
	g := r.pool.Alloc(racer)
	g.Flags.Set(racer, mem.PGSwapBacked)
	if err := r.c.SwapinReserve(racer, si, g, e); !errors.Is(err, ErrExist) || g.Test(racer, mem.PGLocked) {
		t.Fatalf("second reservation: %v (locked %v), want ErrExist and the folio unlocked", err, g.Test(racer, mem.PGLocked))
	}
	if found := r.c.SwapCacheGetFolio(racer, e); found != f {
		t.Fatalf("the racer's lookup found %v, want %v", found, f)
	} else {
		found.Put(racer)
	}
	r.c.SwapinCancel(r.t, si, f, e)
	if got := r.entry(e); got != shadowToSwpTb(2) || f.Test(r.t, mem.PGSwapCache) {
		t.Fatalf("cancelled reservation left %s", swpTbString(got))
	}
	f.Unlock(r.t)
	f.Put(r.t)
	r.audit()
	r.free(e)
	r.free(e)
	if err := r.c.SwapinReserve(racer, si, g, e); !errors.Is(err, ErrNoEnt) {
		t.Fatalf("reservation of a free slot: %v, want ErrNoEnt", err)
	}
	if r.c.SwapEntrySwapped(r.t, si, e) {
		t.Fatal("a free slot is swapped")
	}
	g.Put(racer)
	r.audit()
}

// TestTableFolioPutSwap: folio_put_swap() never frees the slot, the cached
// folio keeps it; folio_free_swap() frees it once the count is 0, and only
// then.
func TestTableFolioPutSwap(t *testing.T) {
	r := tableRig(t)
	f, e := r.swapOut()
	f.Lock(r.t)
	for range 2 {
		if err := r.c.FolioDupSwap(r.t, f); err != nil {
			t.Fatal(err)
		}
	}
	r.c.FolioPutSwap(r.t, f)
	if r.c.FolioFreeSwap(r.t, f) {
		t.Fatal("folio_free_swap freed a slot a PTE still holds")
	}
	r.c.FolioPutSwap(r.t, f)
	if got := r.slot(e); got != "cached" {
		t.Fatalf("slot %s at count 0, want cached", got)
	}
	if !r.c.FolioFreeSwap(r.t, f) || !f.Test(r.t, mem.PGDirty) {
		t.Fatal("folio_free_swap kept a slot only the cache holds")
	}
	f.Unlock(r.t)
	if got := r.slot(e); got != "free" {
		t.Fatalf("slot %s after folio_free_swap", got)
	}
	f.Put(r.t)
	r.audit()
}

// TestTableAuditCatches corrupts the table design's state the ways the
// invariants forbid, and checks that the audit reports each.
func TestTableAuditCatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(r *rig, e mem.SwpEntry, ci *cluster)
		want    invariant.ID
	}{
		{"shadow with count 0", func(r *rig, e mem.SwpEntry, ci *cluster) {
			entryOf(ci.tb.Load(r.t), e.Offset()).Store(r.t, shadowToSwpTb(0))
		}, invariant.SwapCache},
		{"entry names a folio not in the swap cache", func(r *rig, e mem.SwpEntry, ci *cluster) {
			entryOf(ci.tb.Load(r.t), e.Offset()).Store(r.t, pfnToSwpTb(3, 1))
		}, invariant.SwapCache},
		{"saturated count with no extend table", func(r *rig, e mem.SwpEntry, ci *cluster) {
			entryOf(ci.tb.Load(r.t), e.Offset()).Store(r.t, shadowToSwpTb(SwpTbCountMax))
		}, invariant.SlotAccounting},
		{"slot freed behind the cluster's back", func(r *rig, e mem.SwpEntry, ci *cluster) {
			entryOf(ci.tb.Load(r.t), e.Offset()).Store(r.t, swpTbNull)
		}, invariant.SlotAccounting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tableRig(t)
			e := r.allocSlot(r.t)
			si := r.devs[0]
			ci := si.lockCluster(r.t, e.Offset())
			tc.corrupt(r, e, ci)
			ci.lock.Unlock(r.t)
			found := false
			var got []string
			for _, v := range r.c.Audit(r.t) {
				got = append(got, v.String())
				found = found || v.Invariant == tc.want
			}
			if !found {
				t.Fatalf("audit %v, want a %v violation", got, tc.want)
			}
		})
	}
}

// TestTableSwaponBadSlots: the header and the bad pages are SWP_TB_BAD in
// tables allocated at swapon, counted by their clusters, never allocated.
func TestTableSwaponBadSlots(t *testing.T) {
	r := tableRig(t)
	si := r.devs[0]
	if got := r.entry(mem.SwpEntryOf(si.typ, 0)); got != swpTbBad {
		t.Fatalf("header slot %s, want bad", swpTbString(got))
	}
	if si.clusters[0].count != 1 || r.clusterTable(si, 0) == nil || r.clusterTable(si, 1) != nil {
		t.Fatalf("cluster 0 count %d, tables %v %v", si.clusters[0].count, r.clusterTable(si, 0), r.clusterTable(si, 1))
	}
	seen := map[uint64]bool{}
	for range si.Pages() {
		e := r.allocSlot(r.t)
		if e.Offset() == 0 || seen[e.Offset()] {
			t.Fatalf("allocated %v", e)
		}
		seen[e.Offset()] = true
	}
	r.audit()
	for off := range seen {
		r.free(mem.SwpEntryOf(si.typ, off))
	}
	r.audit()
	fp := si.Footprint(r.t)
	if fp.Tables != uint64(unsafe.Sizeof(swapTable{})) || fp.TableCount != 1 || fp.Overflow != 0 || fp.InUse != 0 {
		t.Fatalf("footprint after freeing everything: %+v, want only cluster 0's table", fp)
	}
}

// TestFootprint measures both designs' structures on one device with a
// cluster in use: the table design has no per-slot static state, the
// classic one its swap_map byte; a slot in use adds its cluster's table.
func TestFootprint(t *testing.T) {
	per := map[design.Design][2]float64{}
	forDesigns(t, func(t *testing.T, d design.Design) {
		r := newRigDesign(t, d, 4, 4*ClusterSize)
		e := r.allocSlot(r.t)
		fp := r.devs[0].Footprint(r.t)
		// The slot's cluster has a table; in the table design so has
		// cluster 0, for its SWP_TB_BAD header entry.
		wantTables := map[design.Design]uint64{design.Classic: 1, design.Table: 2}[d]
		if fp.InUse != 1 || fp.TableCount != wantTables {
			t.Fatalf("footprint %+v, want %d tables", fp, wantTables)
		}
		per[d] = [2]float64{fp.PerFreeSlot(), fp.PerUsedSlot()}
		t.Logf("%s: %+v: %.3f B per free slot, %.3f B per used slot", d, fp, fp.PerFreeSlot(), fp.PerUsedSlot())
		r.free(e)
	})
	c, tb := per[design.Classic], per[design.Table]
	if diff := c[0] - tb[0]; diff < 0.99 || diff > 1.01 {
		t.Errorf("per free slot: classic %.3f, table %.3f: want the swap_map byte between them", c[0], tb[0])
	}
	if tb[1] <= tb[0] || c[1] <= c[0] {
		t.Errorf("a used slot costs no more than a free one: %v %v", c, tb)
	}
}
