//go:build race

package hosttest

// RaceEnabled is true when the binary is built with the race detector,
// whose runtime needs memory of its own: a child process of a test binary
// in a small memory cgroup needs a larger limit then.
const RaceEnabled = true
