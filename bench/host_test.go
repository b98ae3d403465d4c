package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"uswap/internal/hosttest"
	"uswap/swapdev"
)

// kernelEngine is the kernel engine with this test binary as its child
// (TestMain serves it).
func kernelEngine() *KernelEngine {
	return &KernelEngine{ChildCommand: []string{os.Args[0]}, ChildEnv: []string{"USWAP_BENCH_CHILD=1"}}
}

// kernelOpts is a short kernel run that shares the host's swap, if it
// has some, and sets vm.page-cluster to a value the host does not have.
func kernelOpts(t *testing.T) Options {
	o := DefaultOptions()
	o.SizeMiB, o.LimitMiB, o.Passes, o.Engine, o.ShareSwap = 8, 4, 2, "kernel", true
	if hosttest.RaceEnabled {
		// The child is this test binary: with the race detector's runtime
		// it takes some 10 MiB of its own, and a 4 MiB cgroup OOM-kills it.
		o.SizeMiB, o.LimitMiB = 32, 16
	}
	o.PageCluster = 0
	if hosttest.Snapshot(t).PageCluster == "0" {
		o.PageCluster = 1
	}
	return o
}

// requireKernel skips t without root, zram or a memory cgroup, and
// holds the machine-wide host-test lock.
func requireKernel(t *testing.T) {
	t.Helper()
	hosttest.RequireRoot(t, "the kernel engine")
	if err := KernelAvailable(); err != nil {
		t.Skipf("kernel engine unavailable: %v", err)
	}
	hosttest.Lock(t)
}

// sameHost fails t if the host's swap state differs from before.
func sameHost(t *testing.T, before hosttest.State) {
	t.Helper()
	if d := before.Diff(hosttest.Snapshot(t)); d != "" {
		t.Errorf("the host was left changed:\n%s", d)
	}
}

// TestKernelEngine runs short benches on the kernel's swap and checks that
// they swapped and left the host as they found it.
func TestKernelEngine(t *testing.T) {
	requireKernel(t)
	for _, tc := range []struct {
		device  string
		random  bool
		threads int
	}{{DeviceRAM, true, 2}, {DeviceFile, false, 1}} {
		before := hosttest.Snapshot(t)
		o := kernelOpts(t)
		o.Device, o.Random, o.Threads = tc.device, tc.random, tc.threads
		if tc.device == DeviceFile {
			dir, err := os.MkdirTemp("/var/tmp", "uswap-bench-test-") // not tmpfs
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			o.DevicePath = filepath.Join(dir, "swap")
		}
		rep, err := Run(context.Background(), kernelEngine(), o, nil)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		t.Logf("%s\n%s", rep.EngineLine(), rep.ResultLine())
		if rep.Corrupt != 0 || rep.Interrupted {
			t.Fatalf("%+v: corrupt=%d interrupted=%v", tc, rep.Corrupt, rep.Interrupted)
		}
		if rep.Counters.Pswpout == 0 || rep.Counters.Pgmajfault == 0 {
			t.Errorf("%+v: no swapping in an 8 MiB working set limited to 4 MiB: %+v", tc, rep.Counters)
		}
		checkCPUAndBound(t, rep)
		if rep.CgroupCPU == nil || rep.CgroupCPU.Total() < rep.CPU.Total()/2 {
			t.Errorf("%+v: the cgroup's CPU time %+v for the whole run, against %+v over the passes", tc, rep.CgroupCPU, rep.CPU)
		}
		if rep.Device.Kind != tc.device || (tc.device == DeviceRAM && (rep.Device.Comp != "lz4" || rep.Device.Name == "/dev/zram0" && strings.Contains(strings.Join(before.Zram, " "), "zram0 "))) {
			t.Errorf("%+v: device %+v (the host's zram devices: %v)", tc, rep.Device, before.Zram)
		}
		if tc.device == DeviceFile {
			if _, err := os.Lstat(o.DevicePath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the swap file the bench made is still there: %v", err)
			}
		}
		sameHost(t, before)
	}
}

// TestKernelEngineRestoresHost leaves the kernel engine by every way out
// and checks the swap list, the zram devices, vm.page-cluster and the
// memory cgroups after each.
func TestKernelEngineRestoresHost(t *testing.T) {
	requireKernel(t)
	for _, tc := range []struct {
		name string
		// arrange changes the engine and options, and may return a
		// function the run's set-up calls.
		arrange func(e *KernelEngine, o *Options, cancel func()) func()
		check   func(t *testing.T, rep *Report, err error)
	}{
		{"the child fails", func(e *KernelEngine, o *Options, _ func()) func() {
			e.ChildCommand = []string{"/bin/false"}
			return nil
		}, func(t *testing.T, rep *Report, err error) {
			if err == nil {
				t.Error("no error from a child that failed")
			}
		}},
		{"a panic", func(e *KernelEngine, o *Options, _ func()) func() {
			return func() { panic("a bug in the bench") }
		}, nil},
		{"a stop at a clean point", func(e *KernelEngine, o *Options, cancel func()) func() {
			o.Passes = 1000
			return func() { time.AfterFunc(300*time.Millisecond, cancel) }
		}, func(t *testing.T, rep *Report, err error) {
			if err != nil || rep == nil || !rep.Interrupted || rep.Corrupt != 0 {
				t.Errorf("err %v, report %+v: want an interrupted report", err, rep)
			}
		}},
		{"undone at once from another goroutine (a second Ctrl-C)", func(e *KernelEngine, o *Options, _ func()) func() {
			o.Passes = 1000
			undo := o.Undo
			return func() { time.AfterFunc(300*time.Millisecond, func() { undo.Run() }) }
		}, func(t *testing.T, rep *Report, err error) {
			if err == nil {
				t.Error("no error from a run whose child was killed")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hosttest.Snapshot(t)
			e, o := kernelEngine(), kernelOpts(t)
			o.Undo = new(Undo)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e.afterSetup = tc.arrange(e, &o, cancel)
			var rep *Report
			var err error
			panicked := func() (p any) {
				defer func() { p = recover() }()
				rep, err = Run(ctx, e, o, nil)
				return nil
			}()
			t.Logf("err %v, panic %v", err, panicked)
			if tc.check != nil {
				tc.check(t, rep, err)
			} else if panicked == nil {
				t.Error("the panic did not come through")
			}
			sameHost(t, before)
		})
	}
}

// TestKernelEngineRefusesOtherSwap: with other swap active and no
// ShareSwap, the engine changes nothing and says what it would have.
func TestKernelEngineRefusesOtherSwap(t *testing.T) {
	requireKernel(t)
	if swaps, _ := activeSwaps(); len(swaps) == 0 {
		dir, err := os.MkdirTemp("/var/tmp", "uswap-other-swap-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "swap")
		if err := swapdev.Mkswap(p, 1<<20, swapdev.MkswapOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := swapon(p, 0); err != nil {
			t.Skipf("cannot swap on a test file to stand for the host's swap: %v", err)
		}
		defer swapoff(p)
	}
	before := hosttest.Snapshot(t)
	o := kernelOpts(t)
	o.ShareSwap = false
	_, err := Run(context.Background(), kernelEngine(), o, nil)
	if !errors.Is(err, ErrOtherSwap) || !strings.Contains(err.Error(), "--share-swap") {
		t.Errorf("got %v, want ErrOtherSwap naming --share-swap", err)
	}
	sameHost(t, before)
}

// TestSwapFileRefused points the swap file of both engines at what is not
// theirs: an unrelated file, a symbolic link, a block device (a loop
// device over a file). Each is refused and left as it was; an existing
// swap area uswap made is reused and kept.
func TestSwapFileRefused(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	data := bytes.Repeat([]byte("notes "), 2000)
	os.WriteFile(notes, data, 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(notes, link)
	missingTarget := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nowhere"), missingTarget)
	own := filepath.Join(dir, "own.swap")
	if err := swapdev.Mkswap(own, 64*PageSize, swapdev.MkswapOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path, want string }{
		{"an unrelated file", notes, "not a swap area uswap made"},
		{"a symbolic link", link, "symbolic link"},
		{"a dangling symbolic link", missingTarget, "symbolic link"},
		{"a directory", dir, "not a regular file or a block device"},
	}
	var loop, backing string
	if os.Geteuid() == 0 {
		backing = filepath.Join(dir, "backing")
		os.WriteFile(backing, bytes.Repeat([]byte{0x5a}, 1<<20), 0o600)
		loop = hosttest.Loop(t, backing)
		cases = append(cases, struct{ name, path, want string }{"a block device", loop, "block device"})
	} else {
		t.Log("not root: the block-device case needs a loop device")
	}
	engines := []Engine{&UswapEngine{}}
	if os.Geteuid() == 0 && KernelAvailable() == nil {
		engines = append(engines, kernelEngine())
	}
	for _, e := range engines {
		for _, tc := range cases {
			o := DefaultOptions()
			o.Engine, o.Device, o.DevicePath, o.SizeMiB, o.LimitMiB, o.Passes, o.ShareSwap = e.Name(), DeviceFile, tc.path, 4, 2, 1, true
			_, err := Run(context.Background(), e, o, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s engine, %s: got %v, want a refusal saying %q", e.Name(), tc.name, err, tc.want)
			}
		}
		if loop != "" {
			o := DefaultOptions()
			o.Engine, o.Device, o.DevicePath, o.BlockDevice, o.SizeMiB, o.LimitMiB, o.Passes, o.ShareSwap = e.Name(), DeviceFile, loop, true, 4, 2, 1, true
			if _, err := Run(context.Background(), e, o, nil); err == nil || !strings.Contains(err.Error(), "data with no known signature") {
				t.Errorf("%s engine: a block device holding data, with BlockDevice: %v", e.Name(), err)
			}
		}
	}
	if got, _ := os.ReadFile(notes); !bytes.Equal(got, data) {
		t.Error("the unrelated file changed")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symbolic link changed: %v", err)
	}
	if backing != "" {
		if got, _ := os.ReadFile(backing); !bytes.Equal(got, bytes.Repeat([]byte{0x5a}, 1<<20)) {
			t.Error("the loop device's content changed")
		}
		if _, err := os.Stat(loop); err != nil {
			t.Errorf("the loop device node: %v", err)
		}
	}
	// uswap's own swap area is reused, and kept.
	o := DefaultOptions()
	o.Device, o.DevicePath, o.SizeMiB, o.LimitMiB, o.Passes = DeviceFile, own, 4, 2, 1
	if _, err := Run(context.Background(), &UswapEngine{}, o, nil); err != nil {
		t.Errorf("over uswap's own swap area: %v", err)
	}
	if h, err := swapdev.ReadHeaderFile(own); err != nil || !h.MadeByUswap {
		t.Errorf("uswap's own swap area was not kept: %v", err)
	}
}

// TestRunInterrupted: a cancelled context stops the walk at a clean point
// with a report of what ran.
func TestRunInterrupted(t *testing.T) {
	o := smallOpts()
	o.SizeMiB, o.Passes = 8, 3
	ctx, cancel := context.WithCancel(context.Background())
	mem := newSliceMemory(t, o, -1)
	visits := 0
	cancelling := &cancelAfter{Memory: mem, n: int(o.Pages()) + 1500, cancel: cancel, visits: &visits}
	rep, err := RunOn(ctx, cancelling, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || len(rep.Passes) != 1 || rep.Passes[0].Pages >= o.Pages() || rep.Passes[0].Pages < 1500 || rep.PagesPerS != 0 {
		t.Fatalf("report %+v: want pass 0 interrupted after about 1500 pages", rep)
	}
	var b strings.Builder
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "interrupted after") || !strings.Contains(b.String(), "0 of 3 passes complete") {
		t.Errorf("text report does not say it was interrupted:\n%s", b.String())
	}
}

// cancelAfter cancels after n fills and visits.
type cancelAfter struct {
	Memory
	n      int
	cancel func()
	visits *int
}

func (c *cancelAfter) Fill(i uint64) error { c.tick(); return c.Memory.Fill(i) }
func (c *cancelAfter) Visit(i uint64, w bool) (bool, error) {
	c.tick()
	return c.Memory.Visit(i, w)
}
func (c *cancelAfter) tick() {
	if *c.visits++; *c.visits == c.n {
		c.cancel()
	}
}
