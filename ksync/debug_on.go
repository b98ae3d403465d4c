//go:build invariants

package ksync

// debug turns on expensive checks (spinlock depth, lock ownership).
const debug = true
