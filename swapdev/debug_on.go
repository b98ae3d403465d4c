//go:build invariants

package swapdev

// debugChecks turns on expensive consistency checks (pool double frees,
// slot state); the tests build with -tags invariants.
const debugChecks = true
