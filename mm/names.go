package mm

import (
	"fmt"
	"reflect"
	"strings"
)

// ObjectName names an object of the node for traces: "mmlist_lock",
// "lruvec1->lru_lock", "vmstat.pgfault". It returns "" for an object
// that is not the node's. It is for the explorer's traces, which call it
// once per object of a recorded run; it reads no state that could change
// the run (the lruvec table is read without the scheduler).
func (n *Node) ObjectName(obj any) string {
	switch obj {
	case &n.lruvecsLock:
		return "lruvecs_lock"
	case &n.lruvecs:
		return "lruvecs"
	case &n.mmlistLock:
		return "mmlist_lock"
	}
	for _, lv := range n.lruvecList {
		if obj == &lv.lock {
			return fmt.Sprintf("lruvec%d->lru_lock", lv.memcgID)
		}
	}
	st := reflect.ValueOf(&n.Stat).Elem()
	for i := range st.NumField() {
		if st.Field(i).Addr().Interface() == obj {
			return "vmstat." + strings.ToLower(st.Type().Field(i).Name)
		}
	}
	return ""
}

// ObjectName names an object of the address space for traces:
// "mm1->mmap_lock", "mm1->page_table_lock", and for the leaf tables of
// its mappings "ptl@0x100000000" and "pte@0x100003000" (the address the
// entry maps). It returns "" for an object that is not the address
// space's. Like Node.ObjectName it is for traces only.
func (m *MM) ObjectName(obj any) string {
	switch obj {
	case &m.mmapLock:
		return fmt.Sprintf("mm%d->mmap_lock", m.id)
	case &m.pageTableLock:
		return fmt.Sprintf("mm%d->page_table_lock", m.id)
	}
	for gi := range m.pgd {
		pmd := m.pgd[gi].Peek()
		if pmd == nil {
			continue
		}
		for mi := range pmd.tables {
			pt := pmd.tables[mi].Peek()
			if pt == nil {
				continue
			}
			base := uint64(gi)<<pgdShift | uint64(mi)<<pmdShift
			if obj == &pt.ptl {
				return fmt.Sprintf("ptl@%#x", base)
			}
			for i := range pt.ptes {
				if obj == &pt.ptes[i] {
					return fmt.Sprintf("pte@%#x", base|uint64(i)<<PageShift)
				}
			}
		}
	}
	return ""
}
