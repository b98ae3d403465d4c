package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// jsonSchema names the style of every command's JSON output (docs/json.md):
// one object with "schema", "command" (the command line's words, as
// "bench usemem"), "interrupted" when a signal stopped the run, and the
// command's own fields. A change that renames or removes a field, or
// changes its meaning, takes a new version.
const jsonSchema = "uswap/v1"

// jsonStdout is --json's value without a file name.
const jsonStdout = "-"

// addJSONFlag registers --json[=FILE] on cmd.
func addJSONFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "json", "", "print the result as one JSON object (schema "+jsonSchema+", docs/json.md) instead of text; --json=`file` writes it to the file and prints the text")
	cmd.Flags().Lookup("json").NoOptDefVal = jsonStdout
}

// checkJSONFlag checks --json's file, if it names one.
func checkJSONFlag(dest string) error {
	if dest == jsonStdout {
		return nil
	}
	return checkOutput("json", dest)
}

// jsonOnly reports whether JSON replaces the text on standard output.
func jsonOnly(dest string) bool { return dest == jsonStdout }

// envelope marshals v (a struct or map that encodes as a JSON object)
// with "schema" and "command" first, indented.
func envelope(command string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("json output of %s is not an object", command)
	}
	schema, _ := json.Marshal(jsonSchema)
	name, _ := json.Marshal(command)
	var raw bytes.Buffer
	fmt.Fprintf(&raw, `{"schema":%s,"command":%s`, schema, name)
	if len(body) > 2 {
		raw.WriteByte(',')
	}
	raw.Write(body[1:])
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// emitJSON writes v in the envelope to stdout (dest "-") or to the file
// dest, whole or not at all. With dest "" it does nothing.
func emitJSON(stdout io.Writer, dest, command string, v any) error {
	if dest == "" {
		return nil
	}
	b, err := envelope(command, v)
	if err != nil {
		return err
	}
	if dest == jsonStdout {
		_, err = stdout.Write(b)
		return err
	}
	return writeOutput(dest, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
