package explore

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"uswap/design"
	"uswap/fixes"
)

var benchSpecs = []string{"random", "walk:0.99", "pct:2", "pct:3", "dfs:1", "dfs:2"}

// BenchmarkSchedules measures schedules per second with every fix on (so
// that no failure ends the exploration), on one worker and on one per P
// (GOMAXPROCS), each on copies of one machine built once (copied; a
// scenario that cannot be copied builds them all the same) and on a
// machine built for every schedule (built, Config.Rebuild), one after the
// other. DFS runs on one worker whatever it is given.
//
//	go test -run XXX -bench 'Schedules/.*/random' ./explore/
func BenchmarkSchedules(b *testing.B) {
	defer TuneGC()() // as uswap explore runs
	for _, s := range Scenarios() {
		for _, d := range design.All() {
			if !s.AppliesIn(d) {
				continue
			}
			for _, spec := range benchSpecs {
				for _, workers := range slices.Compact([]int{1, runtime.GOMAXPROCS(0)}) {
					for _, rebuild := range []bool{false, true} {
						machine := "copied"
						if rebuild {
							machine = "built"
						}
						b.Run(fmt.Sprintf("%s/%s/%s/workers=%d/%s", s.Name, d, spec, workers, machine), func(b *testing.B) {
							done := 0
							var el time.Duration
							cpu0 := cpuTime()
							for done < b.N {
								o, err := Explore(Config{Scenario: s, Fixes: fixes.Default(), Design: d, Strategy: MustSpec(spec), Runs: b.N - done, Seed: int64(done) + 1, Workers: workers, Rebuild: rebuild})
								if err != nil {
									b.Fatal(err)
								}
								if o.Failure != nil {
									b.Fatalf("failure with every fix on: %s", o.Failure.Broken())
								}
								done += o.Runs
								el += o.Elapsed
							}
							b.ReportMetric(float64(done)/el.Seconds(), "schedules/s")
							// CPU time per schedule holds on a loaded machine,
							// where the wall-clock rate says how busy it is.
							b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(done), "µs-cpu/schedule")
						})
					}
				}
			}
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFirstFailure measures, with the scenario's fix reverted (and
// the other choices of its first budget that finds the race), the runs
// and the time to the first failure over 20 seeds (DFS, being
// deterministic, once), and reports the medians; on one worker per P
// (the runs are those of one worker), failures as found (shrinking and
// the conflict search are not part of finding). A seed that finds
// nothing within the cap (USWAP_EXPLORE_CAP, 20,000 if unset) counts as
// the cap. USWAP_EXPLORE_SPECS=pct:1,dfs:1 measures other strategies.
func BenchmarkFirstFailure(b *testing.B) {
	defer TuneGC()() // as uswap explore runs
	const seeds = 20
	cap := 20_000
	if s := os.Getenv("USWAP_EXPLORE_CAP"); s != "" {
		cap, _ = strconv.Atoi(s)
	}
	specs := benchSpecs
	if s := os.Getenv("USWAP_EXPLORE_SPECS"); s != "" {
		specs = strings.Split(s, ",")
	}
	for _, s := range Scenarios() {
		if s.NoFix {
			continue // no race to find
		}
		for _, d := range design.All() {
			if !s.RaceIn(d) {
				continue
			}
			fx := s.RaceFixes(d, fixes.Default())
			for _, spec := range specs {
				b.Run(s.Name+"/"+d.String()+"/"+spec, func(b *testing.B) {
					for range b.N {
						n := seeds
						if MustSpec(spec).Kind == DFS {
							n = 1
						}
						var runs []float64
						var ms []float64
						missed := 0
						var total int
						var el time.Duration
						for k := range n {
							o, err := Explore(Config{Scenario: s, Fixes: fx, Design: d, Strategy: MustSpec(spec), Runs: cap, Seed: int64(k)*1_000_003 + 1,
								Workers: runtime.GOMAXPROCS(0), AsFound: true})
							if err != nil {
								b.Fatal(err)
							}
							total += o.Runs
							el += o.Elapsed
							if o.Failure == nil {
								missed++
							}
							runs = append(runs, float64(o.Runs))
							ms = append(ms, float64(o.Elapsed)/float64(time.Millisecond))
						}
						b.ReportMetric(median(runs), "runs-to-fail")
						b.ReportMetric(median(ms), "ms-to-fail")
						b.ReportMetric(float64(missed), "seeds-missed")
						b.ReportMetric(float64(total)/el.Seconds(), "schedules/s")
					}
				})
			}
		}
	}
}

func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// BenchmarkLongRun is the long run with every fix on: a million
// schedules across the scenarios, split evenly, alternating random and
// PCT. It runs only with USWAP_EXPLORE_LONG=1 (it takes minutes); the
// command `uswap explore --scenario all --runs N` does the same from the
// shell.
func BenchmarkLongRun(b *testing.B) {
	defer TuneGC()() // as uswap explore runs
	if os.Getenv("USWAP_EXPLORE_LONG") == "" {
		b.Skip("set USWAP_EXPLORE_LONG=1 for the million-schedule run")
	}
	total := 1_000_000
	if s := os.Getenv("USWAP_EXPLORE_LONG_RUNS"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	specs := []string{"random", "walk:0.99", "pct:2", "pct:3"}
	scs := Scenarios()
	per := total / (len(scs) * len(specs))
	for range b.N {
		done := 0
		start := time.Now()
		for _, s := range scs {
			for i, spec := range specs {
				o, err := Explore(Config{Scenario: s, Fixes: fixes.Default(), Strategy: MustSpec(spec), Runs: per, Seed: int64(i)<<40 + 1, Workers: runtime.GOMAXPROCS(0)})
				if err != nil {
					b.Fatal(err)
				}
				if o.Failure != nil {
					b.Fatalf("%s %s: failure with every fix on: %s (choices %s)", s.Name, spec, o.Failure.Broken(), o.Failure.Choices)
				}
				done += o.Runs
				b.Logf("%s %s: %d schedules, %.0f/s, no failure", s.Name, spec, o.Runs, o.PerSecond())
			}
		}
		b.ReportMetric(float64(done), "schedules")
		b.ReportMetric(float64(done)/time.Since(start).Seconds(), "schedules/s")
	}
}
