package mem

import "fmt"

// ObjectName names an object of the pool for traces, with the kernel's
// names: "zone->lock", "folio7->flags" (PG_locked is a bit of it),
// "folio7->_refcount", "folio7->_mapcount". It returns "" for an object
// that is not the pool's. It reads no state that could change a run.
func (p *Pool) ObjectName(obj any) string {
	switch obj {
	case &p.lock:
		return "zone->lock"
	case &p.nrFree:
		return "NR_FREE_PAGES"
	}
	for i := range p.folios {
		f := &p.folios[i]
		switch obj {
		case &f.Flags:
			return fmt.Sprintf("folio%d->flags", i)
		case &f.refcount:
			return fmt.Sprintf("folio%d->_refcount", i)
		case &f.mapcount:
			return fmt.Sprintf("folio%d->_mapcount", i)
		}
	}
	return ""
}
