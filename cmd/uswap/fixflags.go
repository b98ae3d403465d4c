package main

import (
	"github.com/spf13/pflag"

	"uswap/fixes"
)

// fixFlags are --fix NAME=VARIANT and --revert NAME, for every command
// that builds a machine: they choose the variant of each race fix
// (package fixes; uswap explore --list shows them).
type fixFlags struct {
	reverts []string
	choices []string
}

func (f *fixFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.choices, "fix", nil, "run a fix as VARIANT: NAME=VARIANT (repeatable; uswap explore --list shows them)")
	fl.StringArrayVar(&f.reverts, "revert", nil, "run this fix's code from before any fix, or all of them with \"all\" (in the table design, all that have such code there) (repeatable)")
}

// set is the chosen variants, reverts first; a bad name is a usage error
// naming the flag.
func (f *fixFlags) set() (fixes.Set, error) {
	fx := fixes.Default()
	for _, r := range f.reverts {
		var err error
		if fx, err = fx.RevertName(r); err != nil {
			return fx, usagef("--revert: %v", err)
		}
	}
	for _, c := range f.choices {
		var err error
		if fx, err = fx.Choose(c); err != nil {
			return fx, usagef("--fix: %v", err)
		}
	}
	return fx, nil
}

// given reports whether any --fix or --revert was given.
func (f *fixFlags) given() bool { return len(f.reverts)+len(f.choices) > 0 }
