package explore

import (
	"fmt"
	"strings"

	"uswap/design"
	"uswap/fixes"
)

// DoesNotApply says why scenario sc cannot run with fixes fx in design d,
// as "does not apply in the D design: REASON", or "" when it can: the
// scenario is for other designs (Scenario.AppliesIn: a script's design=
// key), or fx chooses a variant whose code only the classic design has
// (fixes.Fix.RunsIn, VariantInfo.ClassicOnly), which a machine of d
// refuses. With sc nil only fx is judged. explore, explore --prove and
// fixes compare print it for what they do not run, so that nothing is
// left out silently, nor counted as holding.
func DoesNotApply(sc *Scenario, fx fixes.Set, d design.Design) string {
	if sc != nil && !sc.AppliesIn(d) {
		var ds []string
		for _, x := range sc.Designs {
			ds = append(ds, x.String())
		}
		return fmt.Sprintf("does not apply in the %s design: scenario %s is for the %s design only", d, sc.Name, strings.Join(ds, " and "))
	}
	for _, f := range fx.Changed() {
		if v := fx.Get(f); !f.RunsIn(v, d) {
			return fmt.Sprintf("does not apply in the %s design: fix %s=%s runs in the classic design only (%s)", d, f, f.VariantName(v), f.ClassicOnly(v))
		}
	}
	return ""
}
