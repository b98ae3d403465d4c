// Package design names the two designs of the swap core that a uswap
// system can run (docs/swap-table.md):
//
//	Classic  Linux v6.15: swap_map bytes with SWAP_HAS_CACHE and count
//	         continuation, the synchronous-device bypass of do_swap_page()
//	         and its swapcache_prepare() pin (seed 000); the per-cluster
//	         table of v6.18 holds the swap cache folio and the swap cgroup
//	         id
//	Table    the kernel after the swap table series (2025-2026): the
//	         per-cluster swap table is the only per-slot state (a folio's
//	         PFN or a shadow, with the count in its top bits and an extend
//	         table on overflow); every swap-in goes through the swap cache,
//	         and racers wait on the folio's lock
//
// A kernel can only ever run one of them; a uswap system chooses one in
// its configuration, and everything above the swap core (the mm layer, the
// audit's invariants, the explorer's scenarios, the benchmarks) runs on
// either.
package design

import (
	"fmt"
	"strings"
)

// Design is one design of the swap core. The zero Design is Classic.
type Design uint8

// The designs.
const (
	Classic Design = iota
	Table
	numDesigns
)

var names = [numDesigns]string{"classic", "table"}

// All lists the designs, Classic first.
func All() []Design { return []Design{Classic, Table} }

// String is the design's name, as --design takes it.
func (d Design) String() string {
	if d < numDesigns {
		return names[d]
	}
	return fmt.Sprintf("design#%d", d)
}

// Parse finds a design by name; an unknown name is an error that lists the
// known ones.
func Parse(s string) (Design, error) {
	for d, n := range names {
		if n == s {
			return Design(d), nil
		}
	}
	return 0, fmt.Errorf("unknown swap design %q (known: %s)", s, strings.Join(names[:], ", "))
}

// ParseList parses a comma-separated list of designs ("classic,table");
// "all" or "both" is every design. It returns them in the order given,
// without repeats.
func ParseList(s string) ([]Design, error) {
	if s == "all" || s == "both" {
		return All(), nil
	}
	var out []Design
	for _, part := range strings.Split(s, ",") {
		d, err := Parse(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		seen := false
		for _, o := range out {
			seen = seen || o == d
		}
		if !seen {
			out = append(out, d)
		}
	}
	return out, nil
}

// MarshalText writes the design's name (in JSON, "classic" or "table").
func (d Design) MarshalText() ([]byte, error) {
	if d >= numDesigns {
		return nil, fmt.Errorf("unknown swap design %d", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads a design's name.
func (d *Design) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
