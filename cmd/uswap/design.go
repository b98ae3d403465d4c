package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"uswap/design"
	"uswap/explore"
	"uswap/fixes"
)

// --design: which design of the swap core a command's machine runs
// (package design, docs/swap-table.md), one flag for every command that
// builds a machine.

// designNames is the designs' names, for help texts.
func designNames() string {
	var n []string
	for _, d := range design.All() {
		n = append(n, d.String())
	}
	return strings.Join(n, " or ")
}

// designCompletions are the designs with what each is, and both, for
// shell completion.
func designCompletions() []string {
	return []string{
		"classic\tswap_map, SWAP_HAS_CACHE and the synchronous bypass (v6.15 with v6.18's table)",
		"table\tthe swap table: counts, swap cache and memcg id in per-cluster entries",
		"both\teach in turn (explore, fixes compare, bench swapin)",
	}
}

// addDesignFlag registers --design into fl. With list, the flag takes a
// comma-separated list or "both".
func addDesignFlag(fl *pflag.FlagSet, p *string, list bool) {
	help := fmt.Sprintf("swap core design: %s (docs/swap-table.md)", designNames())
	if list {
		help = fmt.Sprintf("swap core designs: %s, a comma-separated list, or both (docs/swap-table.md)", designNames())
	}
	fl.StringVar(p, "design", design.Classic.String(), help)
}

// parseDesign is --design's value as one design, or a usage error.
func parseDesign(s string) (design.Design, error) {
	d, err := design.Parse(s)
	if err != nil {
		return 0, usagef("--design: %v", err)
	}
	return d, nil
}

// parseDesigns is --design's value as a list, or a usage error.
func parseDesigns(s string) ([]design.Design, error) {
	ds, err := design.ParseList(s)
	if err != nil {
		return nil, usagef("--design: %v, a comma-separated list of them, or both", err)
	}
	return ds, nil
}

// checkDesignFixes refuses, as a usage error, fixes that a machine of
// each design of ds cannot run (a classic-only variant with --design
// table: fixes.Set.CheckDesign).
func checkDesignFixes(fx fixes.Set, ds ...design.Design) error {
	for _, d := range ds {
		if err := fx.CheckDesign(d); err != nil {
			return usagef("--design %s: %v", d, err)
		}
	}
	return nil
}

// forApplying calls run for every scenario of scs in every design of ds,
// scenario after scenario, with the fixes fxIn gives for the design; a
// pair that does not apply (explore.DoesNotApply: a scenario for the
// other design, a variant with no code in it) goes to skip with the
// reason instead, never silently.
// run's first error ends the walk and is returned.
func forApplying(scs []*explore.Scenario, ds []design.Design, fxIn func(design.Design) fixes.Set,
	skip func(sc *explore.Scenario, d design.Design, why string), run func(sc *explore.Scenario, d design.Design) error) error {
	for _, sc := range scs {
		for _, d := range ds {
			if why := explore.DoesNotApply(sc, fxIn(d), d); why != "" {
				skip(sc, d, why)
				continue
			}
			if err := run(sc, d); err != nil {
				return err
			}
		}
	}
	return nil
}
