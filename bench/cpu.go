package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// CPUUse is CPU time spent over a phase, in seconds.
type CPUUse struct {
	// User and Sys are the process's own (getrusage(RUSAGE_SELF): every
	// thread of it, the Go runtime's and, for the kernel engine's child,
	// the kernel's work done in its context: its faults, direct reclaim
	// and zram's compression in it).
	User float64 `json:"user_seconds"`
	Sys  float64 `json:"sys_seconds"`
	// Kswapd is what the host's kswapd threads spent meanwhile (not
	// counted in User or Sys): the kernel's background reclaim, for
	// every process of the host, not only ours.
	Kswapd float64 `json:"kswapd_seconds"`
}

// Total is User + Sys.
func (c CPUUse) Total() float64 { return c.User + c.Sys }

func (c CPUUse) add(d CPUUse) CPUUse {
	return CPUUse{User: c.User + d.User, Sys: c.Sys + d.Sys, Kswapd: c.Kswapd + d.Kswapd}
}

// cpuClock is a reading of the clocks CPUUse is the difference of.
type cpuClock struct {
	user, sys, kswapd float64
}

// readCPUClock reads the process's rusage and the kswapd threads' times.
func readCPUClock() cpuClock {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return cpuClock{
		user:   float64(ru.Utime.Nano()) / 1e9,
		sys:    float64(ru.Stime.Nano()) / 1e9,
		kswapd: kswapdSeconds(),
	}
}

func (c cpuClock) since(before cpuClock) CPUUse {
	return CPUUse{User: c.user - before.user, Sys: c.sys - before.sys, Kswapd: max(c.kswapd-before.kswapd, 0)}
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times (100 on every
// Linux architecture that matters here).
const clockTick = 100

// kswapdSeconds is the CPU time the host's kswapd threads (kswapd0,
// kswapd1, ...) have spent, from /proc/PID/stat (0 when unreadable).
func kswapdSeconds() float64 {
	var total float64
	for _, pid := range kswapdPIDs() {
		b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
		if err != nil {
			continue
		}
		total += statSeconds(string(b))
	}
	return total
}

// statSeconds is utime + stime of a /proc/PID/stat line.
func statSeconds(line string) float64 {
	// The command may hold spaces: fields start after its ')'.
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(line[i+1:])
	// state is field 3 of stat(5), f[0] here; utime and stime are 14, 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return float64(u+s) / clockTick
}

// kswapdPIDs are the kswapd threads' ids (kernel threads named kswapdN),
// found once.
var kswapdPIDs = sync.OnceValue(findKswapd)

func findKswapd() []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	var pids []string
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err == nil && strings.HasPrefix(string(b), "kswapd") {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}
