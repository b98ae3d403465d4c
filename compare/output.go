package compare

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"uswap/explore"
	"uswap/sched"
)

// Summary is a row's verdict in one phrase: what broke where, or what
// was explored without finding anything (and the scenarios that do not
// apply), or why the variant does not apply.
func (r *Row) Summary() string {
	if r.NotApplying != "" {
		return r.NotApplying
	}
	total, explored := 0, 0
	var broke, out []string
	for _, v := range r.Verdicts {
		switch {
		case v.NotApplying != "":
			out = append(out, v.Scenario)
			continue
		case v.Found:
			broke = append(broke, fmt.Sprintf("%s in %s after %s schedules", v.Kind, v.Scenario, groupThousands(float64(v.Schedules))))
		}
		total += v.Schedules
		explored++
	}
	if len(broke) > 0 {
		return "BROKEN: " + strings.Join(broke, "; ")
	}
	s := fmt.Sprintf("holds: nothing in %s schedules over %s", groupThousands(float64(total)), plural(explored, "scenario"))
	if len(out) > 0 {
		s += fmt.Sprintf(" (%s: does not apply)", strings.Join(out, ", "))
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Verdict is "BROKEN" when the explorer broke a scenario, "does not
// apply" when the variant does not run in the design, else "holds".
func (r *Row) Verdict() string {
	switch {
	case r.NotApplying != "":
		return "does not apply"
	case r.Broken():
		return "BROKEN"
	}
	return "holds"
}

// mark is def for the default variant, else other.
func (r *Row) mark(def, other string) string {
	if r.Default {
		return def
	}
	return other
}

// formatCost prints a cost with its relative value over the default;
// "–" for one that was not measured.
func formatCost(c, r Cost) string {
	v, rel := float64(c), float64(r)
	var s string
	switch {
	case !c.Measured():
		return "–"
	case v == 0:
		s = "0"
	case math.Abs(v) >= 1000:
		s = groupThousands(math.Round(v))
	case math.Abs(v) >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	if rel != 0 {
		s += fmt.Sprintf(" (×%.2f)", rel)
	}
	return s
}

func groupThousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// WriteText writes every table for a terminal: the costs, then every
// verdict.
func WriteText(w io.Writer, tables []*Table) error {
	var b bytes.Buffer
	for n, t := range tables {
		if n > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "seed %s, %s design: fix %s, %s\n  race: %s\n", t.Thread, t.Design, t.Fix, t.Commit, t.Race)
		if t.NoRace != "" {
			fmt.Fprintf(&b, "  %s\n", t.NoRace)
		}
		b.WriteString("  costs relative to the kernel's variant (*) in this design; medians of alternating rounds\n\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  variant\tstatus\texplorer")
		for _, c := range t.Costs {
			fmt.Fprintf(tw, "\t%s (%s)", c.Name, c.Unit)
		}
		fmt.Fprintln(tw)
		for _, r := range t.Rows {
			fmt.Fprintf(tw, "%s %s\t%s\t%s", r.mark("*", " "), r.Variant, r.Status, r.Verdict())
			for c := range t.Costs {
				fmt.Fprintf(tw, "\t%s", formatCost(r.Costs[c], r.Relative[c]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		b.WriteString("\n  explorer verdicts (strategies with the schedules each ran):\n")
		said, saidBy := "", "" // the last reason printed, the variant's name taken out, and its variant
		for _, r := range t.Rows {
			if r.NotApplying != "" {
				why := strings.Replace(r.NotApplying, t.Fix+"="+r.Variant+" ", t.Fix+"=VARIANT ", 1)
				if why == said {
					fmt.Fprintf(&b, "    %-18s does not apply in the %s design, as %s\n", r.Variant, t.Design, saidBy)
				} else {
					fmt.Fprintf(&b, "    %-18s %s\n", r.Variant, r.NotApplying)
					said, saidBy = why, r.Variant
				}
				continue
			}
			for i, v := range r.Verdicts {
				name := ""
				if i == 0 {
					name = r.Variant
				}
				fmt.Fprintf(&b, "    %-18s %-15s %s\n", name, v.Scenario, v.Short())
				if v.Found {
					fmt.Fprintf(&b, "    %-18s %-15s replay: %s\n", "", "", v.Replay)
				}
			}
			if r.CostNote != "" {
				fmt.Fprintf(&b, "    %-18s %-15s cost runs: %s\n", "", "", r.CostNote)
			}
		}
		fmt.Fprintf(&b, "  (%s, %s design, in %v)\n", t.Fix, t.Design, t.Elapsed.Round(1e8))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteMarkdown writes every table as Markdown, one row per variant with
// its verdict in a phrase and its costs.
func WriteMarkdown(w io.Writer, tables []*Table) error {
	var b bytes.Buffer
	for _, t := range tables {
		fmt.Fprintf(&b, "**Seed %s**, %s design (`%s`):\n\n", t.Thread, t.Design, t.Fix)
		if t.NoRace != "" {
			fmt.Fprintf(&b, "%s.\n\n", upperFirst(t.NoRace))
		}
		b.WriteString("| variant | status | explorer |")
		for _, c := range t.Costs {
			fmt.Fprintf(&b, " %s (%s) |", c.Name, c.Unit)
		}
		b.WriteString("\n|---|---|---|")
		for range t.Costs {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, r := range t.Rows {
			name := "`" + r.Variant + "`"
			if r.Default {
				name += " (default)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |", name, r.Status, r.Summary())
			for c := range t.Costs {
				fmt.Fprintf(&b, " %s |", formatCost(r.Costs[c], r.Relative[c]))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// htmlTraceEvents bounds the events of an embedded trace (a livelock's
// runs to the step cap).
const htmlTraceEvents = 1500

// WriteHTML writes a page with every table and, for every variant the
// explorer broke, its failing schedule's trace (explore.WriteHTML), each
// in a frame of its own.
func WriteHTML(w io.Writer, tables []*Table) error {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>uswap fixes compare</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #bbc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef}
td.num{text-align:right;font-family:ui-monospace,monospace}
.broken{color:#a00;font-weight:bold}.holds{color:#070}.does-not-apply{color:#667}
iframe{width:100%;height:40em;border:1px solid #99a}
code,pre{font-family:ui-monospace,monospace;font-size:12px}
</style></head><body>
<h1>uswap fixes compare</h1>
<p>For every candidate fix of each seed thread: the explorer's verdict over the thread's scenarios, and its cost measured in the same run (medians of alternating rounds, relative to the kernel's variant, marked *).</p>
`)
	for _, t := range tables {
		fmt.Fprintf(&b, "<h2>Seed %s, %s design: <code>%s</code></h2>\n<p>%s<br>race: %s</p>\n", esc(t.Thread), esc(t.Design.String()), esc(t.Fix), esc(t.Commit), esc(t.Race))
		if t.NoRace != "" {
			fmt.Fprintf(&b, "<p>%s</p>\n", esc(upperFirst(t.NoRace)))
		}
		b.WriteString("<table><tr><th>variant</th><th>status</th><th>explorer</th>")
		for _, c := range t.Costs {
			fmt.Fprintf(&b, "<th>%s (%s)</th>", esc(c.Name), esc(c.Unit))
		}
		b.WriteString("</tr>\n")
		for _, r := range t.Rows {
			fmt.Fprintf(&b, "<tr><td title=\"%s\"><code>%s</code>%s</td><td title=\"%s\">%s</td><td class=\"%s\">",
				esc(r.Doc), esc(r.Variant), r.mark(" *", ""), esc(r.Source), esc(r.Status), strings.ReplaceAll(strings.ToLower(r.Verdict()), " ", "-"))
			if r.NotApplying != "" {
				b.WriteString(esc(r.NotApplying))
			} else {
				for _, v := range r.Verdicts {
					fmt.Fprintf(&b, "%s: %s<br>", esc(v.Scenario), esc(v.Short()))
				}
			}
			b.WriteString("</td>")
			for c := range t.Costs {
				fmt.Fprintf(&b, "<td class=\"num\">%s</td>", esc(formatCost(r.Costs[c], r.Relative[c])))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</table>\n")
		for _, r := range t.Rows {
			for _, v := range r.Verdicts {
				if !v.Found || v.Report == nil {
					continue
				}
				var page bytes.Buffer
				if err := explore.WriteHTML(&page, trimmed(v.Report)); err != nil {
					return err
				}
				fmt.Fprintf(&b, "<details><summary><code>%s=%s</code> in <code>%s</code>: %s</summary>\n<p>replay: <code>%s</code></p>\n<iframe srcdoc=\"%s\"></iframe></details>\n",
					esc(t.Fix), esc(r.Variant), esc(v.Scenario), esc(v.Broke), esc(v.Replay), esc(page.String()))
			}
		}
	}
	b.WriteString("</body></html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// trimmed is r with its trace cut to htmlTraceEvents events past the
// set-up, for a page of a reasonable size.
func trimmed(r *explore.Report) *explore.Report {
	c := *r
	tr := r.Result.Trace
	start := 0
	for i := range tr {
		if tr[i].Kind == sched.EvSpawn {
			start = i
			break
		}
	}
	if len(tr)-start > htmlTraceEvents {
		c.Result.Trace = tr[:start+htmlTraceEvents]
	}
	return &c
}

func esc(s string) string { return html.EscapeString(s) }

// upperFirst is s with its first letter capitalised, for a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
