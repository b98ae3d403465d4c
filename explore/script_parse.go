package explore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file reads a scenario script's text into directives, following
// the file format of github.com/cockroachdb/datadriven exactly (the
// tests run every script through datadriven itself and check that both
// readers agree, directive by directive). The format is in
// docs/scenarios.md; in short:
//
//	# comment lines
//	command key key=value key=(value, value)
//	input lines
//	----
//	expected output, up to a blank line
//
// datadriven's own reader is not used here because it needs a
// *testing.T, and its package registers test flags and reads an
// environment variable at start-up: the uswap binary carries the scripts
// and must read them without the testing package.

// directive is one command of a script with its input and expected
// output.
type directive struct {
	line  int // of the command line, 1-based
	cmd   string
	args  []scriptArg
	input string // the lines up to ----, trimmed as datadriven trims them
	// raw are the input lines as written; raw[k] is line rawLine+k.
	raw      []string
	rawLine  int
	expected string // the expected output, each line ending in a newline
	// comment holds the # lines since the previous directive, without
	// their "#" and one following space.
	comment []string
}

// scriptArg is one argument of a command line: a key with no value
// (a word), one value (key=value) or several (key=(a, b)).
type scriptArg struct {
	Key  string
	Vals []string
}

func (a scriptArg) String() string {
	switch len(a.Vals) {
	case 0:
		return a.Key
	case 1:
		return a.Key + "=" + a.Vals[0]
	}
	return a.Key + "=(" + strings.Join(a.Vals, ", ") + ")"
}

// readDirectives splits a script into its directives. Errors name the
// file and line.
func readDirectives(file, src string) ([]directive, error) {
	lines := strings.Split(src, "\n")
	var out []directive
	var comment []string
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, "#") {
			c := strings.TrimPrefix(line, "#")
			comment = append(comment, strings.TrimPrefix(c, " "))
			continue
		}
		start := i + 1
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		cmd, args, err := parseScriptLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", file, start, err)
		}
		if cmd == "" {
			if len(comment) > 0 {
				comment = append(comment, "")
			}
			continue
		}
		d := directive{line: start, cmd: cmd, args: args, comment: trimBlank(comment)}
		comment = nil
		var input []string
		sep := false
		d.rawLine = i + 2
		for i++; i < len(lines); i++ {
			if lines[i] == "----" {
				sep = true
				break
			}
			input = append(input, lines[i])
		}
		if !sep {
			return nil, fmt.Errorf("%s: line %d: %s has no ---- line after its input", file, start, cmd)
		}
		d.raw = input
		d.input = strings.TrimSpace(strings.Join(input, "\n") + "\n")
		// The expected output: up to a blank line, or, when it starts
		// with a second ----, up to a ---- ---- pair.
		var exp strings.Builder
		if i+1 < len(lines) && lines[i+1] == "----" {
			i += 2
			for ; ; i++ {
				if i+1 >= len(lines) {
					return nil, fmt.Errorf("%s: line %d: %s: the output that starts with ---- ---- does not end with ---- ----", file, start, cmd)
				}
				if lines[i] == "----" && lines[i+1] == "----" {
					i++
					if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
						return nil, fmt.Errorf("%s: line %d: a non-blank line after the closing ---- ----", file, i+2)
					}
					i++
					break
				}
				exp.WriteString(lines[i] + "\n")
			}
		} else {
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
				exp.WriteString(lines[i] + "\n")
			}
		}
		d.expected = exp.String()
		out = append(out, d)
	}
	return out, nil
}

// trimBlank drops the blank lines at the end of a comment block.
func trimBlank(c []string) []string {
	for len(c) > 0 && strings.TrimSpace(c[len(c)-1]) == "" {
		c = c[:len(c)-1]
	}
	return c
}

// parseScriptLine is datadriven.ParseLine: a command, then arguments
// "key", "key=value" or "key=(v1, v2, ...)", where a parenthesised value
// may hold nested parentheses and only top-level commas separate values.
// An empty line is the empty command.
func parseScriptLine(line string) (string, []scriptArg, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", nil, nil
	}
	orig := line
	bad := func() (string, []scriptArg, error) {
		return "", nil, fmt.Errorf("cannot parse directive at column %d: %s", len(orig)-len(line)+1, orig)
	}
	until := func(chars string) string {
		i := strings.IndexAny(line, chars)
		if i < 0 {
			i = len(line)
		}
		s := line[:i]
		line = line[i:]
		return s
	}
	cmd := until(" ")
	line = strings.TrimSpace(line)
	var args []scriptArg
	for line != "" {
		var a scriptArg
		if a.Key = until(" ="); a.Key == "" {
			return bad()
		}
		if line != "" && line[0] == '=' {
			line = line[1:]
			switch {
			case line == "" || line[0] == ' ':
				a.Vals = []string{""}
			case line[0] != '(':
				a.Vals = []string{until(" ")}
			default:
				pos, depth, start := 1, 1, 1
				for depth > 0 {
					if pos == len(line) {
						return bad()
					}
					r, n := utf8.DecodeRuneInString(line[pos:])
					pos += n
					switch r {
					case ',':
						if depth == 1 {
							a.Vals = append(a.Vals, line[start:pos-1])
							for pos < len(line) && line[pos] == ' ' {
								pos++
							}
							start = pos
						}
					case '(':
						depth++
					case ')':
						depth--
					}
				}
				a.Vals = append(a.Vals, line[start:pos-1])
				line = line[pos:]
			}
		}
		args = append(args, a)
		line = strings.TrimSpace(line)
	}
	return cmd, args, nil
}

// opLine is one line of a block's input: a verb and its arguments.
type opLine struct {
	line int    // in the file
	text string // as written, without its trailing comment
	verb string
	args []scriptArg
}

// splitOps reads the input of a block directive (setup, task, check,
// machine) into its lines. A line may end in a comment: "#" after a
// space or a tab.
func splitOps(d directive) ([]opLine, error) {
	var ops []opLine
	for k, raw := range d.raw {
		text := strings.TrimSpace(stripComment(raw))
		if text == "" {
			continue
		}
		verb, args, err := parseScriptLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", d.rawLine+k, err)
		}
		ops = append(ops, opLine{line: d.rawLine + k, text: text, verb: verb, args: args})
	}
	return ops, nil
}

// stripComment cuts a line at its comment: a "#" at its start or after
// a space or a tab.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}
