package explore

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is a search strategy.
type Kind uint8

const (
	Random Kind = iota + 1 // sched.Random: a uniform random walk
	PCT                    // sched.PCT with Spec.Param = depth
	DFS                    // sched.DFS with Spec.Param = preemption bound
	Walk                   // sched.Walk with Spec.Stay = the chance to keep the current task
)

// Spec names a strategy and its parameter, as on the command line:
// "random", "pct:D" (depth D >= 1, default 3), "dfs:B" (at most B
// preemptions per schedule, default 2), "walk:P" (a random walk that
// keeps the current task with probability P, 0 <= P < 1, default 0.99).
type Spec struct {
	Kind  Kind
	Param int
	Stay  float64 // Walk only
}

func (s Spec) String() string {
	switch s.Kind {
	case Random:
		return "random"
	case PCT:
		return fmt.Sprintf("pct:%d", s.Param)
	case DFS:
		return fmt.Sprintf("dfs:%d", s.Param)
	case Walk:
		return "walk:" + strconv.FormatFloat(s.Stay, 'g', -1, 64)
	}
	return "strategy?"
}

// ParseSpec parses a strategy spec.
func ParseSpec(s string) (Spec, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	var sp Spec
	switch strings.ToLower(name) {
	case "random":
		if hasArg {
			return Spec{}, fmt.Errorf("strategy %q: random takes no parameter", s)
		}
		return Spec{Kind: Random}, nil
	case "pct":
		sp = Spec{Kind: PCT, Param: 3}
	case "dfs":
		sp = Spec{Kind: DFS, Param: 2}
	case "walk":
		sp = Spec{Kind: Walk, Stay: 0.99}
		if hasArg {
			p, err := strconv.ParseFloat(arg, 64)
			if err != nil || !(p >= 0 && p < 1) {
				return Spec{}, fmt.Errorf("strategy %q: bad parameter %q (want 0 <= P < 1)", s, arg)
			}
			sp.Stay = p
		}
		return sp, nil
	default:
		return Spec{}, fmt.Errorf("unknown strategy %q (known: random, pct:D, dfs:B, walk:P)", s)
	}
	if hasArg {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || (sp.Kind == PCT && n < 1) || n > 64 {
			return Spec{}, fmt.Errorf("strategy %q: bad parameter %q", s, arg)
		}
		sp.Param = n
	}
	return sp, nil
}

// MustSpec is ParseSpec for constants; it panics on an error.
func MustSpec(s string) Spec {
	sp, err := ParseSpec(s)
	if err != nil {
		panic(err)
	}
	return sp
}
