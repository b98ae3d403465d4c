package mem

import (
	"fmt"

	"uswap/ksync"
)

// ObjectName names an object of the pool for traces, with the kernel's
// names: "zone->lock", "NR_FREE_PAGES", "folio(pfn 7)->flags", a bit of
// it that a task waits on ("folio(pfn 7)->flags PG_locked"),
// "folio(pfn 7)->_refcount", "folio(pfn 7)->_mapcount". It returns "" for
// an object that is not the pool's. It reads no state that could change
// a run.
func (p *Pool) ObjectName(obj any) string {
	switch obj {
	case &p.lock:
		return "zone->lock"
	case &p.nrFree:
		return "NR_FREE_PAGES"
	}
	if k, ok := obj.(ksync.BitKey); ok {
		if i := p.folioOf(k.Flags); i >= 0 {
			return fmt.Sprintf("folio(pfn %d)->flags PG_%s", i, flagName(k.Bit))
		}
		return ""
	}
	if len(p.folios) == 0 {
		return ""
	}
	for i := range p.folios {
		f := &p.folios[i]
		switch obj {
		case &f.Flags:
			return fmt.Sprintf("folio(pfn %d)->flags", i)
		case &f.refcount:
			return fmt.Sprintf("folio(pfn %d)->_refcount", i)
		case &f.mapcount:
			return fmt.Sprintf("folio(pfn %d)->_mapcount", i)
		}
	}
	return ""
}

// folioOf is the frame number of the folio whose flags fl is, or -1.
func (p *Pool) folioOf(fl *ksync.Flags) int {
	for i := range p.folios {
		if &p.folios[i].Flags == fl {
			return i
		}
	}
	return -1
}

// flagName is the PG_ name of a flag bit, without the prefix.
func flagName(bit uint) string {
	if int(bit) < len(flagNames) {
		return flagNames[bit]
	}
	return fmt.Sprintf("bit%d", bit)
}
