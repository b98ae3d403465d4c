package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"uswap/bench"
	"uswap/internal/hosttest"
)

// running is the real command in a child process, its output collected
// line by line.
type running struct {
	t     *testing.T
	pid   int
	mu    sync.Mutex
	out   strings.Builder
	lines chan string
	done  chan struct{}
	err   error
}

// start runs uswap args in a child process.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	cmd, _ := uswapProcess(t, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, pid: cmd.Process.Pid, lines: make(chan string, 1000), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.out.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		r.err = cmd.Wait()
		pw.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
	})
	return r
}

// waitFor waits for a line containing marker ("" : a second).
func (r *running) waitFor(marker string) {
	r.t.Helper()
	timeout := time.After(2 * time.Minute)
	if marker == "" {
		timeout = time.After(time.Second)
	}
	for {
		select {
		case l := <-r.lines:
			if marker != "" && strings.Contains(l, marker) {
				return
			}
		case <-r.done:
			r.t.Fatalf("exited before %q:\n%s", marker, r.output())
		case <-timeout:
			if marker != "" {
				r.t.Fatalf("no %q in two minutes:\n%s", marker, r.output())
			}
			return
		}
	}
}

func (r *running) signal(s syscall.Signal) {
	r.t.Helper()
	if err := syscall.Kill(r.pid, s); err != nil {
		r.t.Fatal(err)
	}
}

// wait waits for the exit and returns the status and the output.
func (r *running) wait() (int, string) {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		r.t.Fatalf("still running two minutes after the signal:\n%s", r.output())
	}
	status := 0
	if r.err != nil {
		ws, ok := r.err.(interface{ ExitCode() int })
		if !ok {
			r.t.Fatalf("wait: %v", r.err)
		}
		status = ws.ExitCode()
	}
	time.Sleep(50 * time.Millisecond) // the last lines
	return status, r.output()
}

func (r *running) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// TestInterruptPrintsSummary sends SIGINT (or SIGTERM) to each long
// command while it works: it stops at a clean point, prints the summary of
// what ran marked as interrupted, and exits 130.
func TestInterruptPrintsSummary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		ready  string
		sig    syscall.Signal
		wanted []string
	}{
		{"stress", []string{"stress", "--duration", "1h", "--checkpoint", "2000"}, "checkpoint 1:", syscall.SIGINT,
			[]string{"ops in", "checkpoints audited", "violations 0", "interrupted: stopped early"}},
		{"explore", []string{"explore", "--scenario", "swapoff-free", "--runs", "100000000"}, "", syscall.SIGTERM,
			[]string{"schedules before the interruption", "no failure"}},
		{"bench", []string{"bench", "usemem", "-s", "16", "-l", "4", "-p", "100000"}, "", syscall.SIGINT,
			[]string{"fill pages=", "interrupted after", "passes complete", "result pages_per_s="}},
		{"demo", []string{"demo", "--size", "512M", "--limit", "8M"}, "mmap:", syscall.SIGINT,
			[]string{"store:", "audit:   0 findings", "interrupted: the tour stopped early"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.args...)
			r.waitFor(tc.ready)
			r.signal(tc.sig)
			status, out := r.wait()
			if status != exitInterrupted {
				t.Errorf("status %d, want %d", status, exitInterrupted)
			}
			for _, w := range append(tc.wanted, "uswap: interrupted") {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestBenchCompareRestoresHost runs the real `uswap bench compare` (the
// kernel engine, then uswap) to the end, interrupted once, and
// interrupted twice, and checks after each that the host's swap list, its
// zram devices, vm.page-cluster and the memory cgroups are exactly as
// before.
func TestBenchCompareRestoresHost(t *testing.T) {
	hosttest.RequireRoot(t, "bench compare (the kernel engine)")
	o := bench.DefaultOptions()
	o.ShareSwap = true
	if err := checkKernel(o); err != nil {
		t.Skipf("kernel engine unavailable: %v", err)
	}
	hosttest.Lock(t)
	pageCluster := "0"
	if hosttest.Snapshot(t).PageCluster == "0" {
		pageCluster = "1"
	}
	size, limit := "16", "8"
	if hosttest.RaceEnabled {
		// The kernel engine's child is this test binary: with the race
		// detector's runtime an 8 MiB cgroup OOM-kills it.
		size, limit = "32", "16"
	}
	args := []string{"bench", "compare", "-s", size, "-l", limit, "--share-swap", "--page-cluster", pageCluster, "--rounds", "1"}
	// A round runs the kernel, uswap with background reclaim on and off,
	// and realmem where userfaultfd is there.
	runs, whole := 3, []string{"engine=kernel", "engine=uswap memcg_bg_reclaim=on", "engine=uswap memcg_bg_reclaim=off", "ratio uswap/kernel=", "machine cpu="}
	if bench.RealmemAvailable() == nil {
		runs, whole = 4, append(whole, "engine=realmem", "ratio realmem/kernel=")
	}
	for _, tc := range []struct {
		name    string
		passes  string
		signals int
		status  int
		wanted  []string
	}{
		{"to the end", "2", 0, 0, whole},
		{"interrupted", "100000", 1, exitInterrupted, []string{"round 1 engine=kernel", "interrupted", fmt.Sprintf("0 of %d runs complete", runs), "uswap: interrupted"}},
		{"interrupted twice", "100000", 2, exitInterrupted, []string{"again: undoing", "uswap: interrupted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hosttest.Snapshot(t)
			r := start(t, append(args, "-p", tc.passes)...)
			if tc.signals > 0 {
				waitForChild(t, r)
			}
			for i := range tc.signals {
				r.signal(syscall.SIGINT)
				if i == 0 && tc.signals > 1 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			status, out := r.wait()
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			for _, w := range tc.wanted {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if d := before.Diff(hosttest.Snapshot(t)); d != "" {
				t.Errorf("the host was left changed:\n%s", d)
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// waitForChild waits until the kernel engine's child process runs (the
// parent has set everything up by then).
func waitForChild(t *testing.T, r *running) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(r.pid) + "/task/*/children")
		kids := ""
		for _, p := range tasks {
			b, _ := os.ReadFile(p)
			kids += string(b)
		}
		if len(strings.Fields(kids)) > 0 {
			time.Sleep(300 * time.Millisecond) // into its passes
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no child process:\n%s", r.output())
}
