package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Machine is the host a run measured on and how busy it was: the figures
// of a run are to be trusted only when nothing else competed for the
// CPUs.
type Machine struct {
	CPU    string `json:"cpu"`    // /proc/cpuinfo's model name
	Cores  int    `json:"cores"`  // logical CPUs the process may use
	Kernel string `json:"kernel"` // uname -r
	// Load averages (1 minute) before the run, after it, and the highest
	// seen during it (sampled every second). The run itself adds about
	// one per busy thread.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
	LoadMax    float64 `json:"load_max"`
	// OthersCores is how many CPUs other processes (and kernel threads)
	// kept busy on average during the run: the host's busy time from
	// /proc/stat less this process's and its children's.
	OthersCores float64 `json:"others_cores"`
	Seconds     float64 `json:"seconds"`
	// Trusted says whether the figures are to be trusted: LoadMax at most
	// MaxLoad (the cores plus the run's own busy threads, which the load
	// counts too) and OthersCores at most MaxOthers (a quarter of the
	// cores). Why says what was not.
	Trusted   bool    `json:"trusted"`
	MaxLoad   float64 `json:"max_load"`
	MaxOthers float64 `json:"max_others_cores"`
	Why       string  `json:"why,omitempty"`
}

// Line is the report's machine line.
func (m Machine) Line() string {
	trust := "yes"
	if !m.Trusted {
		trust = "no (" + m.Why + ")"
	}
	return fmt.Sprintf("machine cpu=%q cores=%d kernel=%s load_before=%.2f load_after=%.2f load_max=%.2f others_cores=%.2f trusted=%s",
		m.CPU, m.Cores, m.Kernel, m.LoadBefore, m.LoadAfter, m.LoadMax, m.OthersCores, trust)
}

// Watch samples the host while a run goes on; Stop ends it and returns
// the Machine.
type Watch struct {
	m       Machine
	start   time.Time
	busy0   float64 // host busy CPU seconds at the start
	own0    float64 // this process's and its children's CPU seconds
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	loadMax float64 // guarded by mu
}

// WatchMachine starts watching the host for a run that keeps up to own
// threads busy.
func WatchMachine(own int) *Watch {
	w := &Watch{stop: make(chan struct{}), start: time.Now()}
	w.m = Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Kernel: kernelRelease()}
	w.m.MaxLoad = float64(w.m.Cores + own)
	w.m.MaxOthers = float64(w.m.Cores) / 4
	w.m.LoadBefore = loadAvg()
	w.loadMax = w.m.LoadBefore
	w.busy0, w.own0 = hostBusySeconds(), ownSeconds()
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				l := loadAvg()
				w.mu.Lock()
				w.loadMax = max(w.loadMax, l)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// Stop ends the watch and says whether the run's figures can be trusted.
func (w *Watch) Stop() Machine {
	close(w.stop)
	w.done.Wait()
	m := w.m
	m.Seconds = time.Since(w.start).Seconds()
	m.LoadAfter = loadAvg()
	w.mu.Lock()
	m.LoadMax = max(w.loadMax, m.LoadAfter)
	w.mu.Unlock()
	if m.Seconds > 0 {
		others := (hostBusySeconds() - w.busy0) - (ownSeconds() - w.own0)
		m.OthersCores = max(others/m.Seconds, 0)
	}
	m.judge()
	return m
}

// judge sets Trusted and Why from the load and the others' CPU use.
func (m *Machine) judge() {
	var why []string
	if m.LoadMax > m.MaxLoad {
		why = append(why, fmt.Sprintf("load %.2f above %.2f during the run", m.LoadMax, m.MaxLoad))
	}
	if m.OthersCores > m.MaxOthers {
		why = append(why, fmt.Sprintf("other processes kept %.2f CPUs busy, above %.2f", m.OthersCores, m.MaxOthers))
	}
	m.Trusted = len(why) == 0
	m.Why = strings.Join(why, "; ")
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAvg is the 1-minute load average.
func loadAvg() float64 {
	s, err := readFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	l, _ := strconv.ParseFloat(f[0], 64)
	return l
}

// hostBusySeconds is the CPU time every CPU of the host has spent busy
// (user, nice, system, irq, softirq of /proc/stat's cpu line).
func hostBusySeconds() float64 {
	s, err := readFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, _ := strconv.ParseUint(f[i], 10, 64)
		ticks += n
	}
	return float64(ticks) / clockTick
}

// ownSeconds is the CPU time of this process and of its reaped children
// (the kernel engine's).
func ownSeconds() float64 {
	var self, kids unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &self)
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	ns := self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano()
	return float64(ns) / 1e9
}
