package mm

import (
	"fmt"
	"reflect"
	"strings"

	"uswap/ksync"
)

// shmemIndexKey is the trace key of a shmem file's index entry,
// f->i_pages[index]: plain data under the file's iPages lock, annotated
// at each access (ksync.Access) so that a race report can name it.
type shmemIndexKey struct {
	f     *ShmemFile
	index uint64
}

// traceIndex annotates an access to the index entry at index.
func (f *ShmemFile) traceIndex(t *ksync.Task, op ksync.Op, index uint64) {
	if t.Traced() {
		ksync.Access(t, op, shmemIndexKey{f, index})
	}
}

// ObjectName names an object of the node for traces: "mmlist_lock",
// "lruvec1->lru_lock", "vmstat.pgfault", the readahead state
// ("swapin_readahead_hits"), kswapd's and the background memcg
// reclaimer's, and each shmem file's ("shmem0->i_pages[3]",
// "shmem0->i_rwsem"). It returns "" for an object that is not the
// node's. It is for the explorer's traces, which call it once per object
// of a recorded run; it reads no state that could change the run (the
// lruvec table and the file list are read without the scheduler).
func (n *Node) ObjectName(obj any) string {
	if k, ok := obj.(shmemIndexKey); ok {
		return fmt.Sprintf("shmem%d->i_pages[%d]", k.f.id, k.index)
	}
	switch obj {
	case &n.lruvecsLock:
		return "lruvecs_lock"
	case &n.lruvecs:
		return "lruvecs"
	case &n.mmlistLock:
		return "mmlist_lock"
	case &n.raHits:
		return "swapin_readahead_hits"
	case &n.raLastWin:
		return "last_readahead_pages"
	case &n.raPrevOff:
		return "prev_offset"
	case &n.shmem.lock:
		return "shmem_swaplist_mutex"
	case &n.shmem.evictWQ:
		return "stop_eviction.wait"
	case &n.shmem.sb.umount:
		return "tmpfs_sb->s_umount"
	case &n.shmem.sb.info:
		return "tmpfs_sb->s_fs_info"
	case &n.shmem.sb.mounted.statLock:
		return "sbinfo->stat_lock"
	case &n.kswapd.wait:
		return "kswapd_wait"
	case &n.kswapd.wakeup:
		return "kswapd.wakeup"
	case &n.kswapd.stop:
		return "kswapd.should_stop"
	case &n.kswapd.stopped, n.kswapd.stopped.WaitQueue():
		return "kswapd.exited"
	case &n.kswapd.running:
		return "kswapd.running"
	case &n.memcgBg.wait:
		return "memcg_reclaim.wait"
	case &n.memcgBg.lock:
		return "memcg_reclaim.lock"
	case &n.memcgBg.nqueued:
		return "memcg_reclaim.nr_queued"
	case &n.memcgBg.stop:
		return "memcg_reclaim.should_stop"
	case &n.memcgBg.stopped, n.memcgBg.stopped.WaitQueue():
		return "memcg_reclaim.exited"
	case &n.memcgBg.running:
		return "memcg_reclaim.running"
	}
	for _, lv := range n.lruvecList {
		switch obj {
		case &lv.lock:
			return fmt.Sprintf("lruvec%d->lru_lock", lv.memcgID)
		case &lv.bgQueued:
			return fmt.Sprintf("lruvec%d->bg_queued", lv.memcgID)
		}
	}
	// Every live address space: a fork's child is on mmlist before its
	// page tables are copied.
	for _, m := range n.mmlist {
		if s := m.ObjectName(obj); s != "" {
			return s
		}
	}
	for _, f := range n.shmem.made {
		switch obj {
		case &f.count:
			return fmt.Sprintf("shmem%d->i_count", f.id)
		case &f.stopEviction:
			return fmt.Sprintf("shmem%d->stop_eviction", f.id)
		case &f.inodeLock:
			return fmt.Sprintf("shmem%d->i_rwsem", f.id)
		case &f.size:
			return fmt.Sprintf("shmem%d->i_size", f.id)
		case &f.iPages:
			return fmt.Sprintf("shmem%d->i_pages.xa_lock", f.id)
		case &f.iMmapLock:
			return fmt.Sprintf("shmem%d->i_mmap_rwsem", f.id)
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
// "mm1->mmap_lock", "mm1->page_table_lock", its page table levels
// ("mm1->pgd[0]", "pmd@0x100000000", and for the leaf tables of its
// mappings "ptl@0x100000000" and "pte@0x100003000": the address the
// entry maps), and its mappings' anon_vma locks and readahead state. It returns "" for an object that is not the address
// space's. Like Node.ObjectName it is for traces only.
func (m *MM) ObjectName(obj any) string {
	switch obj {
	case &m.mmapLock:
		return fmt.Sprintf("mm%d->mmap_lock", m.id)
	case &m.pageTableLock:
		return fmt.Sprintf("mm%d->page_table_lock", m.id)
	case &m.exiting:
		return fmt.Sprintf("mm%d->mm_users==0", m.id)
	}
	for _, v := range m.vmas {
		// A child whose fork failed midway (fork-unstable) has a
		// marker (nil) where its copy stopped, and vmas without an
		// anon_vma yet.
		if v == nil {
			continue
		}
		if v.anon != nil && obj == &v.anon.rwsem {
			return fmt.Sprintf("anon_vma(mm%d@%#x)->rwsem", m.id, v.start)
		}
		if obj == &v.raInfo {
			return fmt.Sprintf("vma(mm%d@%#x)->swap_readahead_info", m.id, v.start)
		}
	}
	for gi := range m.pgd {
		if obj == &m.pgd[gi] {
			return fmt.Sprintf("mm%d->pgd[%d]", m.id, gi)
		}
		pmd := m.pgd[gi].Peek()
		if pmd == nil {
			continue
		}
		for mi := range pmd.tables {
			base := uint64(gi)<<pgdShift | uint64(mi)<<pmdShift
			if obj == &pmd.tables[mi] {
				return fmt.Sprintf("pmd@%#x", base)
			}
			pt := pmd.tables[mi].Peek()
			if pt == nil {
				continue
			}
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
