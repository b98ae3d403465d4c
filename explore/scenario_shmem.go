package explore

import (
	"errors"
	"fmt"
	"uswap/invariant"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
)

// The shmem-swapin scenario is seed 004: shmem_swapin_folio() racing a
// hole punch, and failing its memcg charge. File F (page 0) is charged to
// a cgroup full of anonymous memory that cannot be swapped (swap.max is
// reached), so its swap-in's charge fails; file G (G's page below) is the
// root's, whose charge succeeds. Both pages are swapped out.
//
//	A reads F's page 0: read into the swap cache, lock, confirm, charge
//	  fails (-ENOMEM).
//	D reads G's page while B punches it:
//
//	D (shmem_swapin_folio)               B (shmem_undo_range)
//	folio_lock(folio of E1)
//	shmem_confirm_swap(E1): yes
//	                                     i_pages[1] = none
//	                                     free_swap_and_cache(E1): the
//	                                       trylock fails, the folio
//	                                       stays in the swap cache
//	charge fails, or add_to_page_cache
//	  sees E1 gone (-EEXIST)
//
//	C, after A, B and D: frees the cgroup (the mm exits), reads page 0
//	  again and G's page (a hole now).
//
// With the fix (shmem-swapin-keep-cache) A's folio stays in the swap
// cache, so C's read of page 0 does not touch the device; D's folio is
// freed by D itself when it sees E1 purged, or by reclaim (the check's
// AuditEmpty drains it). With the fix reverted A deletes its folio from
// the swap cache on -ENOMEM, and C reads page 0 from the device again.
func init() {
	register(&Scenario{
		Name:   "shmem-swapin",
		Seed:   "004",
		Fix:    fixes.ShmemSwapin,
		Commit: "v5.8 series \"mm: memcontrol: charge swapin pages on instantiation\" (Johannes Weiner, Joonsoo Kim review, May 2020)",
		Doc: "shmem swap-in of a page against a hole punch of it (free_swap_and_cache only trylocks the\n" +
			"folio) and against a failed memcg charge. Deleting the folio from the swap cache on any\n" +
			"error (the patch under review) makes the next fault read the page from the device again;\n" +
			"the fix deletes it only when the index entry was purged, and leaves strays to reclaim.",
		MaxSteps: 50_000,
		Setup:    setupShmemSwapin,
	})
}

type shmemSwapin struct {
	sys        *system.System
	f          *mm.ShmemFile // the workload's: page 0 is A's
	g          *mm.ShmemFile // the root's: page 0 is D's and B's
	m          *mm.MM
	done       [3]ksync.Completion // A, B, D
	errs       [4]error            // A, B, C, D
	cReads     uint64              // device reads of C's read of page 0
	page0      []byte
	page0Want  []byte
	page1      []byte
	page1Short int
}

func setupShmemSwapin(t *ksync.Task, env Env) (*Instance, error) {
	fx := env.Fixes
	s, err := system.New(t, system.Config{
		Frames:      32,
		MemcgLimit:  4,
		SwapLimit:   1,
		Devices:     []system.DeviceConfig{{Kind: "ram", Pages: 16, Priority: -1}},
		Fixes:       fx,
		PageCluster: 0,
	})
	if err != nil {
		return nil, err
	}
	w := &shmemSwapin{sys: s, page0: make([]byte, mem.PageSize), page1: make([]byte, mem.PageSize)}
	if w.f, err = s.ShmemCreate(t, 0); err != nil {
		return nil, err
	}
	w.page0Want = samePage(0x40)
	if _, err := w.f.Write(t, 0, w.page0Want); err != nil {
		return nil, err
	}
	// The punched file is the root cgroup's, so that B's freeing its
	// slot never gives the full cgroup swap room to reclaim into.
	if w.g, err = s.Node().ShmemCreate(t, s.Root(), 0); err != nil {
		return nil, err
	}
	if _, err := w.g.Write(t, 0, samePage(0x41)); err != nil {
		return nil, err
	}
	s.Node().Drain(t)
	if n := w.f.NrSwapped(t) + w.g.NrSwapped(t); n != 2 {
		return nil, fmt.Errorf("%d shmem pages swapped out, want 2", n)
	}
	w.m = s.NewMM(t)
	addr, err := w.m.Mmap(t, 4*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		return nil, err
	}
	for i := range 4 {
		if err := w.m.Store(t, addr+uint64(i)*mem.PageSize, samePage(byte(i+1))); err != nil {
			return nil, err
		}
	}
	names := map[any]string{&w.done[0]: "A_done", &w.done[1]: "B_done", &w.done[2]: "D_done"}
	return &Instance{
		Tasks: []Task{
			{Name: "A", CPU: 0, Fn: w.taskA},
			{Name: "B", CPU: 1, Fn: w.taskB},
			{Name: "D", CPU: 2, Fn: w.taskD},
			{Name: "C", CPU: 3, Fn: w.taskC},
		},
		Check: w.check,
		Names: names,
		Namer: systemNamer(s, w.m),
	}, nil
}

func (w *shmemSwapin) taskA(t *ksync.Task) {
	defer w.done[0].Complete(t)
	b := make([]byte, 8)
	_, w.errs[0] = w.f.Read(t, 0, b)
}

func (w *shmemSwapin) taskB(t *ksync.Task) {
	defer w.done[1].Complete(t)
	w.errs[1] = w.g.PunchHole(t, 0, mem.PageSize)
}

func (w *shmemSwapin) taskD(t *ksync.Task) {
	defer w.done[2].Complete(t)
	b := make([]byte, 8)
	_, w.errs[3] = w.g.Read(t, 0, b)
}

func (w *shmemSwapin) taskC(t *ksync.Task) {
	for i := range w.done {
		w.done[i].Wait(t)
	}
	w.m.Exit(t)
	before := w.sys.Core().Stats.PswpIn.Sum()
	if _, w.errs[2] = w.f.Read(t, 0, w.page0); w.errs[2] != nil {
		return
	}
	w.cReads = w.sys.Core().Stats.PswpIn.Sum() - before
	w.page1Short, w.errs[2] = w.g.Read(t, 0, w.page1)
}

func (w *shmemSwapin) check(t *ksync.Task) error {
	var vs invariant.List
	for i, err := range w.errs {
		// A and D may fail their charge: the cgroup is full.
		if err != nil && !(i != 1 && i != 2 && errors.Is(err, mm.ErrOOM)) {
			vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, string("ABCD"[i]), "%s", err.Error()))
		}
	}
	if w.errs[2] == nil {
		if i := firstNot(w.page0, 0x40); i >= 0 {
			vs = append(vs, invariant.Newf(invariant.NoLostData, "page 0", "byte %d is %#x, want 0x40", i, w.page0[i]))
		}
		if w.cReads != 0 {
			vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "page 0", "read from the device again (%d reads) after A's failed charge: the swap cache copy was thrown away", w.cReads))
		}
		if i := firstNot(w.page1, 0); i >= 0 || w.page1Short != mem.PageSize {
			vs = append(vs, invariant.Newf(invariant.NoLostData, "G's page", "punched, but reads %d bytes with byte %d nonzero", w.page1Short, i))
		}
	}
	vs = append(vs, w.sys.Audit(t)...)
	for _, f := range []*mm.ShmemFile{w.f, w.g} {
		if err := f.Delete(t); err != nil {
			vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "delete", "%s", err.Error()))
		}
	}
	vs = append(vs, w.sys.AuditEmpty(t)...)
	w.sys.Shutdown(t)
	return vs.Err()
}
