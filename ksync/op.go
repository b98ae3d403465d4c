package ksync

// Op names the operation at a scheduling point, as shown in traces.
type Op uint8

const (
	OpLock Op = iota + 1
	OpTryLock
	OpUnlock
	OpRLock
	OpTryRLock
	OpRUnlock
	OpLoad
	OpStore
	OpAdd
	OpCmpXchg
	OpXchg
	OpOr
	OpAnd
	OpBitLock
	OpBitTryLock
	OpBitUnlock
	OpBitWait
	OpWait
	OpWake
	OpResched
	OpSleep
	OpRefGet
	OpRefPut
	OpRefKill
	OpRefWait
	OpPreemptDisable
	OpPreemptEnable
	OpStopMachine
	OpRCULock
	OpRCUUnlock
	OpRCUSync
	OpRelax
	// Access annotations (ksync.Access), not scheduling points.
	OpRead
	OpWrite
	OpFree
	opMax
)

var opNames = [...]string{
	OpLock:       "lock",
	OpTryLock:    "trylock",
	OpUnlock:     "unlock",
	OpRLock:      "down_read",
	OpTryRLock:   "down_read_trylock",
	OpRUnlock:    "up_read",
	OpLoad:       "load",
	OpStore:      "store",
	OpAdd:        "add",
	OpCmpXchg:    "cmpxchg",
	OpXchg:       "xchg",
	OpOr:         "or",
	OpAnd:        "and",
	OpBitLock:    "bit_lock",
	OpBitTryLock: "bit_trylock",
	OpBitUnlock:  "bit_unlock",
	OpBitWait:    "wait_on_bit",
	OpWait:       "wait_event",
	OpWake:       "wake_up",
	OpResched:    "cond_resched",
	OpSleep:      "schedule_timeout",
	OpRefGet:     "ref_tryget_live",
	OpRefPut:     "ref_put",
	OpRefKill:    "ref_kill",
	OpRefWait:    "ref_wait_zero",

	OpPreemptDisable: "preempt_disable",
	OpPreemptEnable:  "preempt_enable",
	OpStopMachine:    "stop_machine",
	OpRCULock:        "rcu_read_lock_sched",
	OpRCUUnlock:      "rcu_read_unlock_sched",
	OpRCUSync:        "synchronize_sched",
	OpRelax:          "cpu_relax",
	OpRead:           "read",
	OpWrite:          "write",
	OpFree:           "free",
}

// Writes reports whether op changes its object (or, for a lock, takes or
// releases it): what makes two operations of different tasks on one
// object a conflict.
func (o Op) Writes() bool {
	switch o {
	case OpLoad, OpRead, OpRLock, OpTryRLock, OpRUnlock, OpBitWait, OpWait, OpResched, OpSleep, OpRefWait,
		// Read-side sections and their waits change nothing a reader
		// sees; stop_machine() does (no section may start while it runs).
		OpPreemptDisable, OpPreemptEnable, OpRCULock, OpRCUUnlock, OpRCUSync, OpRelax:
		return false
	}
	return o > 0 && o < opMax
}

// Acquires reports whether op takes a lock (when it succeeds).
func (o Op) Acquires() bool {
	switch o {
	case OpLock, OpTryLock, OpRLock, OpTryRLock, OpBitLock, OpBitTryLock:
		return true
	}
	return false
}

// Releases reports whether op releases a lock.
func (o Op) Releases() bool {
	switch o {
	case OpUnlock, OpRUnlock, OpBitUnlock:
		return true
	}
	return false
}

func (o Op) String() string {
	if o > 0 && o < opMax {
		return opNames[o]
	}
	return "op?"
}
