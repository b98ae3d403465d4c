package memcg

import (
	"fmt"
	"strings"

	"uswap/ksync"
	"uswap/mem"
)

// This file is reporting: memcg_memory_event() and the counters of the
// cgroup files.

// Event is enum memcg_memory_event, the counters of memory.events and
// memory.swap.events.
type Event int

const (
	// EventMax (MEMCG_MAX): a charge found a memory or memsw counter at
	// its limit and reclaimed.
	EventMax Event = iota
	// EventOOM (MEMCG_OOM): a charge gave up (returned *OOMError).
	EventOOM
	// EventOOMKill (MEMCG_OOM_KILL): the mm layer killed a task of the
	// cgroup; memcg itself never kills, the mm layer reports it.
	EventOOMKill
	// EventSwapMax (MEMCG_SWAP_MAX): a swap charge hit memory.swap.max.
	EventSwapMax
	// EventSwapFail (MEMCG_SWAP_FAIL): a swap charge failed.
	EventSwapFail
	nrEvents
)

var eventNames = [nrEvents]string{"max", "oom", "oom_kill", "swap.max", "swap.fail"}

func (e Event) String() string {
	if e >= 0 && e < nrEvents {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// MemoryEvent is memcg_memory_event(): count ev in m's local events and,
// in v2, in the hierarchical events of m and its ancestors below the
// root (v1 counts m only).
func (m *MemCgroup) MemoryEvent(t *ksync.Task, ev Event) { m.memoryEvent(t, ev) }

func (m *MemCgroup) memoryEvent(t *ksync.Task, ev Event) {
	m.eventsLocal[ev].Add(t, 1)
	for c := m; c != nil && !c.IsRoot(); c = c.parent {
		c.events[ev].Add(t, 1)
		if m.h.mode == V1 {
			break
		}
	}
}

// Events is memory.events (hierarchical in v2) for ev.
func (m *MemCgroup) Events(t *ksync.Task, ev Event) int64 { return m.events[ev].Load(t) }

// EventsLocal is memory.events.local for ev.
func (m *MemCgroup) EventsLocal(t *ksync.Task, ev Event) int64 { return m.eventsLocal[ev].Load(t) }

// CounterStats is a snapshot of one PageCounter, in pages.
type CounterStats struct {
	Usage, Max, Watermark, Failcnt int64
}

func (c *PageCounter) stats(t *ksync.Task) CounterStats {
	return CounterStats{Usage: c.Read(t), Max: c.Max(t), Watermark: c.Watermark(t), Failcnt: c.Failcnt(t)}
}

// Stats is a snapshot of a cgroup's counters and events. Counters are in
// pages. Swap is the swap counter in v2; in v1 it is memsw minus memory
// (memsw's limit is in Memsw).
type Stats struct {
	Path   string
	ID     uint16
	Mode   Mode
	Memory CounterStats
	Swap   CounterStats
	Memsw  CounterStats // v1 only
	Events [nrEvents]int64
	Local  [nrEvents]int64
}

// Stats reads m's counters. The fields are read one at a time, not as
// one consistent snapshot.
func (m *MemCgroup) Stats(t *ksync.Task) Stats {
	s := Stats{Path: m.path, ID: m.id, Mode: m.h.mode, Memory: m.memory.stats(t)}
	if m.h.mode == V1 {
		s.Memsw = m.memsw.stats(t)
		s.Swap = CounterStats{Usage: s.Memsw.Usage - s.Memory.Usage, Max: PageCounterMax}
	} else {
		s.Swap = m.swap.stats(t)
	}
	for i := range s.Events {
		s.Events[i] = m.events[i].Load(t)
		s.Local[i] = m.eventsLocal[i].Load(t)
	}
	return s
}

func bytesString(pages int64) string {
	if pages >= PageCounterMax {
		return "max"
	}
	return fmt.Sprint(pages * mem.PageSize)
}

// String prints the stats as the cgroup files would show them, in bytes:
// memory.current, memory.max, memory.peak, memory.swap.* and
// memory.events in v2; memory.usage_in_bytes, memory.limit_in_bytes,
// memory.max_usage_in_bytes, memory.failcnt and memory.memsw.* in v1.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (id %d, cgroup %v)\n", s.Path, s.ID, s.Mode)
	kv := func(k, v any) { fmt.Fprintf(&b, "  %-32s %v\n", k, v) }
	// counter prints one page counter's four files, named usage, limit,
	// peak and failcnt.
	counter := func(c CounterStats, usage, limit, peak, failcnt string) {
		kv(usage, c.Usage*mem.PageSize)
		kv(limit, bytesString(c.Max))
		kv(peak, c.Watermark*mem.PageSize)
		kv(failcnt, c.Failcnt)
	}
	if s.Mode == V1 {
		counter(s.Memory, "memory.usage_in_bytes", "memory.limit_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt")
		counter(s.Memsw, "memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes", "memory.memsw.max_usage_in_bytes", "memory.memsw.failcnt")
		kv("memory.oom_control under_oom_events", s.Local[EventOOM])
		kv("memory.oom_control oom_kill", s.Local[EventOOMKill])
		return b.String()
	}
	counter(s.Memory, "memory.current", "memory.max", "memory.peak", "memory.failcnt")
	counter(s.Swap, "memory.swap.current", "memory.swap.max", "memory.swap.peak", "memory.swap.failcnt")
	for _, ev := range []Event{EventMax, EventOOM, EventOOMKill} {
		kv("memory.events "+ev.String(), s.Events[ev])
	}
	kv("memory.swap.events max", s.Events[EventSwapMax])
	kv("memory.swap.events fail", s.Events[EventSwapFail])
	return b.String()
}

// StatString is Stats(t).String().
func (m *MemCgroup) StatString(t *ksync.Task) string { return m.Stats(t).String() }
