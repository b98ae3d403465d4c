// Command mutate runs the project's protocol mutations (mutations/*.mut;
// the format is internal/mutation's doc): for each, it applies the
// mutation to a private copy of the repository, checks that the copy
// still compiles, runs the project's checks against it, and prints what
// caught the mutation (the first failing test, stress run, fuzz input or
// explorer scenario) or that nothing did, with the time taken.
//
//	go run ./cmd/mutate                       # every mutation, stopping at the first catch
//	go run ./cmd/mutate --every-kind          # every mutation, every kind of check: the README's figures
//	go run ./cmd/mutate --sample 2 --seed 42  # a seeded random sample (CI runs one a day)
//	go run ./cmd/mutate --only swap-free-unlocked --verbose
//
// Kinds of check, in the order they run: the mutation's hints, then
// "test" (the unit and system tests under -race with the invariants
// build tag, the explorer, stress and bench packages aside), "stress"
// (uswap stress with injected device faults and the audit), "fuzz" (the
// model-based fuzzer's seed corpus), and "explore" (every explorer
// scenario with every fix on, under two strategies).
//
// Exit status: 0 when every counted mutation was caught, 1 when one was
// not, 2 for a usage error, 3 when a mutation is stale or does not
// compile, or the unmutated tree fails a check (--baseline).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"uswap/internal/mutation"
)

func main() { os.Exit(run(os.Args[1:])) }

type options struct {
	dir       string
	only      []string
	sample    int
	seed      uint64
	everyKind bool
	baseline  bool
	timeout   time.Duration
	kinds     []string
	jsonOut   bool
	verbose   bool
	list      bool
}

var allKinds = []string{"test", "stress", "fuzz", "explore"}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "mutations", "directory of the *.mut files, relative to the repository root")
	only := fs.String("only", "", "run only these mutations (comma-separated names)")
	fs.IntVar(&o.sample, "sample", 0, "run a seeded random sample of this many mutations (0: all)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of --sample")
	fs.BoolVar(&o.everyKind, "every-kind", false, "run every kind of check on every mutation instead of stopping at the first catch")
	fs.BoolVar(&o.baseline, "baseline", false, "first run the checks on the unmutated tree: they must pass")
	fs.DurationVar(&o.timeout, "timeout", 6*time.Minute, "limit of one check; a check that runs longer counts as a catch (the tree hangs)")
	kinds := fs.String("kinds", strings.Join(allKinds, ","), "kinds of check to run after the hints, in order")
	fs.BoolVar(&o.jsonOut, "json", false, "print the results as JSON")
	fs.BoolVar(&o.verbose, "verbose", false, "print each check's command and, for a catch, its output")
	fs.BoolVar(&o.list, "list", false, "list the mutations and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *only != "" {
		o.only = strings.Split(*only, ",")
	}
	if o.sample < 0 {
		return nil, fmt.Errorf("--sample %d: must be 0 or more", o.sample)
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v: must be positive", o.timeout)
	}
	for _, k := range strings.Split(*kinds, ",") {
		if !slices.Contains(allKinds, k) {
			return nil, fmt.Errorf("--kinds: unknown kind %q (known: %s)", k, strings.Join(allKinds, ", "))
		}
		o.kinds = append(o.kinds, k)
	}
	return o, nil
}

// result is one mutation's outcome.
type result struct {
	Name        string        `json:"name"`
	Area        string        `json:"area"`
	Concurrency bool          `json:"concurrency"`
	Counted     bool          `json:"counted"`
	Caught      bool          `json:"caught"`
	CaughtBy    []catch       `json:"caught_by,omitempty"` // in the order the checks ran
	Error       string        `json:"error,omitempty"`     // stale, does not compile
	Elapsed     time.Duration `json:"elapsed_ns"`
}

type catch struct {
	Kind   string `json:"kind"`
	Check  string `json:"check"`
	Detail string `json:"detail"`
}

func run(args []string) int {
	o, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		return 2
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		return 3
	}
	ms, err := mutation.Load(filepath.Join(root, o.dir))
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		return 3
	}
	ms, err = choose(ms, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		return 2
	}
	if o.list {
		for _, m := range ms {
			fmt.Printf("%-36s %-14s %s\n", m.Name, m.Area, m.Title)
		}
		return 0
	}
	wc, err := mutation.NewWorkCopy(root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mutate: %v\n", err)
		return 3
	}
	r := &runner{o: o, wc: wc, bin: filepath.Join(wc.Dir, ".mutate", "uswap")}
	fmt.Fprintf(os.Stderr, "mutate: %d mutations, working copy %s\n", len(ms), wc.Dir)
	if o.baseline {
		if err := r.baseline(); err != nil {
			fmt.Fprintf(os.Stderr, "mutate: the unmutated tree fails: %v\n", err)
			return 3
		}
	}
	var results []result
	for _, m := range ms {
		res := r.one(m)
		results = append(results, res)
		if !o.jsonOut {
			printResult(res)
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"schema": "uswap-mutate/v1", "results": results, "summary": summarize(results, o)})
	} else {
		printSummary(results, o)
	}
	status := 0
	for _, res := range results {
		switch {
		case res.Error != "":
			return 3
		case res.Counted && !res.Caught:
			status = 1
		}
	}
	return status
}

func repoRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("not in a git checkout: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// choose applies --only and --sample.
func choose(ms []*mutation.Mutation, o *options) ([]*mutation.Mutation, error) {
	if len(o.only) > 0 {
		var picked []*mutation.Mutation
		for _, name := range o.only {
			i := slices.IndexFunc(ms, func(m *mutation.Mutation) bool { return m.Name == name })
			if i < 0 {
				return nil, fmt.Errorf("--only: no mutation %q", name)
			}
			picked = append(picked, ms[i])
		}
		ms = picked
	}
	if o.sample > 0 && o.sample < len(ms) {
		rng := rand.New(rand.NewPCG(o.seed, 0x6d75746174650000))
		idx := rng.Perm(len(ms))[:o.sample]
		slices.Sort(idx)
		var picked []*mutation.Mutation
		for _, i := range idx {
			picked = append(picked, ms[i])
		}
		ms = picked
	}
	return ms, nil
}

type runner struct {
	o   *options
	wc  *mutation.WorkCopy
	bin string
}

// check is one command run against the working copy.
type check struct {
	kind string
	desc string
	cmd  []string // argv; "$BIN" stands for the uswap binary built from the copy
}

// standardChecks are the checks of each kind.
func (r *runner) standardChecks(kind string) ([]check, error) {
	switch kind {
	case "test":
		pkgs, err := r.unitPackages()
		if err != nil {
			return nil, err
		}
		return []check{{kind, "go test -race -tags invariants (unit and system tests)",
			append([]string{"go", "test", "-race", "-tags", "invariants", "-count=1", "-failfast", "-timeout", r.o.timeout.String()}, pkgs...)}}, nil
	case "fuzz":
		return []check{{kind, "FuzzOps seed corpus", []string{"go", "test", "-race", "-tags", "invariants", "-count=1", "-run", "^FuzzOps$", "./stress"}}}, nil
	case "stress":
		return []check{
			{kind, "uswap stress, anonymous and shmem, faults injected", []string{"$BIN", "stress", "--tasks", "4", "--ops", "200000", "--seed", "7",
				"--faults", "read:rate=0.001", "--faults", "write:rate=0.01"}},
		}, nil
	case "explore":
		return []check{
			{kind, "uswap explore --scenario all --strategy pct:3", []string{"$BIN", "explore", "--scenario", "all", "--strategy", "pct:3", "--runs", "3000", "--quiet"}},
			{kind, "uswap explore --scenario all --strategy walk:0.99", []string{"$BIN", "explore", "--scenario", "all", "--strategy", "walk:0.99", "--runs", "3000", "--quiet"}},
		}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// hintCheck turns a mutation's hint into a check: "test PKG... [-run RE]",
// "explore SCENARIO [STRATEGY]", "stress ARGS...", "fuzz".
func (r *runner) hintCheck(h string) (check, error) {
	f := strings.Fields(h)
	switch f[0] {
	case "test":
		if len(f) < 2 {
			return check{}, fmt.Errorf("hint %q: test needs packages", h)
		}
		return check{"test", "go test " + strings.Join(f[1:], " "),
			append([]string{"go", "test", "-race", "-tags", "invariants", "-count=1", "-failfast", "-timeout", r.o.timeout.String()}, f[1:]...)}, nil
	case "explore":
		if len(f) < 2 || len(f) > 3 {
			return check{}, fmt.Errorf("hint %q: explore SCENARIO [STRATEGY]", h)
		}
		strategy := "pct:3"
		if len(f) == 3 {
			strategy = f[2]
		}
		return check{"explore", "uswap explore " + f[1] + " " + strategy,
			[]string{"$BIN", "explore", "--scenario", f[1], "--strategy", strategy, "--runs", "20000", "--quiet"}}, nil
	case "stress":
		return check{"stress", "uswap " + h, append([]string{"$BIN"}, f...)}, nil
	case "fuzz":
		return r.firstStandard("fuzz")
	}
	return check{}, fmt.Errorf("hint %q: unknown kind %q (test, explore, stress, fuzz)", h, f[0])
}

func (r *runner) firstStandard(kind string) (check, error) {
	cs, err := r.standardChecks(kind)
	if err != nil {
		return check{}, err
	}
	return cs[0], nil
}

// unitPackages are the packages whose tests are "test" checks: all but
// the explorer's, the stress package's, the bench's, the commands' and
// this tool's (those are other kinds of check, or measure rather than
// check).
func (r *runner) unitPackages() ([]string, error) {
	cmd := exec.Command("go", "list", "./...")
	cmd.Dir = r.wc.Dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		switch {
		case p == "uswap/explore", p == "uswap/stress", p == "uswap/bench",
			strings.HasPrefix(p, "uswap/cmd/"), strings.HasPrefix(p, "uswap/internal/mutation"):
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// build compiles the copy: the packages and every test binary, with and
// without the invariants tag, then the uswap command. A mutation that
// fails here is not a mutation of behaviour.
func (r *runner) build() error {
	steps := [][]string{
		{"go", "build", "./..."},
		{"go", "vet", "-tags", "invariants", "./..."},
		{"go", "build", "-o", r.bin, "./cmd/uswap"},
	}
	for _, s := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), r.o.timeout)
		out, err := r.exec(ctx, s)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, tail(out, 20))
		}
	}
	return nil
}

func (r *runner) exec(ctx context.Context, argv []string) ([]byte, error) {
	argv = slices.Clone(argv)
	for i, a := range argv {
		if a == "$BIN" {
			argv[i] = r.bin
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = r.wc.Dir
	cmd.Env = append(os.Environ(), "CI=true", "GOFLAGS=-mod=mod")
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if r.o.verbose {
		fmt.Fprintf(os.Stderr, "  $ %s\n", strings.Join(argv, " "))
	}
	err := cmd.Run()
	return buf.Bytes(), err
}

// verdict runs c: caught reports a failure the mutation caused (a test
// failure, a violation, a crash, a hang); an error is the runner's own
// trouble (a usage error of a check).
func (r *runner) verdict(c check) (caught bool, detail string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.timeout)
	defer cancel()
	out, runErr := r.exec(ctx, c.cmd)
	if ctx.Err() != nil {
		return true, fmt.Sprintf("hang: no end within %v", r.o.timeout), nil
	}
	if runErr == nil {
		return false, "", nil
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return false, "", runErr
	}
	if r.o.verbose {
		os.Stderr.Write(tail(out, 40))
	}
	d := failureLine(out)
	code := ee.ExitCode()
	if c.cmd[0] == "$BIN" && code != 1 && !crashed(out) {
		// uswap's 2 (usage) and 3 (other) are the check's own failure.
		return false, "", fmt.Errorf("%s exited %d: %s", c.desc, code, d)
	}
	return true, d, nil
}

var failRE = regexp.MustCompile(`(?m)^\s*(--- FAIL: .*|panic: .*|fatal error: .*|\s*broken\s+.*|FAIL\s+\S+.*|.*violation.*|.*corrupt.*)$`)

// failureLine picks the most telling line of a failing check's output.
func failureLine(out []byte) string {
	if m := failRE.Find(out); m != nil {
		return strings.TrimSpace(string(m))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func crashed(out []byte) bool {
	return bytes.Contains(out, []byte("panic: ")) || bytes.Contains(out, []byte("fatal error: "))
}

func tail(b []byte, n int) []byte {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// checksFor lists m's checks: its hints, then the standard kinds.
func (r *runner) checksFor(m *mutation.Mutation) ([]check, error) {
	var cs []check
	for _, h := range m.Hints {
		c, err := r.hintCheck(h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		cs = append(cs, c)
	}
	for _, k := range r.o.kinds {
		ks, err := r.standardChecks(k)
		if err != nil {
			return nil, err
		}
		cs = append(cs, ks...)
	}
	return cs, nil
}

func (r *runner) baseline() error {
	if err := r.wc.Sync(); err != nil {
		return err
	}
	if err := r.build(); err != nil {
		return err
	}
	for _, k := range r.o.kinds {
		cs, err := r.standardChecks(k)
		if err != nil {
			return err
		}
		for _, c := range cs {
			caught, d, err := r.verdict(c)
			if err != nil {
				return err
			}
			if caught {
				return fmt.Errorf("%s: %s", c.desc, d)
			}
		}
	}
	return nil
}

// one runs one mutation.
func (r *runner) one(m *mutation.Mutation) (res result) {
	start := time.Now()
	res = result{Name: m.Name, Area: m.Area, Concurrency: m.Concurrency, Counted: m.Counted()}
	defer func() { res.Elapsed = time.Since(start) }()
	fail := func(err error) result {
		res.Error = err.Error()
		return res
	}
	if err := r.wc.Sync(); err != nil {
		return fail(err)
	}
	applied, err := mutation.Apply(r.wc.Dir, m)
	if err != nil {
		return fail(err)
	}
	defer applied.Restore()
	if err := r.build(); err != nil {
		return fail(fmt.Errorf("does not compile: %w", err))
	}
	cs, err := r.checksFor(m)
	if err != nil {
		return fail(err)
	}
	caughtKind := map[string]bool{}
	for _, c := range cs {
		if caughtKind[c.kind] {
			continue // this kind already caught it (--every-kind)
		}
		caught, d, err := r.verdict(c)
		if err != nil {
			return fail(err)
		}
		if caught {
			res.Caught = true
			res.CaughtBy = append(res.CaughtBy, catch{Kind: c.kind, Check: c.desc, Detail: d})
			caughtKind[c.kind] = true
			if !r.o.everyKind {
				break
			}
		}
	}
	return res
}

func printResult(res result) {
	tag := ""
	if !res.Counted {
		tag = " (harmless: not counted)"
	}
	switch {
	case res.Error != "":
		fmt.Printf("%-36s ERROR %s\n", res.Name, res.Error)
	case !res.Caught:
		fmt.Printf("%-36s NOT CAUGHT%s  (%v)\n", res.Name, tag, res.Elapsed.Round(time.Second))
	default:
		c := res.CaughtBy[0]
		fmt.Printf("%-36s caught by %s: %s  (%v)%s\n", res.Name, c.Check, c.Detail, res.Elapsed.Round(time.Second), tag)
		for _, c := range res.CaughtBy[1:] {
			fmt.Printf("%-36s   also by %s: %s\n", "", c.Check, c.Detail)
		}
	}
}

type summary struct {
	Mutations        int            `json:"mutations"`
	Counted          int            `json:"counted"`
	Caught           int            `json:"caught"`
	ByKind           map[string]int `json:"caught_by_kind"`
	Concurrency      int            `json:"concurrency_related"`
	ExplorerCaughtCC int            `json:"explorer_caught_concurrency"`
	Elapsed          time.Duration  `json:"elapsed_ns"`
}

func summarize(results []result, o *options) summary {
	s := summary{Mutations: len(results), ByKind: map[string]int{}}
	for _, r := range results {
		s.Elapsed += r.Elapsed
		if !r.Counted || r.Error != "" {
			continue
		}
		s.Counted++
		if r.Caught {
			s.Caught++
		}
		kinds := map[string]bool{}
		for _, c := range r.CaughtBy {
			kinds[c.Kind] = true
		}
		for k := range kinds {
			s.ByKind[k]++
		}
		if r.Concurrency {
			s.Concurrency++
			if kinds["explore"] {
				s.ExplorerCaughtCC++
			}
		}
	}
	return s
}

func printSummary(results []result, o *options) {
	s := summarize(results, o)
	fmt.Printf("\n%d mutations (%d counted): %d caught, %d not caught; %v\n", s.Mutations, s.Counted, s.Caught, s.Counted-s.Caught, s.Elapsed.Round(time.Second))
	how := "first catch only; --every-kind runs every kind"
	if o.everyKind {
		how = "every kind run on every mutation"
	}
	fmt.Printf("caught by kind (%s):", how)
	for _, k := range allKinds {
		fmt.Printf(" %s %d", k, s.ByKind[k])
	}
	fmt.Println()
	if o.everyKind && s.Concurrency > 0 {
		fmt.Printf("the explorer alone caught %d of the %d concurrency-related mutations (%.0f%%)\n",
			s.ExplorerCaughtCC, s.Concurrency, 100*float64(s.ExplorerCaughtCC)/float64(s.Concurrency))
	}
}
