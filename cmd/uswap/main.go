// Command uswap runs, measures and breaks uswap, the Linux swap subsystem
// rebuilt in Go. Each subcommand lives in its own file and registers
// itself on rootCmd in an init function.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "uswap",
	Short:         "the Linux swap subsystem rebuilt in Go: run it, measure it, break it",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// usageError marks an error in how the command was called; it exits with
// status 2, like a flag error.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func main() {
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "uswap: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) || isCobraUsage(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// isCobraUsage recognizes cobra's own argument errors (unknown command,
// wrong number of arguments), which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
