// Command uswap runs, measures and breaks uswap, the Linux swap subsystem
// rebuilt in Go. Each subcommand lives in its own file and registers
// itself on rootCmd in an init function; what they share (sizes, exit
// statuses, interrupts, output files, the JSON envelope) lives in small
// files of its own: units.go, exit.go, interrupt.go, output.go,
// jsonout.go.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// rootCmd is the command line main runs; each subcommand adds itself
// with addCommand in an init function.
var rootCmd = newRootBase()

// commands are the subcommands' constructors, for newRootCmd.
var commands []func() *cobra.Command

// addCommand adds a subcommand to rootCmd and to every newRootCmd.
func addCommand(newCmd func() *cobra.Command) {
	commands = append(commands, newCmd)
	rootCmd.AddCommand(newCmd())
}

// newRootCmd is a fresh command tree, for running commands one after
// another in one process (tests): no flag value carries over.
func newRootCmd() *cobra.Command {
	root := newRootBase()
	for _, c := range commands {
		root.AddCommand(c())
	}
	registerCompletions(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	return root
}

func newRootBase() *cobra.Command {
	return &cobra.Command{
		Use:   "uswap",
		Short: "the Linux swap subsystem rebuilt in Go: run it, measure it, break it",
		Long: `uswap is the Linux swap subsystem rebuilt in Go: run it, measure it, break it.

Sizes take K, M, G or T suffixes (powers of 1024); a bare number is MiB,
except mkswap's SIZE, which counts 1 KiB blocks as mkswap(8) does.
Durations are Go durations (10s, 2m). --json on every command prints one
JSON object (schema uswap/v1, docs/json.md).

Exit status, every command: 0 done, 1 the thing checked failed (a race
found, a page lost or corrupted, an audit finding, a swap area swapon would
refuse), 2 a bad flag or argument (nothing was done), 3 any other error,
130 interrupted (SIGINT or SIGTERM: the run stops at a clean point and
prints what it did; a second signal stops at once, after undoing what it
set up on the host).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
}

func main() {
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	registerCompletions(rootCmd)
	ctx, stop := withInterrupts(context.Background(), os.Stderr)
	status := run(ctx)
	stop()
	os.Exit(status)
}

// run executes the command line and returns the exit status; a panic is
// an internal error (status 3), reported with its stack after the
// command's own clean-up ran.
func run(ctx context.Context) (status int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "uswap: error: internal error (a bug in uswap): %v\n%s", p, debug.Stack())
			status = exitError
		}
	}()
	err := rootCmd.ExecuteContext(ctx)
	reportError(os.Stderr, err)
	return exitStatus(err)
}
