package pager

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
)

// pte is the pager's page table entry for one page of the region, with
// its lock.
type pte struct {
	// val is the entry (pteVal). It changes with ptl held inside the
	// event lock's read side, or with the event lock held for writing;
	// reading it locklessly gives a snapshot (orig_pte).
	val ksync.Uint64
	// ptl's bit 0 is the page table lock of this page.
	ptl ksync.Flags
	// shadow is the workingset age when the page was last evicted (the
	// shadow entry the kernel keeps in the swap cache slot); guarded
	// like val.
	shadow uint32
}

// pteVal encodes a page's state: the kind in the top two bits, then a
// frame number (present) or a swap entry (swap).
type pteVal uint64

const (
	kindNone    = 0 // never written, or discarded: faults as a zero page
	kindPresent = 1 // resident: the folio of frame pfn
	kindSwap    = 2 // swapped out to entry
	kindGone    = 3 // unmapped by the process

	kindShift  = 62
	swapTypeSh = 40
	offsetMask = 1<<swapTypeSh - 1
)

func (v pteVal) kind() int { return int(v >> kindShift) }

// droppingBit marks a present pte whose page eviction is dropping: its
// data is in its slot (or it is a clean zero fill), its hole is being
// punched. A fault that finds it tries again later.
const droppingBit pteVal = 1 << 40

func (v pteVal) dropping() bool { return v.kind() == kindPresent && v&droppingBit != 0 }

func presentPte(pfn int) pteVal { return pteVal(kindPresent)<<kindShift | pteVal(pfn) }

func swapPte(e mem.SwpEntry) pteVal {
	if e.Offset() > offsetMask {
		panic(fmt.Sprintf("pager: swap offset %d does not fit a pte", e.Offset()))
	}
	return pteVal(kindSwap)<<kindShift | pteVal(e.Type())<<swapTypeSh | pteVal(e.Offset())
}

// gonePte is a page the process unmapped; poisonPte one whose data the
// device lost (the kernel holds a poison marker: touching it is SIGBUS)
// until the process discards it.
const (
	gonePte   = pteVal(kindGone) << kindShift
	poisonPte = gonePte | 1
)

func (v pteVal) pfn() int { return int(uint32(v)) }

func (v pteVal) entry() mem.SwpEntry {
	return mem.SwpEntryOf(int(v>>swapTypeSh)&(1<<(kindShift-swapTypeSh)-1), uint64(v)&offsetMask)
}

func (v pteVal) String() string {
	switch v.kind() {
	case kindNone:
		return "none"
	case kindPresent:
		if v.dropping() {
			return fmt.Sprintf("dropping(pfn %d)", v.pfn())
		}
		return fmt.Sprintf("present(pfn %d)", v.pfn())
	case kindSwap:
		return v.entry().String()
	}
	if v == poisonPte {
		return "poisoned"
	}
	return "gone"
}

const ptlBit = 0

func (p *Pager) lockPte(t *ksync.Task, page uint64)   { p.ptes[page].ptl.LockBit(t, ptlBit) }
func (p *Pager) unlockPte(t *ksync.Task, page uint64) { p.ptes[page].ptl.UnlockBit(t, ptlBit) }

func (p *Pager) pteGet(t *ksync.Task, page uint64) pteVal {
	return pteVal(p.ptes[page].val.Load(t))
}

func (p *Pager) pteSet(t *ksync.Task, page uint64, v pteVal) { p.ptes[page].val.Store(t, uint64(v)) }
