package memcg

import (
	"errors"
	"sync"
	"testing"

	"uswap/ksync"
)

const pg = 4096

// tree makes root → a → b in mode, with no limits.
func tree(tb testing.TB, mode Mode) (t *ksync.Task, root, a, b *MemCgroup) {
	tb.Helper()
	t = ksync.NewTask("test", 0)
	root = NewRoot(mode)
	a = mustChild(tb, t, root, "a")
	b = mustChild(tb, t, a, "b")
	return
}

func mustChild(tb testing.TB, t *ksync.Task, p *MemCgroup, name string) *MemCgroup {
	tb.Helper()
	c, err := p.NewChild(t, name)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func asOOM(tb testing.TB, err error) *OOMError {
	tb.Helper()
	var oom *OOMError
	if !errors.As(err, &oom) {
		tb.Fatalf("want *OOMError, got %v", err)
	}
	return oom
}

func usage(t *ksync.Task, m *MemCgroup) int64 { return m.Memory().Read(t) }

// fakeReclaimer holds pages charged to cgroups, as if they were folios on
// their LRUs, and frees up to budget of them from the cgroup it is asked
// to reclaim or its descendants.
type fakeReclaimer struct {
	mu     sync.Mutex
	held   []heldPages // in charge order
	budget int         // pages it may still free; -1: no limit
	calls  []*MemCgroup
}

type heldPages struct {
	m *MemCgroup
	n int
}

// charge charges n pages to m and keeps them reclaimable.
func (r *fakeReclaimer) charge(tb testing.TB, t *ksync.Task, m *MemCgroup, n int) {
	tb.Helper()
	must(tb, m.TryCharge(t, n))
	r.mu.Lock()
	r.held = append(r.held, heldPages{m, n})
	r.mu.Unlock()
}

func isUnder(m, over *MemCgroup) bool {
	for c := m; c != nil; c = c.parent {
		if c == over {
			return true
		}
	}
	return false
}

func (r *fakeReclaimer) ReclaimMemcg(t *ksync.Task, over *MemCgroup, nrPages int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, over)
	freed := 0
	for i := range r.held {
		h := &r.held[i]
		for h.n > 0 && freed < nrPages && r.budget != 0 && isUnder(h.m, over) {
			Uncharge(t, h.m, 1)
			h.n--
			freed++
			if r.budget > 0 {
				r.budget--
			}
		}
	}
	return freed
}

type Task = ksync.Task

func newTask() *ksync.Task { return ksync.NewTask("test", 0) }
