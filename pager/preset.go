package pager

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
	"uswap/uffd"
)

// Preset puts a page in a known state before anything else runs, as if
// the process had written data to it and the pager had then evicted it
// (swapped) or not (resident, dirty): for tests and the explorer's
// scenarios, which need pages swapped out without running the whole
// protocol in their set-up. It reports an error if there is no frame or
// slot for it.
func (p *Pager) Preset(t *ksync.Task, page uint64, data []byte, swapped bool) error {
	if p.pteGet(t, page) != 0 {
		return fmt.Errorf("pager: preset of page %d, which is %v", page, p.pteGet(t, page))
	}
	f := p.pool.Alloc(t)
	if f == nil {
		return fmt.Errorf("pager: preset of page %d: no frame free", page)
	}
	f.Flags.Set(t, mem.PGSwapBacked)
	if !swapped {
		if err := p.ops.Copy(t, page, data, uffd.CopyDontWake); err != nil {
			f.Put(t)
			return fmt.Errorf("pager: preset of page %d: %w", page, err)
		}
		f.Mapping, f.Index = p, page
		f.AddMap(t)
		f.Flags.Set(t, mem.PGDirty)
		p.pteSet(t, page, presentPte(f.PFN()))
		p.lru.add(t, f, false)
		return nil
	}
	f.Lock(t)
	defer func() {
		f.Unlock(t)
		f.Put(t)
	}()
	e, err := p.core.FolioAllocSwap(t, f, nil)
	if err != nil {
		return fmt.Errorf("pager: preset of page %d: %w", page, err)
	}
	defer p.core.SwapCacheDelFolio(t, f)
	if err := p.si.WritePage(t, e, data); err != nil {
		return fmt.Errorf("pager: preset of page %d: %w", page, err)
	}
	if err := p.core.SwapDuplicate(t, e); err != nil {
		return fmt.Errorf("pager: preset of page %d: %w", page, err)
	}
	p.pteSet(t, page, swapPte(e))
	return nil
}

// PageState describes a page for checks and traces: "none",
// "present(pfn N)", "swp(T:O)", "gone", "poisoned".
func (p *Pager) PageState(t *ksync.Task, page uint64) string { return p.pteGet(t, page).String() }

// ObjectName names the pager's objects in traces: "pager->event_lock",
// "pte[3]", "pte[3]->ptl", "lru_lock".
func (p *Pager) ObjectName(obj any) string {
	switch o := obj.(type) {
	case ksync.BitKey:
		// A sleep on the PTE's bit lock (wait_on_bit of the ptl bit).
		if i, ok := p.pteIndex(func(e *pte) bool { return &e.ptl == o.Flags }); ok {
			return fmt.Sprintf("pte[%d]->ptl", i)
		}
	case *ksync.RWSem:
		if o == &p.eventLock {
			return "pager->event_lock"
		}
	case *ksync.SpinLock:
		if o == &p.lru.lock {
			return "lruvec->lru_lock"
		}
	case *ksync.Uint64:
		if i, ok := p.pteIndex(func(e *pte) bool { return &e.val == o }); ok {
			return fmt.Sprintf("pte[%d]", i)
		}
	case *ksync.Flags:
		if i, ok := p.pteIndex(func(e *pte) bool { return &e.ptl == o }); ok {
			return fmt.Sprintf("pte[%d]->ptl", i)
		}
	case *ksync.Int64:
		switch o {
		case &p.age:
			return "workingset_age"
		case &p.lastFault:
			return "last_fault"
		}
	case *ksync.Bool:
		if o == &p.stopping {
			return "pager->stopping"
		}
	case *ksync.WaitQueue:
		switch o {
		case &p.kswapdWQ:
			return "kswapd_wait"
		case &p.exited:
			return "pager->exited"
		}
	}
	return ""
}

func (p *Pager) pteIndex(match func(*pte) bool) (int, bool) {
	for i := range p.ptes {
		if match(&p.ptes[i]) {
			return i, true
		}
	}
	return 0, false
}
