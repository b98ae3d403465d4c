package explore

import (
	"fmt"
	"uswap/invariant"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
)

// The shmem-swapoff scenario is a race from the kernel's history, the
// shmem half of the work that followed seed 003: shmem_swapin_folio()
// racing swapoff, fixed by commit 2efa33fc7f6e ("mm/shmem: fix
// shmem_swapin() race with swapoff", Miaohe Lin, 2021), which made shmem's
// swap-in hold get_swap_device() as do_swap_page() does (2799e77529c2,
// "swap: fix do_swap_page() race with swapoff", same series):
//
//	CPU 1 (shmem read: swap-in)        CPU 2 (swapoff)
//	entry = i_pages[index]
//	si = swap_info[type]
//	                                   shmem_unuse(): page in, i_pages
//	                                     holds the folio again
//	                                   p->swap_map = NULL
//	swap cache lookup, swapcache_prepare
//	  p->swap_map[offset]  !!! freed
//
// uswap's shmem swap-in goes through the same GetSwapDevice as the
// anonymous fault path, so the swap-device-ref switch reverts it too.
func init() {
	register(&Scenario{
		Name:   "shmem-swapoff",
		Seed:   "003",
		Fix:    fixes.SwapDevice,
		Commit: "2efa33fc7f6e (mm/shmem: fix shmem_swapin() race with swapoff)",
		Doc: "swapoff against a shmem swap-in: shmem_swapin_folio() looks the entry's device up and\n" +
			"uses its swap_map; without get_swap_device() swapoff can bring the page in through\n" +
			"shmem_unuse() and free swap_map in between, and the read dereferences the freed map.",
		MaxSteps: 50_000,
		Setup:    setupShmemSwapoff,
	})
}

const shmemSwapoffValue = 0x5a

type shmemSwapoff struct {
	sys        *system.System
	f          *mm.ShmemFile
	readErr    error
	readBuf    []byte
	swapoffErr error
}

func setupShmemSwapoff(t *ksync.Task, env Env) (*Instance, error) {
	fx := env.Fixes
	s, err := system.New(t, system.Config{
		Frames:      16,
		Devices:     []system.DeviceConfig{{Kind: "ram", Pages: 10, Priority: -1}},
		Fixes:       fx,
		PageCluster: 0,
	})
	if err != nil {
		return nil, err
	}
	w := &shmemSwapoff{sys: s, readBuf: make([]byte, 8)}
	if w.f, err = s.ShmemCreate(t, 0); err != nil {
		return nil, err
	}
	if _, err := w.f.Write(t, 0, samePage(shmemSwapoffValue)); err != nil {
		return nil, err
	}
	s.Node().Drain(t)
	if n := w.f.NrSwapped(t); n != 1 {
		return nil, fmt.Errorf("%d shmem pages swapped out, want 1", n)
	}
	return &Instance{
		// The read first: a non-preemptive run reads, then swaps off
		// (no race); one preemption inside the read lets swapoff run
		// whole in the window.
		Tasks: []Task{
			{Name: "read", CPU: 0, Fn: w.read},
			{Name: "swapoff", CPU: 1, Fn: w.swapoff},
		},
		Check:      w.check,
		Namer:      systemNamer(s),
		PanicMeans: invariant.NoUseAfterSwapoff,
	}, nil
}

func (w *shmemSwapoff) read(t *ksync.Task) {
	_, w.readErr = w.f.Read(t, 0, w.readBuf)
}

func (w *shmemSwapoff) swapoff(t *ksync.Task) {
	w.swapoffErr = w.sys.Swapoff(t, 0)
}

func (w *shmemSwapoff) check(t *ksync.Task) error {
	var vs invariant.List
	if w.readErr != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "read", "%s", w.readErr.Error()))
	} else if i := firstNot(w.readBuf, shmemSwapoffValue); i >= 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "page", "read byte %d is %#x, want %#x", i, w.readBuf[i], shmemSwapoffValue))
	}
	if w.swapoffErr != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "swapoff", "%s", w.swapoffErr.Error()))
	}
	vs = append(vs, w.sys.Audit(t)...)
	buf := make([]byte, mem.PageSize)
	if _, err := w.f.Read(t, 0, buf); err != nil {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "page", "%s", err.Error()))
	} else if i := firstNot(buf, shmemSwapoffValue); i >= 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "page", "byte %d is %#x after swapoff, want %#x", i, buf[i], shmemSwapoffValue))
	}
	if err := w.f.Delete(t); err != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "delete", "%s", err.Error()))
	}
	vs = append(vs, w.sys.AuditEmpty(t)...)
	w.sys.Shutdown(t)
	return vs.Err()
}
