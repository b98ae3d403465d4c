package memcg

import (
	"fmt"
	"slices"

	"uswap/invariant"
	"uswap/ksync"
)

// Census is what the rest of the machine holds charged, by cgroup id,
// counted at quiescence by whoever owns the frames and the slots (the mm
// layer's audit).
type Census struct {
	// Frames[id] is the number of allocated frames whose folio names
	// cgroup id (folio->memcg_data).
	Frames map[uint16]int64
	// Slots[id] is the number of in-use swap slots whose swap_cgroup
	// record names cgroup id.
	Slots map[uint16]int64
}

// Audit checks invariant.MemcgCharge at quiescence (no charge or
// uncharge in flight), for every cgroup below the root: its memory
// counter equals the frames charged in its subtree; in v2 its swap
// counter equals the slots recorded in its subtree; in v1 its memsw
// counter equals both together (see swap.go for why a page in memory
// and in swap counts twice); its memory usage, and in v2 its swap usage,
// is within its limit (v1's memsw is charged for swap-out without a
// limit check, as memcg1_swapout's is); and no frame or slot names a
// cgroup that is not registered.
func (h *Hierarchy) Audit(t *ksync.Task, c Census) []invariant.Violation {
	var vs []invariant.Violation
	add := func(obj, format string, args ...any) {
		vs = append(vs, invariant.Newf(invariant.MemcgCharge, obj, format, args...))
	}
	h.cgroupMutex.Lock(t)
	defer h.cgroupMutex.Unlock(t)
	known := map[uint16]bool{}
	// subtree returns the frames and slots charged in m's subtree and
	// checks m's counters against them.
	var subtree func(m *MemCgroup) (frames, slots int64)
	subtree = func(m *MemCgroup) (frames, slots int64) {
		known[m.id] = true
		frames, slots = c.Frames[m.id], c.Slots[m.id]
		for _, ch := range m.children {
			f, s := subtree(ch)
			frames += f
			slots += s
		}
		if m.IsRoot() {
			return // the root's charges are not counted
		}
		obj := "memcg " + m.path
		if u := m.memory.Read(t); u != frames {
			add(obj, "memory usage %d pages, but %d frames are charged to it and its children", u, frames)
		}
		if u, max := m.memory.Read(t), m.memory.Max(t); u > max {
			add(obj, "memory usage %d pages is above memory.max %d", u, max)
		}
		if h.mode == V1 {
			if u := m.memsw.Read(t); u != frames+slots {
				add(obj, "memsw usage %d pages, but %d frames and %d swap slots are charged to it and its children", u, frames, slots)
			}
			return
		}
		if u := m.swap.Read(t); u != slots {
			add(obj, "swap usage %d slots, but %d swap slots are recorded for it and its children", u, slots)
		}
		if u, max := m.swap.Read(t), m.swap.Max(t); u > max {
			add(obj, "swap usage %d slots is above memory.swap.max %d", u, max)
		}
		return
	}
	subtree(h.root)
	for _, what := range []struct {
		name string
		n    map[uint16]int64
	}{{"frames", c.Frames}, {"swap slots", c.Slots}} {
		var ids []uint16
		for id, n := range what.n {
			if n != 0 && id != 0 && !known[id] {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			add(fmt.Sprintf("memcg id %d", id), "%d %s are charged to a cgroup that is not registered", what.n[id], what.name)
		}
	}
	return vs
}
