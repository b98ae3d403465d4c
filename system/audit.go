package system

import (
	"fmt"

	"uswap/ksync"
	"uswap/swap"
	"uswap/workload"
)

// Violation is one broken invariant, with the objects involved.
type Violation = swap.Violation

// Audit checks invariants 1 to 4 of DESIGN.md at quiescence: 1 and 3 in
// the swap core, 2 and 4 against the page tables, the swap cache and the
// LRU lists. Invariant 5 is the workloads' own check (CheckPage).
func (s *System) Audit(t *ksync.Task) []Violation {
	vs := s.core.Audit(t)
	return append(vs, s.node.Audit(t)...)
}

// AuditEmpty additionally checks the end state: after every address space
// exited, reclaim is drained (Drain) and then every frame and every slot
// must be free.
func (s *System) AuditEmpty(t *ksync.Task) []Violation {
	s.node.Drain(t)
	vs := s.Audit(t)
	vs = append(vs, s.node.AuditEmpty(t)...)
	// Nothing may stay charged: every frame and slot is free.
	for _, c := range []struct {
		name  string
		usage int64
	}{
		{"memory", s.workload.Memory().Read(t)},
		{"swap", s.workload.Swap().Read(t)},
		{"memsw", s.workload.Memsw().Read(t)},
	} {
		if c.usage != 0 {
			vs = append(vs, Violation{Invariant: 4, Object: s.workload.String(), Problem: fmt.Sprintf("%s usage %d pages after everything exited", c.name, c.usage)})
		}
	}
	return vs
}

// CheckPage is invariant 5 for a page a workload filled with
// workload.FillPage(index, pattern): it reports a mismatch.
func CheckPage(got []byte, index uint64, pattern workload.Pattern) error {
	want := make([]byte, len(got))
	workload.FillPage(want, index, pattern)
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("invariant 5: page %d: byte %d is %#x, want %#x", index, i, got[i], want[i])
		}
	}
	return nil
}
