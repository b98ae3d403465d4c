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

// The swapoff-swapin scenario is seed 003's swap-in half on the real
// engine: a task faults on a swapped-out page (do_swap_page, here the
// synchronous device's bypass path) while another swaps the device off
// (swapoff: try_to_unuse walks the address space, brings the page in and
// maps it, then frees swap_map):
//
//	CPU 1 (do_swap_page)               CPU 2 (swapoff)
//	entry = pte
//	si = swap_info[type]
//	                                   try_to_unuse(): page in, pte mapped
//	                                   p->swap_map = NULL
//	__swap_count(entry)
//	  p->swap_map[offset]  !!! NULL pointer access
//
// With get_swap_device() (the swap-device-ref switch, commit
// eb085574a752) the fault holds the device's reference from the PTE read
// on, and swapoff kills the reference and waits for it before it frees
// anything; a fault that comes later finds the device gone and refaults.
func init() {
	register(&Scenario{
		Name:   "swapoff-swapin",
		Seed:   "003",
		Fix:    fixes.SwapDevice,
		Commit: "eb085574a752 (mm, swap: fix race between swapoff and some swap operations)",
		Doc: "swapoff against a swap-in: do_swap_page() looks the entry's device up and uses its\n" +
			"swap_map; without get_swap_device() nothing stops swapoff from bringing the page in\n" +
			"and freeing swap_map in between, and the fault dereferences the freed map.",
		MaxSteps: 50_000,
		Setup:    setupSwapoffSwapin,
	})
}

const swapinValue = 0x3c

type swapoffSwapin struct {
	sys        *system.System
	m          *mm.MM
	addr       uint64
	faultErr   error
	swapoffErr error
}

func setupSwapoffSwapin(t *ksync.Task, env Env) (*Instance, error) {
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
	w := &swapoffSwapin{sys: s, m: s.NewMM(t)}
	if w.addr, err = w.m.Mmap(t, mem.PageSize, mm.ProtRead|mm.ProtWrite); err != nil {
		return nil, err
	}
	if err := w.m.Store(t, w.addr, samePage(swapinValue)); err != nil {
		return nil, err
	}
	if err := w.m.MadvisePageout(t, w.addr, mem.PageSize); err != nil {
		return nil, err
	}
	if s.SwapInfo(t, 0).InusePages(t) != 1 {
		return nil, fmt.Errorf("the page was not swapped out")
	}
	return &Instance{
		// The fault first: a non-preemptive run faults, then swaps
		// off (no race); one preemption inside the fault lets
		// swapoff run whole in the window.
		Tasks: []Task{
			{Name: "fault", CPU: 0, Fn: w.fault},
			{Name: "swapoff", CPU: 1, Fn: w.swapoff},
		},
		Check:      w.check,
		Namer:      systemNamer(s, w.m),
		PanicMeans: invariant.NoUseAfterSwapoff,
	}, nil
}

func (w *swapoffSwapin) fault(t *ksync.Task) {
	b := make([]byte, 8)
	w.faultErr = w.m.Load(t, w.addr, b)
}

func (w *swapoffSwapin) swapoff(t *ksync.Task) {
	w.swapoffErr = w.sys.Swapoff(t, 0)
}

func (w *swapoffSwapin) check(t *ksync.Task) error {
	var vs invariant.List
	if w.faultErr != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "fault", "%s", w.faultErr.Error()))
	}
	if w.swapoffErr != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "swapoff", "%s", w.swapoffErr.Error()))
	}
	if w.sys.SwapInfo(t, 0) != nil {
		vs = append(vs, invariant.Newf(invariant.NoUnexpectedError, "swap 0", "still swapped on"))
	}
	vs = append(vs, w.sys.Audit(t)...)
	buf := make([]byte, mem.PageSize)
	if err := w.m.Load(t, w.addr, buf); err != nil {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "page", "%s", err.Error()))
	} else if i := firstNot(buf, swapinValue); i >= 0 {
		vs = append(vs, invariant.Newf(invariant.NoLostData, "page", "byte %d is %#x, want %#x", i, buf[i], swapinValue))
	}
	return vs.Err()
}
