package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runUswap runs the command line args in this process and returns its
// output and whether main would exit with status 2.
func runUswap(t *testing.T, args ...string) (string, error, bool) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	var ue usageError
	return out.String(), err, err != nil && (errors.As(err, &ue) || isCobraUsage(err))
}

func TestBenchBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"bench", "usemem", "--threads", "0"}, "threads must be 1 to 64"},
		{[]string{"bench", "usemem", "-t", "1", "--pattern", "ones"}, "pattern \"ones\""},
		{[]string{"bench", "usemem", "-P", "mixed", "--engine", "bsd"}, "engine \"bsd\""},
		{[]string{"bench", "usemem", "--engine", "uswap", "--comp", "gzip"}, "compressor \"gzip\""},
		{[]string{"bench", "usemem", "-c", "lz4", "--device", "tape"}, "device \"tape\""},
		{[]string{"bench", "usemem", "--device", "ram", "--size", "x"}, "invalid argument"},
		{[]string{"bench", "compare", "--no-such-flag"}, "unknown flag"},
		{[]string{"bench", "compare", "extra"}, "unknown command"},
	} {
		_, err, usage := runUswap(t, tc.args...)
		if err == nil || !usage {
			t.Errorf("%v: err %v, exit status 2: %v", tc.args, err, usage)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: error %q does not say %q", tc.args, err, tc.msg)
		}
	}
}
