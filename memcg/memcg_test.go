package memcg

import (
	"errors"
	"strings"
	"testing"
)

func TestPageCounterTryChargeHierarchy(t0 *testing.T) {
	_, _, a, b := tree(t0, V2)
	t, parent, child := newTask(), &a.memory, &b.memory
	must(t0, parent.SetMax(t, 10))
	must(t0, child.SetMax(t, 100))
	if f, ok := child.TryCharge(t, 8); !ok {
		t0.Fatalf("charge 8 failed at %s of %s", f.Name(), f.Memcg().Path())
	}
	f, ok := child.TryCharge(t, 5)
	if ok || f != parent {
		t0.Fatalf("charge 5: ok=%v failed=%v, want failure at the parent", ok, f)
	}
	if child.Read(t) != 8 || parent.Read(t) != 8 {
		t0.Fatalf("after rollback: child %d parent %d, want 8 8", child.Read(t), parent.Read(t))
	}
	if parent.Failcnt(t) != 1 || child.Failcnt(t) != 0 {
		t0.Fatalf("failcnt parent %d child %d", parent.Failcnt(t), child.Failcnt(t))
	}
	// As in the kernel, a counter's watermark is raised as the walk
	// passes it, before the ancestors are checked: the child's shows the
	// charge that the parent refused. Neither is above its own limit.
	if parent.Watermark(t) != 8 || child.Watermark(t) != 13 {
		t0.Fatalf("watermarks %d %d", parent.Watermark(t), child.Watermark(t))
	}
	// set_max: EBUSY below the usage, fine at or above it.
	if err := parent.SetMax(t, 7); err == nil {
		t0.Fatal("SetMax below usage succeeded")
	}
	must(t0, parent.SetMax(t, 8))
	child.Charge(t, 3) // unconditional: above the limit
	if parent.Read(t) != 11 || parent.Watermark(t) != 11 {
		t0.Fatalf("Charge: usage %d watermark %d", parent.Read(t), parent.Watermark(t))
	}
	child.Uncharge(t, 11)
	if child.Read(t) != 0 || parent.Read(t) != 0 {
		t0.Fatal("not back to zero")
	}
	defer func() {
		if recover() == nil {
			t0.Fatal("underflow did not panic")
		}
	}()
	child.Uncharge(t, 1)
}

func TestTryChargeFailsAtAncestor(t0 *testing.T) {
	t, root, a, b := tree(t0, V2)
	must(t0, a.SetMemoryMax(t, 10*pg))
	must(t0, b.TryCharge(t, 6))
	err := b.TryCharge(t, 5)
	oom := asOOM(t0, err)
	if oom.Over != a || oom.Memcg != b || oom.Counter != "memory" || oom.Usage != 6 || oom.Limit != 10 || oom.NrPages != 5 {
		t0.Fatalf("OOMError %+v", *oom)
	}
	for _, s := range []string{"out of memory", "5 page(s)", "/a/b", "/a memory", "usage 6 pages (24576 bytes)", "limit 10 pages (40960 bytes)"} {
		if !strings.Contains(err.Error(), s) {
			t0.Errorf("%q does not contain %q", err, s)
		}
	}
	// No partial charge: b and a are where they were, the root too.
	if usage(t, b) != 6 || usage(t, a) != 6 || usage(t, root) != 6 {
		t0.Fatalf("usage b %d a %d root %d, want 6", usage(t, b), usage(t, a), usage(t, root))
	}
	if a.Events(t, EventOOM) != 1 || a.Events(t, EventMax) != 1 || b.Events(t, EventOOM) != 0 {
		t0.Fatalf("events a oom %d max %d, b oom %d", a.Events(t, EventOOM), a.Events(t, EventMax), b.Events(t, EventOOM))
	}
	// Charges to the root itself are not counted.
	must(t0, root.TryCharge(t, 1000))
	Uncharge(t, root, 1000)
	if usage(t, root) != 6 {
		t0.Fatalf("root usage %d", usage(t, root))
	}
	Uncharge(t, b, 6)
	if usage(t, root) != 0 {
		t0.Fatalf("root usage %d", usage(t, root))
	}
}

func TestReclaimRetriedUntilSuccess(t0 *testing.T) {
	t, root, a, b := tree(t0, V2)
	c := mustChild(t0, t, a, "c")
	must(t0, a.SetMemoryMax(t, 10*pg))
	r := &fakeReclaimer{budget: -1}
	root.Hierarchy().SetReclaimer(t, r)
	r.charge(t0, t, c, 10)
	// b is under a; the limit is a's, so a is reclaimed and c's pages go.
	must(t0, b.TryCharge(t, 3))
	if len(r.calls) != 1 || r.calls[0] != a {
		t0.Fatalf("reclaim calls %v, want [a]", r.calls)
	}
	if usage(t, b) != 3 || usage(t, c) != 7 || usage(t, a) != 10 {
		t0.Fatalf("usage b %d c %d a %d", usage(t, b), usage(t, c), usage(t, a))
	}
	// A reclaimer that frees one page a call: retried until it fits.
	r.calls = nil
	r.budget = -1
	must(t0, b.TryCharge(t, 0))
	rr := &slowReclaimer{inner: r}
	root.Hierarchy().SetReclaimer(t, rr)
	must(t0, b.TryCharge(t, 5))
	if len(r.calls) != 5 {
		t0.Fatalf("%d reclaim calls, want 5", len(r.calls))
	}
	if a.EventsLocal(t, EventMax) != 6 || a.Events(t, EventOOM) != 0 {
		t0.Fatalf("events max %d oom %d", a.EventsLocal(t, EventMax), a.Events(t, EventOOM))
	}
}

// slowReclaimer frees one page per call.
type slowReclaimer struct{ inner *fakeReclaimer }

func (s *slowReclaimer) ReclaimMemcg(t *Task, over *MemCgroup, nr int) int {
	return s.inner.ReclaimMemcg(t, over, 1)
}

func TestReclaimGivesUpWithOOM(t0 *testing.T) {
	t, root, a, b := tree(t0, V2)
	must(t0, a.SetMemoryMax(t, 4*pg))
	must(t0, b.TryCharge(t, 4))
	// No reclaimer: fails at once.
	asOOM(t0, b.TryCharge(t, 1))
	if a.Events(t, EventMax) != 1 {
		t0.Fatalf("max events %d", a.Events(t, EventMax))
	}
	r := &fakeReclaimer{budget: 0}
	root.Hierarchy().SetReclaimer(t, r)
	oom := asOOM(t0, b.TryCharge(t, 1))
	if oom.Over != a {
		t0.Fatalf("over %v", oom.Over)
	}
	if len(r.calls) != MaxReclaimRetries {
		t0.Fatalf("%d reclaim calls, want %d", len(r.calls), MaxReclaimRetries)
	}
	for _, c := range r.calls {
		if c != a {
			t0.Fatalf("reclaimed %v, want a", c)
		}
	}
	if got := a.Events(t, EventOOM); got != 2 {
		t0.Fatalf("oom events %d", got)
	}
	if usage(t, a) != 4 {
		t0.Fatalf("usage %d", usage(t, a))
	}
}

func TestV1Memsw(t0 *testing.T) {
	t, _, a, b := tree(t0, V1)
	h := a.Hierarchy()
	// v1 order: the memory limit first, then memsw (not below it).
	if err := a.SetMemswMax(t, 15*pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("memsw below the (unlimited) memory limit: %v", err)
	}
	must(t0, a.SetMemoryMax(t, 10*pg))
	must(t0, a.SetMemswMax(t, 15*pg))
	if err := a.SetMemswMax(t, 9*pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("memsw below memory: %v", err)
	}
	if err := a.SetMemoryMax(t, 16*pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("memory above memsw: %v", err)
	}
	if err := a.SetSwapMax(t, pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("swap.max in v1: %v", err)
	}
	must(t0, b.TryCharge(t, 10))
	if a.Memsw().Read(t) != 10 {
		t0.Fatalf("memsw %d", a.Memsw().Read(t))
	}
	if oom := asOOM(t0, b.TryCharge(t, 1)); oom.Counter != "memory" {
		t0.Fatalf("counter %s", oom.Counter)
	}
	// Swap out 5 pages: each gets a slot (memsw charge), then the folio
	// is freed (memory and memsw uncharged): the charge moved to swap.
	charge := ChargeSwapFunc(t, b)
	for range 5 {
		id, err := charge(0)
		must(t0, err)
		if id != b.ID() {
			t0.Fatalf("recorded id %d, want %d", id, b.ID())
		}
	}
	Uncharge(t, b, 5)
	if usage(t, a) != 5 || a.Memsw().Read(t) != 10 {
		t0.Fatalf("after swap-out: memory %d memsw %d, want 5 10", usage(t, a), a.Memsw().Read(t))
	}
	if s := b.Stats(t); s.Swap.Usage != 5 {
		t0.Fatalf("v1 swap usage %d", s.Swap.Usage)
	}
	// Memory has room, memsw has 5 left.
	must(t0, b.TryCharge(t, 5))
	oom := asOOM(t0, b.TryCharge(t, 1))
	if oom.Counter != "memsw" || oom.Over != a || oom.Usage != 15 || oom.Limit != 15 {
		t0.Fatalf("OOMError %+v", *oom)
	}
	if usage(t, a) != 10 {
		t0.Fatalf("memsw failure left a memory charge: %d", usage(t, a))
	}
	// Swapping out is never refused by memsw: the slot is charged anyway.
	must(t0, TryChargeSwap(t, b, 1))
	Uncharge(t, b, 1)
	// Slots freed: memsw goes down.
	h.UnchargeSwap(t, b.ID(), 6)
	if a.Memsw().Read(t) != 9 || usage(t, a) != 9 {
		t0.Fatalf("memsw %d memory %d", a.Memsw().Read(t), usage(t, a))
	}
	if SwapFull(t, b) {
		t0.Fatal("SwapFull in v1")
	}
	if NrSwapPages(t, b, 77) != 77 {
		t0.Fatal("NrSwapPages in v1")
	}
	Uncharge(t, b, 9)
	if a.Memsw().Read(t) != 0 || usage(t, a) != 0 {
		t0.Fatal("not zero")
	}
	if !strings.Contains(a.StatString(t), "memory.memsw.limit_in_bytes") {
		t0.Fatal(a.StatString(t))
	}
}

func TestV2SwapMax(t0 *testing.T) {
	t, root, a, b := tree(t0, V2)
	h := root.Hierarchy()
	must(t0, a.SetSwapMax(t, 4*pg+100)) // rounds down to 4 pages
	if a.Swap().Max(t) != 4 {
		t0.Fatalf("swap.max %d", a.Swap().Max(t))
	}
	if err := a.SetMemswMax(t, pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("memsw in v2: %v", err)
	}
	must(t0, b.TryCharge(t, 8))
	charge := ChargeSwapFunc(t, b)
	if SwapFull(t, b) {
		t0.Fatal("SwapFull at 0")
	}
	for range 4 {
		id, err := charge(0)
		must(t0, err)
		if id != b.ID() {
			t0.Fatalf("id %d", id)
		}
	}
	if !SwapFull(t, b) || NrSwapPages(t, b, 100) != 0 {
		t0.Fatal("SwapFull/NrSwapPages at the limit")
	}
	// memory is not touched by swap charging in v2.
	if usage(t, a) != 8 || a.Swap().Read(t) != 4 {
		t0.Fatalf("memory %d swap %d", usage(t, a), a.Swap().Read(t))
	}
	_, err := charge(0)
	oom := asOOM(t0, err)
	if oom.Counter != "swap" || oom.Over != a || !strings.Contains(err.Error(), "swap limit reached") {
		t0.Fatalf("%v", err)
	}
	if b.Events(t, EventSwapFail) != 1 || b.Events(t, EventSwapMax) != 1 || a.Events(t, EventSwapFail) != 1 || b.EventsLocal(t, EventSwapFail) != 1 || a.EventsLocal(t, EventSwapFail) != 0 {
		t0.Fatal("swap events")
	}
	h.UnchargeSwap(t, b.ID(), 3)
	if a.Swap().Read(t) != 1 || SwapFull(t, b) || NrSwapPages(t, b, 100) != 3 || NrSwapPages(t, b, 2) != 2 {
		t0.Fatalf("after uncharge: swap %d", a.Swap().Read(t))
	}
	// Lowering swap.max below the usage is allowed (swap_max_write).
	must(t0, a.SetSwapMax(t, 0))
	h.UnchargeSwap(t, b.ID(), 1)
	// The root: not counted, but its id is recorded.
	id, err := ChargeSwapFunc(t, root)(0)
	must(t0, err)
	if id != RootID || root.Swap().Read(t) != 0 {
		t0.Fatalf("root id %d swap %d", id, root.Swap().Read(t))
	}
	h.UnchargeSwap(t, RootID, 1)
	Uncharge(t, b, 8)
	if err := root.SetSwapMax(t, pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("root swap.max: %v", err)
	}
	if s := a.StatString(t); !strings.Contains(s, "memory.swap.max") || !strings.Contains(s, "memory.swap.events fail") {
		t0.Fatal(s)
	}
}

func TestSetMemoryMaxReclaims(t0 *testing.T) {
	t, root, a, b := tree(t0, V2)
	r := &fakeReclaimer{budget: 4}
	root.Hierarchy().SetReclaimer(t, r)
	r.charge(t0, t, b, 10)
	must(t0, a.SetMemoryMax(t, 6*pg+pg-1)) // 6 pages: reclaims 4
	if a.Memory().Max(t) != 6 || usage(t, a) != 6 {
		t0.Fatalf("max %d usage %d", a.Memory().Max(t), usage(t, a))
	}
	if len(r.calls) != 1 || r.calls[0] != a {
		t0.Fatalf("calls %v", r.calls)
	}
	// Nothing more can be reclaimed: fails, and the old limit stays.
	err := a.SetMemoryMax(t, 2*pg)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "/a") {
		t0.Fatalf("err %v", err)
	}
	if a.Memory().Max(t) != 6 || usage(t, a) != 6 {
		t0.Fatalf("max %d usage %d", a.Memory().Max(t), usage(t, a))
	}
	// No reclaimer: EBUSY at once.
	root.Hierarchy().SetReclaimer(t, nil)
	if err := b.SetMemoryMax(t, pg); !errors.Is(err, ErrBusy) {
		t0.Fatalf("err %v", err)
	}
	must(t0, b.SetMemoryMax(t, Unlimited))
	if b.Memory().Max(t) != PageCounterMax {
		t0.Fatal("Unlimited")
	}
	if err := root.SetMemoryMax(t, pg); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("root: %v", err)
	}
	if err := a.SetMemoryMax(t, -1); !errors.Is(err, ErrInvalid) {
		t0.Fatalf("negative: %v", err)
	}
	Uncharge(t, b, 6)
}

func TestParseLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"max", Unlimited, true},
		{"0", 0, true},
		{"4096", 4096, true},
		{"4097\n", 4097, true},
		{"1k", 1024, true},
		{"2M", 2 << 20, true},
		{"3g", 3 << 30, true},
		{"9E", Unlimited, true},
		{"", 0, false},
		{"-1", 0, false},
		{"12q", 0, false},
	} {
		got, err := ParseLimit(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseLimit(%q) = %d, %v", c.in, got, err)
		}
	}
}

func TestRemove(t0 *testing.T) {
	for _, mode := range []Mode{V1, V2} {
		t0.Run(mode.String(), func(t0 *testing.T) {
			t, root, a, b := tree(t0, mode)
			h := root.Hierarchy()
			if err := root.Remove(t); !errors.Is(err, ErrInvalid) {
				t0.Fatalf("root: %v", err)
			}
			if err := a.Remove(t); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "child") {
				t0.Fatalf("with children: %v", err)
			}
			must(t0, b.TryCharge(t, 2))
			if err := b.Remove(t); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "2 page(s)") {
				t0.Fatalf("with pages: %v", err)
			}
			must(t0, TryChargeSwap(t, b, 1))
			Uncharge(t, b, 2)
			if err := b.Remove(t); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "1 swap slot(s)") {
				t0.Fatalf("with swap: %v", err)
			}
			if !b.Online(t) {
				t0.Fatal("refused Remove left b offline")
			}
			h.UnchargeSwap(t, b.ID(), 1)
			id := b.ID()
			must(t0, b.Remove(t))
			if h.FromID(t, id) != nil || len(a.Children(t)) != 0 {
				t0.Fatal("still registered")
			}
			if err := b.TryCharge(t, 1); !errors.Is(err, ErrRemoved) {
				t0.Fatalf("charge removed: %v", err)
			}
			if usage(t, a) != 0 {
				t0.Fatal("removed charge leaked")
			}
			if _, err := b.NewChild(t, "x"); !errors.Is(err, ErrRemoved) {
				t0.Fatalf("child of removed: %v", err)
			}
			c := mustChild(t0, t, a, "c")
			if c.ID() != id || h.FromID(t, id) != c || c.Path() != "/a/c" {
				t0.Fatalf("id %d not reused by %v", id, c)
			}
			if _, err := a.NewChild(t, "c"); err == nil {
				t0.Fatal("duplicate name")
			}
			if _, err := a.NewChild(t, "x/y"); !errors.Is(err, ErrInvalid) {
				t0.Fatal("slash in name")
			}
			if h.FromID(t, RootID) != root || h.FromID(t, 999) != nil {
				t0.Fatal("FromID")
			}
		})
	}
}

func TestSwapinCharge(t0 *testing.T) {
	t, root, a, b := tree(t0, V2)
	c := mustChild(t0, t, a, "c")
	got, err := SwapinCharge(t, b.ID(), c, 1)
	must(t0, err)
	if got != b || usage(t, b) != 1 {
		t0.Fatalf("charged %v", got)
	}
	got, err = SwapinCharge(t, 0, c, 1)
	must(t0, err)
	if got != c || usage(t, c) != 1 {
		t0.Fatalf("charged %v", got)
	}
	Uncharge(t, b, 1)
	id := b.ID()
	must(t0, b.Remove(t))
	got, err = SwapinCharge(t, id, c, 1)
	must(t0, err)
	if got != c || usage(t, c) != 2 {
		t0.Fatalf("charged %v", got)
	}
	must(t0, c.SetMemoryMax(t, 2*pg))
	if _, err := SwapinCharge(t, 0, c, 1); err == nil {
		t0.Fatal("charge over the limit succeeded")
	}
	Uncharge(t, c, 2)
	_ = root
}
