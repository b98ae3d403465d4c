package explore

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"

	"uswap/design"
	"uswap/invariant"
	"uswap/sched"
)

// Violations are the invariants the failing run broke, with their
// objects: the check's violations, or the panic as a violation of what
// it means for the scenario (Instance.PanicMeans), placed where in the
// engine it happened. A deadlock, a livelock, or a panic that means
// nothing more has none.
func (r *Report) Violations() invariant.List {
	f := r.Result.Failure
	if f == nil {
		return nil
	}
	switch f.Kind {
	case sched.Panic:
		if r.PanicMeans == 0 {
			return nil
		}
		obj := f.TaskName
		if site := panicSite(f.Stack); site != "" {
			obj += " in " + site
		}
		return invariant.List{{Invariant: r.PanicMeans, Object: obj, Problem: fmt.Sprint(f.Value)}}
	case sched.CheckFailed:
		var l invariant.List
		if errors.As(f.Err, &l) {
			return l
		}
		var v invariant.Violation
		if errors.As(f.Err, &v) {
			return invariant.List{v}
		}
	}
	return nil
}

// Broken says what the failing run broke: each violated invariant with
// its object and problem, then each invariant's rule; or the failure
// itself when it breaks no invariant (a deadlock, a livelock, a panic).
func (r *Report) Broken() string {
	f := r.Result.Failure
	if f == nil {
		return "nothing: the run did not fail"
	}
	vs := r.Violations()
	if len(vs) == 0 {
		s := f.String()
		if f.Kind == sched.Panic {
			if site := panicSite(f.Stack); site != "" {
				s += " at " + site
			}
		}
		return s
	}
	var b strings.Builder
	b.WriteString(vs.Error())
	for _, id := range vs.Broken() {
		fmt.Fprintf(&b, "\n           %s: %s", id, id.RuleIn(r.Design))
	}
	return b.String()
}

// panicSite is the engine function, file and line where a task's stack
// says it panicked: the first frame after the panic that is not the Go
// runtime.
func panicSite(stack string) string {
	lines := strings.Split(stack, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "panic(") {
			continue
		}
		for j := i + 2; j+1 < len(lines); j += 2 {
			fn := lines[j]
			if strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "panic(") {
				continue
			}
			if k := strings.LastIndex(fn, "("); k > 0 {
				fn = fn[:k]
			}
			if k := strings.LastIndex(fn, "/"); k >= 0 {
				fn = fn[k+1:]
			}
			file := strings.TrimSpace(lines[j+1])
			if k := strings.LastIndex(file, " +0x"); k >= 0 {
				file = file[:k]
			}
			if k := strings.LastIndex(file, "/"); k >= 0 {
				file = file[k+1:]
			}
			return fn + " " + file
		}
	}
	return ""
}

// ReplayCommand is the command line that replays the report's run.
func (r *Report) ReplayCommand() string {
	var b strings.Builder
	if sc := r.Scenario.Script; sc != nil && !sc.Embedded {
		fmt.Fprintf(&b, "uswap explore --script %s", sc.File)
	} else {
		fmt.Fprintf(&b, "uswap explore --scenario %s", r.Scenario.Name)
	}
	if r.Design != design.Classic {
		fmt.Fprintf(&b, " --design %s", r.Design)
	}
	for _, a := range r.Fixes.Args() {
		b.WriteString(" " + a)
	}
	fmt.Fprintf(&b, " --replay '%s'", r.Choices)
	return b.String()
}

// header is the report's lines above the drawing.
func (r *Report) header() []string {
	sc := r.Scenario
	where := "design: " + r.Design.String() + "; fixes: " + r.Fixes.String()
	if sc.Seed != "" {
		where = "seed thread " + sc.Seed + "; " + where
	}
	how := "strategy " + r.Strategy
	switch {
	case r.Strategy == "replay":
	case strings.HasPrefix(r.Strategy, "dfs"):
		how += fmt.Sprintf(", run %d", r.Run)
	default:
		how += fmt.Sprintf(", seed %d (run %d)", r.Seed, r.Run)
	}
	title := "FAILURE in scenario"
	if r.Result.Failure == nil {
		title = "REPLAY (no failure) of scenario"
	}
	size := "  schedule " + r.Schedule().String()
	switch {
	case r.Shrunk && r.Found != r.Schedule():
		size += fmt.Sprintf("; shrunk from %s (%s)", r.Found, plural(r.ShrinkRuns, "replay"))
	case r.Shrunk:
		size += fmt.Sprintf("; as found: %s made it no smaller", plural(r.ShrinkRuns, "replay"))
	}
	lines := []string{
		fmt.Sprintf("%s %s (%s)", title, sc.Name, where),
		"  " + how,
		"  broken   " + r.Broken(),
		size,
		"  choices  " + r.Choices,
		"  replay   " + r.ReplayCommand(),
	}
	return append(lines, r.conflictLines()...)
}

// conflictLines say which accesses decide the failure, labelled for the
// header.
func (r *Report) conflictLines() []string {
	if r.Result.Failure == nil {
		return nil
	}
	lines := r.ConflictLines()
	if len(lines) == 0 {
		if r.ConflictNote != "" {
			return []string{"  conflict none found: " + r.ConflictNote}
		}
		return nil
	}
	for k := range lines {
		label := "  conflict "
		if k > 0 {
			label = "           "
		}
		lines[k] = label + lines[k]
	}
	return lines
}

// ConflictLines are the conflicts shown, one line each, as the report
// prints them after "conflict".
func (r *Report) ConflictLines() []string {
	var out []string
	for k := range r.Conflicts {
		if k == shownConflicts {
			break
		}
		out = append(out, r.Conflicts[k].String(r))
	}
	return out
}

// String says the conflict in a line: the object, then the accesses in
// order (who, what, in which function; the other tasks' writes between a
// task's two accesses grouped by task), then what swapping them did.
func (c *Conflict) String(r *Report) string {
	var parts []string
	n := len(c.Accesses)
	parts = append(parts, access1(r, &c.Accesses[0], c.Object))
	if n > 2 {
		// The middle, grouped: "A store in do_swap_page and do_wp_page".
		var groups []string
		for i := 1; i < n-1; {
			e := &c.Accesses[i]
			fns := []string{kernelFunc(e.Caller)}
			j := i + 1
			for ; j < n-1 && c.Accesses[j].Task == e.Task && c.Accesses[j].Op == e.Op && c.Accesses[j].ObjName == e.ObjName; j++ {
				if f := kernelFunc(c.Accesses[j].Caller); !slices.Contains(fns, f) {
					fns = append(fns, f)
				}
			}
			groups = append(groups, fmt.Sprintf("%s %s in %s", r.role(e.Task), what(e, c.Object), strings.Join(fns, " and ")))
			i = j
		}
		parts = append(parts, strings.Join(groups, ", "))
	}
	if n > 1 {
		parts = append(parts, access1(r, &c.Accesses[n-1], c.Object))
	}
	passes := 0
	for _, w := range c.Swapped {
		if w == "" {
			passes++
		}
	}
	var swapped string
	switch {
	case len(c.Swapped) == 2 && passes == 2:
		swapped = "with either end swapped, the run passes"
	case len(c.Swapped) == 2:
		swapped = "with either end swapped, the failure goes: " + strings.Join(nonEmpty(c.Swapped), "; ")
	case passes == 1:
		swapped = "swapped, the run passes"
	default:
		swapped = "swapped, " + c.Swapped[0]
	}
	return fmt.Sprintf("%s: %s (%s)", c.Object, strings.Join(parts, ", then "), swapped)
}

// what is an access's operation, with the part it touched when that is
// not the conflict's object itself.
func what(e *sched.Event, object string) string {
	if e.ObjName != object {
		return e.Op.String() + " " + e.ObjName
	}
	return e.Op.String()
}

func nonEmpty(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// access1 says one access of a conflict: "swapoff free in swapoff".
func access1(r *Report, e *sched.Event, object string) string {
	return fmt.Sprintf("%s %s in %s", r.role(e.Task), what(e, object), kernelFunc(e.Caller))
}

// View is the part of a trace worth drawing: from the main task's first
// spawn on (the setup before it is one task working alone).
func View(r sched.Result) sched.Result {
	for i := range r.Trace {
		if r.Trace[i].Kind == sched.EvSpawn {
			r.Trace = r.Trace[i:]
			return r
		}
	}
	return r
}

// WriteReport writes the report for a terminal: the header (what broke,
// the schedule and its shrinking, the choices, the replay command, the
// conflict), then the steps that matter as CPU columns, at most
// maxDrawRows rows. WriteTrace writes the whole trace.
func WriteReport(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, l := range r.header() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if steps := r.keySteps(); len(steps) > 0 {
		b.WriteByte('\n')
		r.writeDrawing(&b, steps)
	}
	if f := r.Result.Failure; f != nil {
		b.WriteString("\n")
		b.WriteString(f.String())
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTrace writes the run's whole trace from the first spawn on as
// columns, one per task (sched.FormatColumns), the failure last.
func WriteTrace(w io.Writer, r *Report) error {
	var b bytes.Buffer
	v := View(r.Result)
	if hidden := len(r.Result.Trace) - len(v.Trace); hidden > 0 {
		fmt.Fprintf(&b, "(setup: %d events of the main task not shown)\n", hidden)
	}
	if err := sched.FormatColumns(v, &b); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteHTML writes the report as a self-contained HTML page: the header
// and the drawing, then sched.WriteHTML's timeline of the whole trace
// with one lane per task, the drawing's steps highlighted.
func WriteHTML(w io.Writer, r *Report) error {
	steps := r.keySteps()
	var page bytes.Buffer
	if err := sched.WriteHTML(View(r.Result), &page, steps...); err != nil {
		return err
	}
	var head strings.Builder
	head.WriteString(`<div style="background:#eef;border:1px solid #99a;padding:8px;margin-bottom:1em;white-space:pre-wrap">`)
	for _, l := range r.header() {
		head.WriteString(html.EscapeString(l))
		head.WriteByte('\n')
	}
	if len(steps) > 0 {
		var d strings.Builder
		r.writeDrawing(&d, steps)
		head.WriteString("\n")
		head.WriteString(html.EscapeString(d.String()))
	}
	if r.Scenario.Doc != "" {
		head.WriteString("\n")
		head.WriteString(html.EscapeString(r.Scenario.Doc))
	}
	head.WriteString("</div>\n")
	s := page.String()
	s = strings.Replace(s, "<title>uswap trace</title>", "<title>uswap explore: "+html.EscapeString(r.Scenario.Name)+"</title>", 1)
	s = strings.Replace(s, "<body>\n", "<body>\n"+head.String(), 1)
	_, err := io.WriteString(w, s)
	return err
}
