package memcg

import "fmt"

// ObjectName names an object of the hierarchy for traces, with the
// kernel's names: "cgroup_mutex", "memcg_max_mutex",
// "mem_cgroup_idr.lock", and per cgroup (by path)
// "memcg(/workload)->memory.usage", "->swap.max", "->memsw.watermark",
// "->css.state", "->events[oom]". It returns "" for an object that is not
// the hierarchy's. It is for the explorer's traces; it reads the id table
// without the lock, which a controlled run (one task at a time) allows.
func (h *Hierarchy) ObjectName(obj any) string {
	switch obj {
	case &h.cgroupMutex:
		return "cgroup_mutex"
	case &h.maxMutex:
		return "memcg_max_mutex"
	case &h.idrLock:
		return "mem_cgroup_idr.lock"
	case &h.reclaimer:
		return "memcg_reclaimer"
	case &h.ids:
		return "mem_cgroup_idr"
	}
	for _, m := range h.idr {
		if m == nil {
			continue
		}
		if n := m.objectName(obj); n != "" {
			return n
		}
	}
	if n := h.root.objectName(obj); n != "" {
		return n
	}
	return ""
}

func (m *MemCgroup) objectName(obj any) string {
	for _, c := range []*PageCounter{&m.memory, &m.swap, &m.memsw} {
		switch obj {
		case &c.usage:
			return fmt.Sprintf("memcg(%s)->%s.usage", m.path, c.name)
		case &c.max:
			return fmt.Sprintf("memcg(%s)->%s.max", m.path, c.name)
		case &c.watermark:
			return fmt.Sprintf("memcg(%s)->%s.watermark", m.path, c.name)
		case &c.failcnt:
			return fmt.Sprintf("memcg(%s)->%s.failcnt", m.path, c.name)
		}
	}
	if obj == &m.state {
		return fmt.Sprintf("memcg(%s)->css.state", m.path)
	}
	for e := range m.events {
		switch obj {
		case &m.events[e]:
			return fmt.Sprintf("memcg(%s)->events[%s]", m.path, eventNames[e])
		case &m.eventsLocal[e]:
			return fmt.Sprintf("memcg(%s)->events.local[%s]", m.path, eventNames[e])
		}
	}
	return ""
}
