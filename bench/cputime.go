package bench

import "syscall"

// processCPU is the process's CPU time so far, user and system, in
// nanoseconds (getrusage(RUSAGE_SELF)): every thread's, the Go runtime's
// included. 0 if the system cannot say.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
