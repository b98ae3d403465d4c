package sched

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// colWidth is the width of one task's column in FormatColumns.
const colWidth = 34

// FormatColumns writes the trace as a timeline with one column per task
// and one row per event, like the CPU1/CPU2 diagrams of kernel threads:
//
//	step  main[0]                    reader[1]
//	----  -------                    ---------
//	   3  lock Mutex#1                              @ swap.foo swap.go:12
//	   4                             trylock Mutex#1 @ ...
//
// Notes are set off with "»". The failure, if any, comes last.
func FormatColumns(r Result, w io.Writer) error {
	var b strings.Builder
	n := len(r.Tasks)
	b.WriteString("step  ")
	for id, name := range r.Tasks {
		b.WriteString(pad(fmt.Sprintf("%s[%d]", name, id), colWidth))
	}
	b.WriteString("\n----  ")
	for id, name := range r.Tasks {
		b.WriteString(pad(strings.Repeat("-", len(fmt.Sprintf("%s[%d]", name, id))), colWidth))
	}
	b.WriteString("\n")
	for i := range r.Trace {
		e := &r.Trace[i]
		fmt.Fprintf(&b, "%4d  ", e.Step)
		b.WriteString(strings.Repeat(" ", colWidth*e.Task))
		text := e.Text()
		if e.Kind == EvNote || e.Caller == "" {
			b.WriteString(text)
		} else {
			b.WriteString(pad(text, colWidth*(n-e.Task)))
			b.WriteString(" @ ")
			b.WriteString(e.Caller)
		}
		b.WriteString("\n")
	}
	if f := r.Failure; f != nil {
		b.WriteString("\n")
		b.WriteString(f.String())
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pad left-justifies s in width columns, keeping at least one space.
func pad(s string, width int) string {
	if len(s) >= width {
		return s + " "
	}
	return s + strings.Repeat(" ", width-len(s))
}

// WriteHTML writes the trace as a self-contained HTML page: a timeline
// with one lane per task, the operation and object in bold, the engine
// caller underneath, notes highlighted, and the failure on top. The rows
// of the events whose Step is in highlight are marked (the steps a
// report's drawing shows).
func WriteHTML(r Result, w io.Writer, highlight ...int) error {
	marked := map[int]bool{}
	for _, s := range highlight {
		marked[s] = true
	}
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>uswap trace</title>
<style>
body{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;margin:1em;color:#222}
table{border-collapse:collapse}
th{position:sticky;top:0;background:#eef;padding:4px 8px;border-bottom:2px solid #99a;text-align:left}
td{padding:2px 8px;vertical-align:top;border-left:1px solid #ddd;min-width:14em}
td.step{color:#888;text-align:right;border-left:none;min-width:3em}
tr:hover td{background:#f6f6ff}
.op{font-weight:bold}
.caller{color:#777;font-size:11px}
.note{background:#fff3c4;font-weight:bold}
.block{color:#a33}.woken,.timeout{color:#383}.wake{color:#36a}.spawn,.exit{color:#666;font-style:italic}
.failure{background:#fdd;border:1px solid #c66;padding:8px;white-space:pre-wrap;margin-bottom:1em}
tr.key td{background:#ffe9b0}tr.key td.step{font-weight:bold;color:#a60}
</style></head><body>
`)
	fmt.Fprintf(&b, "<p>%d steps, %d events, virtual time %v</p>\n", r.Steps, len(r.Trace), r.VirtualTime)
	if r.Failure != nil {
		b.WriteString(`<div class="failure">`)
		b.WriteString(html.EscapeString(r.Failure.String()))
		if r.Failure.Stack != "" {
			b.WriteString("\n\n")
			b.WriteString(html.EscapeString(r.Failure.Stack))
		}
		b.WriteString("</div>\n")
	}
	b.WriteString("<table>\n<tr><th>step</th>")
	for id, name := range r.Tasks {
		fmt.Fprintf(&b, "<th>%s[%d]</th>", html.EscapeString(name), id)
	}
	b.WriteString("</tr>\n")
	for i := range r.Trace {
		e := &r.Trace[i]
		row := "<tr>"
		if marked[e.Step] {
			row = `<tr class="key">`
		}
		fmt.Fprintf(&b, `%s<td class="step" title="t=%v">%d</td>`, row, e.Time, e.Step)
		for id := range r.Tasks {
			if id != e.Task {
				b.WriteString("<td></td>")
				continue
			}
			class := e.Kind.String()
			if e.Kind == EvPoint {
				class = "op"
			}
			fmt.Fprintf(&b, `<td><span class="%s">%s</span>`, class, html.EscapeString(e.Text()))
			if e.Caller != "" {
				fmt.Fprintf(&b, `<br><span class="caller">%s</span>`, html.EscapeString(e.Caller))
			}
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
