//go:build !invariants

package ksync

import "unsafe"

// debug turns on expensive checks (lock order and ownership, spinlock
// depth). Build with -tags invariants to enable them; the tests do.
// Without the tag the per-lock and per-task debug state below is empty
// and every hook is a no-op behind a constant-false branch.
const debug = false

// lockDebug is a lock's debug state: empty in an ordinary build.
type lockDebug struct{}

// bitDebug is a flag word's bit-lock debug state: empty here.
type bitDebug struct{}

// taskDebug is a task's record of held locks: empty here.
type taskDebug struct{}

func (d *lockDebug) setRank(Rank) {}
func (d *bitDebug) setRank(Rank)  {}

func lockWill(*Task, *lockDebug, unsafe.Pointer, lockHow)         {}
func lockDid(*Task, *lockDebug, unsafe.Pointer, lockHow)          {}
func lockUndo(*Task, *lockDebug, unsafe.Pointer, lockHow, string) {}
func lockHeld(*Task, *lockDebug, unsafe.Pointer, lockHow, string) {}
func bitWill(*Task, *bitDebug, *Flags, uint, lockHow)             {}
func bitDid(*Task, *bitDebug, *Flags, uint, lockHow)              {}
func bitUndo(*Task, *bitDebug, *Flags, uint)                      {}
func bitHeld(*Task, *bitDebug, *Flags, uint, string)              {}
func (t *Task) spinning() int                                     { return 0 }
