package explore

import (
	"bytes"
	"fmt"
	"uswap/invariant"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
)

// The swapcache-pin scenario is seed 000's race on the real engine
// (system.New, do_swap_page's synchronous bypass in mm/fault_swap.go):
// two faults on one entry of a synchronous device, with a swap-out in
// between that gives the page the same entry again, so that the second
// fault's pte_same() cannot tell (ABA).
//
// The ABA is certain by construction: the RAM device has 10 pages, so 9
// usable slots; 8 other pages are swapped out and stay out, and the
// target page P takes the ninth, slot S. Once A's fault freed S, it is
// the only free slot, and C's MADV_PAGEOUT puts P back on S:
//
//	A (Load P, Store P)        B (Load P)                C (MADV_PAGEOUT P)
//	                           pte = E(S), count 1
//	                           read S: old data
//	pte = E(S), count 1
//	read S, map, swap_free(S)
//	store the new value
//	                                                     add_to_swap: S again
//	                                                     pte = E(S), write S
//	                           pte_same(E(S)): passes!
//	                           swap_free(S): frees the new S
//	                           map the old data  !!! the store is lost
//
// With the pin (swapcache_prepare, commit 13ddaf26be32) B cannot pin S
// while A holds it: it waits a tick and refaults. C waits for A (a
// completion), which leaves the race to B against A and C in a row:
// PCT needs one change point in B, DFS one preemption.
func init() {
	register(&Scenario{
		Name:   "swapcache-pin",
		Seed:   "000",
		Fix:    fixes.Swapcache,
		Commit: "13ddaf26be32 (mm/swap: fix race when skipping swapcache)",
		Doc: "two faults on one entry of a synchronous device skip the swap cache; between them the\n" +
			"first maps the page, it is written and paged out again onto the same (only free) slot,\n" +
			"so the PTE holds the same entry again (ABA). Without swapcache_prepare() pinning the\n" +
			"entry, the second fault's pte_same passes: it frees the new slot and maps stale data.",
		MaxSteps: 20_000,
		Setup:    setupSwapcachePin,
	})
}

const (
	pinDevPages = 10 // the minimum mkswap size: 9 usable slots
	pinPages    = pinDevPages - 1
	pinTarget   = pinPages - 1 // P: the last page swapped out, on the last slot
	// The pages are same-filled (zram keeps those without data, which
	// keeps the setup cheap): page i holds pinOld+i, A stores pinNew.
	pinOld = 0x10
	pinNew = 0xa5
)

type swapcachePin struct {
	sys   *system.System
	m     *mm.MM
	base  uint64
	aDone ksync.Completion
	errs  [3]error
}

func (w *swapcachePin) addr(i int) uint64 { return w.base + uint64(i)*mem.PageSize }

func setupSwapcachePin(t *ksync.Task, env Env) (*Instance, error) {
	fx := env.Fixes
	s, err := system.New(t, system.Config{
		Frames:  16,
		Devices: []system.DeviceConfig{{Kind: "ram", Pages: pinDevPages, Priority: -1}},
		Fixes:   fx,
		// No readahead, no kswapd: the only swap-outs are C's.
		PageCluster: 0,
	})
	if err != nil {
		return nil, err
	}
	w := &swapcachePin{sys: s, m: s.NewMM(t)}
	if w.base, err = w.m.Mmap(t, pinPages*mem.PageSize, mm.ProtRead|mm.ProtWrite); err != nil {
		return nil, err
	}
	for i := range pinPages {
		if err := w.m.Store(t, w.addr(i), samePage(pinOld+byte(i))); err != nil {
			return nil, err
		}
	}
	// Swap out the others first, then P: it takes the last slot.
	if err := w.m.MadvisePageout(t, w.base, pinTarget*mem.PageSize); err != nil {
		return nil, err
	}
	if err := w.m.MadvisePageout(t, w.addr(pinTarget), mem.PageSize); err != nil {
		return nil, err
	}
	if free := s.Core().NrSwapPages(t); free != 0 {
		return nil, fmt.Errorf("%d slots free after the setup, want 0", free)
	}
	names := map[any]string{&w.aDone: "A_done"}
	return &Instance{
		Tasks: []Task{
			// C first: it blocks at once on A's completion; then B,
			// then A. A non-preemptive run is B, A, C (no race); one
			// preemption of B in its window gives A, then C (the
			// lowest id when A returns), then B: the race. DFS takes
			// the lowest runnable id after a task returns.
			{Name: "C", CPU: 2, Fn: w.taskC},
			{Name: "B", CPU: 1, Fn: w.taskB},
			{Name: "A", CPU: 0, Fn: w.taskA},
		},
		Check: w.check,
		Names: names,
		Namer: systemNamer(s, w.m),
	}, nil
}

// taskA faults P in (the bypass path), then writes the new contents.
func (w *swapcachePin) taskA(t *ksync.Task) {
	defer w.aDone.Complete(t)
	b := make([]byte, 8)
	if w.errs[0] = w.m.Load(t, w.addr(pinTarget), b); w.errs[0] != nil {
		return
	}
	w.errs[0] = w.m.Store(t, w.addr(pinTarget), samePage(pinNew))
}

// taskB faults P in too.
func (w *swapcachePin) taskB(t *ksync.Task) {
	b := make([]byte, 8)
	w.errs[1] = w.m.Load(t, w.addr(pinTarget), b)
}

// taskC pages P out once A wrote it: onto slot S, the only free one.
func (w *swapcachePin) taskC(t *ksync.Task) {
	w.aDone.Wait(t)
	w.errs[2] = w.m.MadvisePageout(t, w.addr(pinTarget), mem.PageSize)
}

// samePages are the same-filled pages the scenario stores, made once
// (stores only read them).
var samePages [256][]byte

func samePage(v byte) []byte {
	if samePages[v] == nil {
		samePages[v] = bytes.Repeat([]byte{v}, mem.PageSize)
	}
	return samePages[v]
}

// firstNot is the index of the first byte of b that is not v, or -1.
func firstNot(b []byte, v byte) int {
	for i, x := range b {
		if x != v {
			return i
		}
	}
	return -1
}

func (w *swapcachePin) check(t *ksync.Task) error {
	var vs invariant.List
	for i, err := range w.errs {
		if err != nil {
			vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, string(rune('A'+i)), "%s", err.Error()))
		}
	}
	// Invariant 2 and 3 first: the audit sees the state the tasks left.
	vs = append(vs, w.sys.Audit(t)...)
	// Invariant 5: A's store is what a load returns.
	buf := make([]byte, mem.PageSize)
	if err := w.m.Load(t, w.addr(pinTarget), buf); err != nil {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "P", "%s", err.Error()))
	} else if i := firstNot(buf, pinNew); i >= 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "P", "A's store is lost: byte %d is %#x, want %#x", i, buf[i], pinNew))
	}
	return vs.Err()
}
