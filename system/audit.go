package system

import (
	"fmt"
	"uswap/invariant"

	"uswap/ksync"
	"uswap/workload"
)

// Audit checks the invariants (package invariant) at quiescence:
// slot-accounting and swap-cache in the swap core, swap-count and
// no-lost-frame against the page tables, the shmem files, the swap cache
// and the LRU lists. no-lost-data is the workloads' own check (CheckPage).
func (s *System) Audit(t *ksync.Task) []invariant.Violation {
	vs := s.core.Audit(t)
	return append(vs, s.node.Audit(t)...)
}

// AuditEmpty additionally checks the end state: after every address space
// exited, reclaim is drained (Drain) and then every frame and every slot
// must be free. Nothing stays charged then: the memcg-charge check of
// Audit compares every cgroup's counters with the (empty) census.
func (s *System) AuditEmpty(t *ksync.Task) []invariant.Violation {
	s.node.Drain(t)
	vs := s.Audit(t)
	return append(vs, s.node.AuditEmpty(t)...)
}

// CheckPage is invariant.NoLostData for a page a workload filled with
// workload.FillPage(index, pattern): it reports a mismatch.
func CheckPage(got []byte, index uint64, pattern workload.Pattern) error {
	want := make([]byte, len(got))
	workload.FillPage(want, index, pattern)
	for i := range got {
		if got[i] != want[i] {
			return invariant.Newf(invariant.NoLostData, fmt.Sprintf("page %d", index), "byte %d is %#x, want %#x", i, got[i], want[i])
		}
	}
	return nil
}
