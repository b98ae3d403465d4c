package explore

import (
	"uswap/mm"
	"uswap/system"
)

// systemNamer names a system's objects in traces with the kernel's
// names: the swap core's ("si0->lock", "ci0[0]->lock", "si0->users"),
// the frame pool's ("folio7->flags"), the node's ("lruvec1->lru_lock")
// and those of the given address spaces ("mm1->mmap_lock",
// "pte@0x100008000").
func systemNamer(s *system.System, mms ...*mm.MM) func(obj any) string {
	return func(obj any) string {
		if n := s.Core().ObjectName(obj); n != "" {
			return n
		}
		if n := s.Pool().ObjectName(obj); n != "" {
			return n
		}
		if n := s.Node().ObjectName(obj); n != "" {
			return n
		}
		for _, m := range mms {
			if n := m.ObjectName(obj); n != "" {
				return n
			}
		}
		return ""
	}
}
