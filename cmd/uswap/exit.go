package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit statuses, the same for every command.
const (
	// exitOK: the command did what it was asked and the check it makes
	// (if any) passed.
	exitOK = 0
	// exitFailed: the thing checked failed, and only that: a race found,
	// a page lost or corrupted, an audit finding, a swap area swapon
	// would refuse.
	exitFailed = 1
	// exitUsage: a flag or argument is wrong; nothing was done.
	exitUsage = 2
	// exitError: anything else went wrong (the host lacks something, a
	// write failed, a bug); the message says what.
	exitError = 3
	// exitInterrupted: stopped by SIGINT or SIGTERM, after printing what
	// ran (128 + SIGINT, as shells report it).
	exitInterrupted = 130
)

// usageError marks an error in how the command was called: exit status
// 2, before any work.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef is a usage error; name the flag and the accepted range.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// failedError marks a check that failed: exit status 1. The report that
// shows it is already printed.
type failedError struct{ err error }

func (e failedError) Error() string { return e.err.Error() }
func (e failedError) Unwrap() error { return e.err }

// failedf is a failed check.
func failedf(format string, args ...any) error {
	return failedError{fmt.Errorf(format, args...)}
}

// errInterrupted is returned by a command that stopped at a clean point
// on SIGINT or SIGTERM, its summary printed: exit status 130.
var errInterrupted = errors.New("interrupted")

// exitStatus maps a command's error to the process's exit status.
func exitStatus(err error) int {
	var ue usageError
	var fe failedError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ue) || isCobraUsage(err):
		return exitUsage
	case errors.As(err, &fe):
		return exitFailed
	}
	return exitError
}

// reportError prints err as the last line on w, saying which kind it is.
func reportError(w io.Writer, err error) {
	switch exitStatus(err) {
	case exitOK:
	case exitInterrupted:
		fmt.Fprintln(w, "uswap: interrupted")
	case exitUsage, exitFailed:
		fmt.Fprintf(w, "uswap: %v\n", err)
	default:
		fmt.Fprintf(w, "uswap: error: %v\n", err)
	}
}

// isCobraUsage recognizes cobra's own argument errors (unknown command,
// wrong number of arguments, bad flag values), which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
