package memcg

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"uswap/ksync"
)

// This file holds the types (struct mem_cgroup and the hierarchy around
// it) and their life cycle: mem_cgroup_alloc, mem_cgroup_css_offline and
// the id table (mem_cgroup_from_id).

// Mode is the cgroup version of a hierarchy.
type Mode int

const (
	// V2 is cgroup v2 (the unified hierarchy): memory.max limits memory
	// and memory.swap.max limits swap, counted separately.
	V2 Mode = iota
	// V1 is cgroup v1 with swap accounting (do_memsw_account()):
	// memory.limit_in_bytes limits memory and memory.memsw.limit_in_bytes
	// limits memory plus swap, counted together.
	V1
)

func (m Mode) String() string {
	switch m {
	case V2:
		return "v2"
	case V1:
		return "v1"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// MemCgroupIDMax is MEM_CGROUP_ID_MAX: ids are 1..65535 (0 means none
// in a swap_cgroup record).
const MemCgroupIDMax = 1<<16 - 1

// RootID is the id of every hierarchy's root.
const RootID uint16 = 1

// Reclaimer is the mm layer's memcg reclaim, set once on a hierarchy.
type Reclaimer interface {
	// ReclaimMemcg is try_to_free_mem_cgroup_pages(): reclaim about
	// nrPages pages charged to over or its descendants (over is the
	// cgroup whose counter is at its limit) and report how many were
	// freed (uncharged). It may sleep; the caller holds no memcg lock.
	ReclaimMemcg(t *ksync.Task, over *MemCgroup, nrPages int) (reclaimed int)
}

// Hierarchy is one tree of memory cgroups with its root: the kernel's
// root_mem_cgroup, mem_cgroup_idr and the locks around them. It
// satisfies the swap core's Accounting interface (UnchargeSwap).
type Hierarchy struct {
	mode Mode       // immutable
	root *MemCgroup // immutable

	// cgroupMutex is cgroup_mutex: it serializes NewChild and Remove and
	// guards every MemCgroup.children.
	cgroupMutex ksync.Mutex

	// maxMutex is memcg_max_mutex: it serializes limit changes, so that
	// v1's memory limit <= memsw limit holds.
	maxMutex ksync.Mutex

	// idrLock guards idr (mem_cgroup_idr) and serializes its writers.
	// Each change publishes a copy of idr in ids, which lookups read
	// without a lock, as mem_cgroup_from_id() reads the xarray under RCU:
	// a lookup that races with a removal may still find the cgroup, as
	// one that took idrLock just before the removal would.
	idrLock ksync.SpinLock
	idr     []*MemCgroup // guarded by idrLock: idr[id], nil when free; idr[0] unused
	// ids is the published copy of idr: set under idrLock, loaded
	// atomically; a published table is never changed.
	ids ksync.Pointer[[]*MemCgroup]

	// reclaimer is set once by the mm layer (SetReclaimer): accessed
	// atomically.
	reclaimer ksync.Pointer[reclaimerBox]
}

type reclaimerBox struct{ r Reclaimer }

// MemCgroup is struct mem_cgroup.
type MemCgroup struct {
	h      *Hierarchy // immutable
	name   string     // immutable
	path   string     // immutable: "/" for the root, "/a/b" below it
	id     uint16     // immutable while the cgroup is registered (mem_cgroup_id)
	parent *MemCgroup // immutable; nil at the root

	// memory counts the pages charged to the cgroup and its descendants
	// (memcg->memory). swap counts swap slots (memcg->swap; v2 only);
	// memsw counts memory plus swap (memcg->memsw; v1 only). The
	// counters are lock-free.
	memory PageCounter
	swap   PageCounter
	memsw  PageCounter

	// children is the list of child cgroups in creation order: guarded
	// by h.cgroupMutex.
	children []*MemCgroup

	// state is memcgOnline, memcgDying or memcgDead: accessed
	// atomically. See Remove for the protocol with TryCharge.
	state ksync.Int32

	// events and eventsLocal are memory.events and memory.events.local
	// (and memory.swap.events): accessed atomically, for reporting only.
	events      [nrEvents]ksync.Int64
	eventsLocal [nrEvents]ksync.Int64
}

const (
	memcgOnline int32 = iota
	memcgDying        // Remove is checking the counters
	memcgDead         // removed: its id is free
)

// Errors of the cgroup life cycle and of limit writes.
var (
	// ErrBusy: a cgroup still has children or charges (rmdir's -EBUSY),
	// or a limit cannot be lowered below the usage (page_counter_set_max).
	ErrBusy = errors.New("memcg: busy")
	// ErrInvalid: the write is not allowed (-EINVAL): a limit on the
	// root, a v1 memory limit above the memsw limit, a v2 file in v1 or
	// the reverse.
	ErrInvalid = errors.New("memcg: invalid")
	// ErrRemoved: the cgroup has been removed.
	ErrRemoved = errors.New("memcg: cgroup removed")
	// ErrNoSpace: all MEM_CGROUP_ID_MAX ids are in use.
	ErrNoSpace = errors.New("memcg: no free cgroup id")
)

// NewRoot makes a hierarchy in the given mode and returns its root, whose
// id is RootID and which has no limits (the kernel's root_mem_cgroup).
func NewRoot(mode Mode) *MemCgroup {
	if mode != V1 && mode != V2 {
		panic(fmt.Sprintf("memcg: NewRoot(%v)", mode))
	}
	h := &Hierarchy{mode: mode, idr: make([]*MemCgroup, 2, 16)}
	h.cgroupMutex.Init(ksync.RankCgroupMutex)
	h.maxMutex.Init(ksync.RankMemcgMaxMutex)
	h.idrLock.Init(ksync.RankMemcgIDR)
	root := &MemCgroup{h: h, name: "", path: "/", id: RootID}
	root.initCounters()
	h.root = root
	h.idr[RootID] = root
	h.publishIDsLocked()
	return root
}

func (m *MemCgroup) initCounters() {
	var pm, ps, pms *PageCounter
	if p := m.parent; p != nil {
		pm, ps, pms = &p.memory, &p.swap, &p.memsw
	}
	m.memory.init("memory", m, pm)
	m.swap.init("swap", m, ps)
	m.memsw.init("memsw", m, pms)
}

// Hierarchy is the tree m belongs to.
func (m *MemCgroup) Hierarchy() *Hierarchy { return m.h }

// Name is the cgroup's directory name ("" for the root).
func (m *MemCgroup) Name() string { return m.name }

// Path is the cgroup's path from the root, "/" for the root.
func (m *MemCgroup) Path() string { return m.path }

// ID is mem_cgroup_id(): what swap_cgroup records.
func (m *MemCgroup) ID() uint16 { return m.id }

// Parent is parent_mem_cgroup(): nil for the root.
func (m *MemCgroup) Parent() *MemCgroup { return m.parent }

// IsRoot is mem_cgroup_is_root().
func (m *MemCgroup) IsRoot() bool { return m.parent == nil }

// Mode is the hierarchy's cgroup version.
func (m *MemCgroup) Mode() Mode { return m.h.mode }

// Memory is the memory counter (memory.current / memory.usage_in_bytes).
func (m *MemCgroup) Memory() *PageCounter { return &m.memory }

// Swap is the v2 swap counter (memory.swap.current); unused in v1.
func (m *MemCgroup) Swap() *PageCounter { return &m.swap }

// Memsw is the v1 memory+swap counter (memory.memsw.usage_in_bytes);
// unused in v2.
func (m *MemCgroup) Memsw() *PageCounter { return &m.memsw }

func (m *MemCgroup) String() string { return fmt.Sprintf("memcg %s (id %d)", m.path, m.id) }

// Online reports whether the cgroup is neither removed nor being
// removed (css_tryget_online's condition).
func (m *MemCgroup) Online(t *ksync.Task) bool { return m.state.Load(t) == memcgOnline }

// Children is a copy of the list of children, in creation order.
func (m *MemCgroup) Children(t *ksync.Task) []*MemCgroup {
	m.h.cgroupMutex.Lock(t)
	defer m.h.cgroupMutex.Unlock(t)
	return append([]*MemCgroup(nil), m.children...)
}

// Mode is the hierarchy's cgroup version.
func (h *Hierarchy) Mode() Mode { return h.mode }

// Root is root_mem_cgroup.
func (h *Hierarchy) Root() *MemCgroup { return h.root }

// SetReclaimer installs the mm layer's reclaim. Without one, a charge
// over a limit fails at once.
func (h *Hierarchy) SetReclaimer(t *ksync.Task, r Reclaimer) {
	if r == nil {
		h.reclaimer.Store(t, nil)
		return
	}
	h.reclaimer.Store(t, &reclaimerBox{r})
}

func (h *Hierarchy) getReclaimer(t *ksync.Task) Reclaimer {
	if b := h.reclaimer.Load(t); b != nil {
		return b.r
	}
	return nil
}

// FromID is mem_cgroup_from_id(): the registered cgroup with id, or nil.
// It takes no lock (one atomic load of the published table), so it may be
// called with any lock held.
func (h *Hierarchy) FromID(t *ksync.Task, id uint16) *MemCgroup {
	if tab := h.ids.Load(t); tab != nil && int(id) < len(*tab) {
		return (*tab)[id]
	}
	return nil
}

// publishIDsLocked publishes a copy of idr for FromID. Context: idrLock
// held, or the hierarchy not yet shared.
func (h *Hierarchy) publishIDsLocked() {
	tab := slices.Clone(h.idr)
	h.ids.Init(&tab)
}

// idAlloc is the xa_alloc() of mem_cgroup_alloc: the lowest free id.
func (h *Hierarchy) idAlloc(t *ksync.Task, m *MemCgroup) (uint16, error) {
	h.idrLock.Lock(t)
	defer h.idrLock.Unlock(t)
	for id := 1; id < len(h.idr); id++ {
		if h.idr[id] == nil {
			h.idr[id] = m
			h.publishIDs(t)
			return uint16(id), nil
		}
	}
	if len(h.idr) > MemCgroupIDMax {
		return 0, ErrNoSpace
	}
	h.idr = append(h.idr, m)
	h.publishIDs(t)
	return uint16(len(h.idr) - 1), nil
}

// publishIDs is publishIDsLocked as a store the explorer schedules.
// Context: idrLock held.
func (h *Hierarchy) publishIDs(t *ksync.Task) {
	tab := slices.Clone(h.idr)
	h.ids.Store(t, &tab)
}

func (h *Hierarchy) idRemove(t *ksync.Task, id uint16) {
	h.idrLock.Lock(t)
	h.idr[id] = nil
	h.publishIDs(t)
	h.idrLock.Unlock(t)
}

// NewChild is mkdir: make a child cgroup named name, with no limits.
// Names are unique among siblings and may not contain '/'.
func (m *MemCgroup) NewChild(t *ksync.Task, name string) (*MemCgroup, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("%w: cgroup name %q", ErrInvalid, name)
	}
	h := m.h
	h.cgroupMutex.Lock(t)
	defer h.cgroupMutex.Unlock(t)
	if m.state.Load(t) == memcgDead {
		return nil, fmt.Errorf("%w: %s", ErrRemoved, m.path)
	}
	for _, c := range m.children {
		if c.name == name {
			return nil, fmt.Errorf("memcg: %s already has a child %q", m.path, name)
		}
	}
	path := m.path + name
	if !m.IsRoot() {
		path = m.path + "/" + name
	}
	c := &MemCgroup{h: h, name: name, path: path, parent: m}
	c.initCounters()
	id, err := h.idAlloc(t, c)
	if err != nil {
		return nil, err
	}
	c.id = id
	m.children = append(m.children, c)
	return c, nil
}

// Remove is rmdir. It refuses (ErrBusy) while the cgroup has children,
// pages or swap charged, and it refuses the root. The kernel lets rmdir
// of a populated-only-by-charges cgroup succeed and keeps the dying
// cgroup (and its id, for swap records) until the last charge goes; here
// the caller must first reclaim or move the charges.
//
// Remove and TryCharge agree through state, Dekker style, with
// sequentially consistent atomics on both sides:
//
//	Remove                        TryCharge
//	state = dying                 usage += n (all counters up the tree)
//	read usage (0: dead)          read state (not online: roll back)
//
// Either Remove sees the charge and refuses, or the charger sees dying
// and rolls back; a charger that saw dying waits until Remove has
// decided and then retries (online again) or fails (ErrRemoved).
func (m *MemCgroup) Remove(t *ksync.Task) error {
	if m.IsRoot() {
		return fmt.Errorf("%w: cannot remove the root cgroup", ErrInvalid)
	}
	h := m.h
	h.cgroupMutex.Lock(t)
	defer h.cgroupMutex.Unlock(t)
	if m.state.Load(t) == memcgDead {
		return fmt.Errorf("%w: %s", ErrRemoved, m.path)
	}
	if n := len(m.children); n > 0 {
		return fmt.Errorf("%w: %s has %d child cgroup(s)", ErrBusy, m.path, n)
	}
	m.state.Store(t, memcgDying)
	mem := m.memory.Read(t)
	var swap, memsw int64
	if h.mode == V1 {
		memsw = m.memsw.Read(t)
		swap = memsw - mem
	} else {
		swap = m.swap.Read(t)
	}
	if mem != 0 || swap != 0 || memsw != 0 {
		m.state.Store(t, memcgOnline)
		return fmt.Errorf("%w: %s still has %d page(s) and %d swap slot(s) charged", ErrBusy, m.path, mem, swap)
	}
	m.state.Store(t, memcgDead)
	p := m.parent
	for i, c := range p.children {
		if c == m {
			p.children = append(p.children[:i:i], p.children[i+1:]...)
			break
		}
	}
	h.idRemove(t, m.id)
	return nil
}
