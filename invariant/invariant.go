// Package invariant names the rules uswap's audit checks, once: each has
// a short name (what reports and scenario scripts print), a sentence in
// each design of the swap core (package design: classic, table), and the
// kernel state it is about. Every check in the engine, the explorer
// and the stress run reports a broken rule as a Violation of one of
// these, so that a failure says which rule broke, in words, wherever it
// is printed. docs/invariants.md explains each one at length.
package invariant

import (
	"fmt"
	"strings"

	"uswap/design"
)

// ID is one invariant.
type ID uint8

// The invariants, in the order docs/invariants.md explains them.
const (
	// SlotAccounting: the swap core's own books balance.
	SlotAccounting ID = iota + 1
	// SwapCount: a slot's count is the number of its references.
	SwapCount
	// SwapCache: the swap cache and the slot state agree.
	SwapCache
	// NoLostFrame: every frame is free or reachable.
	NoLostFrame
	// NoLostData: every load returns the last store.
	NoLostData
	// NoUseAfterSwapoff: nothing touches a swapped-off device's maps.
	NoUseAfterSwapoff
	// NoKernelBug: nothing happens that the kernel reports as a bug.
	NoKernelBug
	// NoUnexpectedError: operations fail only as the kernel's would.
	NoUnexpectedError
	// MemcgCharge: memory cgroups' books balance.
	MemcgCharge
	numIDs
)

// Info describes one invariant.
type Info struct {
	ID   ID
	Name string // short, for reports and scripts: "swap-count"
	// Rule is the invariant as one sentence, in the classic design's
	// terms (swap_map, SWAP_HAS_CACHE).
	Rule string
	// TableRule is the same invariant in the table design's terms (the
	// swap table's entries, the extend table); "" when the classic
	// sentence says it for both designs.
	TableRule string
}

var infos = [numIDs]Info{
	SlotAccounting: {SlotAccounting, "slot-accounting",
		"A slot is free iff its swap_map byte is 0; inuse_pages and each cluster's count equal the slots " +
			"in use; each cluster is on the one list its count calls for; a device is on the available " +
			"list iff it is writable and not full; nr_swap_pages agrees with the devices; no device " +
			"reference is held at rest.",
		"A slot is free iff its swap table entry is NULL (a cluster with no slot in use has no table); " +
			"inuse_pages and each cluster's count equal the slots in use; each cluster is on the one list its " +
			"count calls for; a saturated entry count has the count in the cluster's extend table, which " +
			"exists only while it holds one; a device is on the available list iff it is writable and not " +
			"full; nr_swap_pages agrees with the devices; no device reference is held at rest."},
	SwapCount: {SwapCount, "swap-count",
		"A slot's count (count continuation included) equals the number of page table entries and shmem " +
			"index entries that hold its swap entry.",
		"A slot's count (the count in its swap table entry, or the extend table's when the entry's is " +
			"saturated; the swap cache is not counted) equals the number of page table entries and shmem " +
			"index entries that hold its swap entry."},
	SwapCache: {SwapCache, "swap-cache",
		"SWAP_HAS_CACHE is set iff the swap cache holds a folio for the slot, and that folio says so " +
			"(PG_swapcache, folio->swap); at rest no entry is pinned without a folio.",
		"A slot's swap table entry holds a folio (PFN format) iff the swap cache holds that folio for the " +
			"slot, and the folio says so (PG_swapcache, folio->swap); a swapped-out (shadow) entry has a " +
			"count: nothing but a folio in the entry keeps a slot of count 0."},
	NoLostFrame: {NoLostFrame, "no-lost-frame",
		"Every frame is free or reachable from a page table, a shmem file, the swap cache or an LRU list, " +
			"with refcount and mapcount equal to its references; once everything exits and reclaim drains, " +
			"every frame and every slot is free.", ""},
	NoLostData: {NoLostData, "no-lost-data",
		"Every load returns the last value stored at that address.", ""},
	NoUseAfterSwapoff: {NoUseAfterSwapoff, "no-use-after-swapoff",
		"Nothing touches a swap device's swap_map, clusters or swap cache after swapoff freed them.",
		"Nothing touches a swap device's clusters or their swap tables after swapoff freed them."},
	NoKernelBug: {NoKernelBug, "no-kernel-bug",
		"Nothing happens that the kernel reports as a bug: no free of an unused swap entry, no reference " +
			"or map count below zero, no unlock of a lock that is not held.", ""},
	NoUnexpectedError: {NoUnexpectedError, "no-unexpected-error",
		"Every operation has the outcome the kernel's would: it succeeds, or fails only as the kernel's " +
			"would (out of memory with memory to reclaim, or SIGBUS without an I/O error, is a bug), and an " +
			"access the kernel faults (unmapped, past the end of a file) faults.", ""},
	MemcgCharge: {MemcgCharge, "memcg-charge",
		"Every allocated frame is charged to a memory cgroup, and each cgroup's counters equal what its " +
			"subtree holds charged (memory: frames; v2 swap: swap slots; v1 memsw: both); memory and v2 " +
			"swap usage never exceed their limits; once everything exits, nothing stays charged.", ""},
}

// All lists every invariant, in order.
func All() []ID {
	ids := make([]ID, 0, numIDs-1)
	for id := ID(1); id < numIDs; id++ {
		ids = append(ids, id)
	}
	return ids
}

// Info describes id.
func (id ID) Info() Info {
	if id == 0 || id >= numIDs {
		return Info{ID: id, Name: fmt.Sprintf("invariant#%d", id), Rule: "(unknown invariant)"}
	}
	return infos[id]
}

// String is the invariant's short name.
func (id ID) String() string { return id.Info().Name }

// Rule is the invariant's sentence in the classic design.
func (id ID) Rule() string { return id.Info().Rule }

// RuleIn is the invariant's sentence in design d.
func (id ID) RuleIn(d design.Design) string {
	if info := id.Info(); d == design.Table && info.TableRule != "" {
		return info.TableRule
	}
	return id.Rule()
}

// Lookup finds an invariant by its short name.
func Lookup(name string) (ID, error) {
	var names []string
	for _, id := range All() {
		if infos[id].Name == name {
			return id, nil
		}
		names = append(names, infos[id].Name)
	}
	return 0, fmt.Errorf("unknown invariant %q (known: %s)", name, strings.Join(names, ", "))
}

// Violation is one broken invariant: which, on what object (named as
// the kernel would: "si0 slot 17", "folio(pfn 12)", "P"), and what is
// wrong.
type Violation struct {
	Invariant ID
	Object    string
	Problem   string
}

// Newf makes a Violation with a formatted problem.
func Newf(id ID, object, format string, args ...any) Violation {
	return Violation{Invariant: id, Object: object, Problem: fmt.Sprintf(format, args...)}
}

// String is "name: object: problem".
func (v Violation) String() string {
	return fmt.Sprintf("%s: %s: %s", v.Invariant, v.Object, v.Problem)
}

// Error makes a Violation an error, for checks that return one.
func (v Violation) Error() string { return v.String() }

// Explain is the violation with the invariant's rule after it, for the
// first line of a report, in the classic design's terms.
func (v Violation) Explain() string { return v.ExplainIn(design.Classic) }

// ExplainIn is Explain with the rule as design d states it.
func (v Violation) ExplainIn(d design.Design) string {
	return fmt.Sprintf("%s\n  (%s: %s)", v, v.Invariant, v.Invariant.RuleIn(d))
}

// List is the error a check returns: the violations it found.
type List []Violation

func (l List) Error() string { return strings.Join(l.Strings(), "; ") }

// Strings is each violation's String, for machine-readable reports.
func (l List) Strings() []string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = v.String()
	}
	return s
}

// Err returns l as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Rules is one line per broken invariant, in order: its name and its
// sentence (the classic design's), each line starting with indent.
func (l List) Rules(indent string) string { return l.RulesIn(design.Classic, indent) }

// RulesIn is Rules with each sentence in design d's terms.
func (l List) RulesIn(d design.Design, indent string) string {
	var b strings.Builder
	for _, id := range l.Broken() {
		fmt.Fprintf(&b, "%s%s: %s\n", indent, id, id.RuleIn(d))
	}
	return b.String()
}

// Broken lists the distinct invariants of l, in order.
func (l List) Broken() []ID {
	var seen [numIDs]bool
	var ids []ID
	for _, v := range l {
		if v.Invariant < numIDs && !seen[v.Invariant] {
			seen[v.Invariant] = true
			ids = append(ids, v.Invariant)
		}
	}
	return ids
}
