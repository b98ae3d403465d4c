//go:build !invariants

package ksync

// debug turns on expensive checks (spinlock depth, lock ownership). Build
// with -tags invariants to enable them; the tests do.
const debug = false
