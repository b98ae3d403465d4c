package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"uswap/swapdev"
	"uswap/workload"
)

// KernelEngine runs the workload on the Linux kernel's swap: in a child
// process (ChildCommand, which must call ServeChild) placed in a memory
// cgroup of its own limited to Options.LimitMiB, over anonymous memory,
// with a zram device of its own (or a swap file) as the kernel's swap.
//
// What it changes on the host, and how it is undone (Options.Undo):
//
//	a zram device        /sys/class/zram-control/hot_add; swapoff, reset, hot_remove
//	  or a swap file     made by the bench (a temporary directory by default); swapoff, removed
//	swap on that device  swapon at priority 32767; swapoff
//	a memory cgroup      uswap-bench-PID at the root of the memory hierarchy (v1 or v2); rmdir
//	(v1) a cpuacct cgroup uswap-bench-PID at the root of the cpuacct hierarchy, if mounted; rmdir
//	(v2) +memory         in the root's cgroup.subtree_control if it was off; -memory
//	vm.page-cluster      only with Options.PageCluster >= 0; the old value written back
//	the child process    in its own process group, killed if the parent dies (PDEATHSIG); killed
//
// It never touches a zram device or swap area it did not add, and it
// refuses to run while other swap is active unless Options.ShareSwap (see
// checkOtherSwap). The parent owns every change: the child only maps
// memory, so whatever way it ends, it leaves nothing behind.
type KernelEngine struct {
	// ChildCommand is the program and arguments that serve the child:
	// for the uswap command, itself with `bench usemem --child`.
	ChildCommand []string
	// ChildEnv is added to the child's environment.
	ChildEnv []string

	// afterSetup, when set (by tests), runs once everything is set up,
	// before the child starts.
	afterSetup func()
}

// Name is "kernel".
func (*KernelEngine) Name() string { return "kernel" }

// Setup is not used: the kernel engine is a Runner.
func (*KernelEngine) Setup(Options) (Memory, error) {
	return nil, errors.New("the kernel engine runs its workload in a child process (RunWorkload)")
}

// Teardown does nothing: RunWorkload's changes are undone by Run.
func (*KernelEngine) Teardown() error { return nil }

// KernelAvailable reports why the kernel engine cannot run here, or nil.
// It changes nothing.
func KernelAvailable() error {
	if os.Geteuid() != 0 {
		return errors.New("the kernel engine needs root (it adds a zram device, swaps it on and makes a memory cgroup); run as root, or use --engine uswap")
	}
	if err := zramAvailable(); err != nil {
		return err
	}
	_, _, err := memoryHierarchy()
	return err
}

// KernelCompressors are the compressors the kernel engine can ask zram
// for, read from an existing zram device, or nil if none can be read.
func KernelCompressors() []string { return zramCompressors() }

// RunWorkload sets up the swap device and the cgroup, runs the child in
// the cgroup, and adds the kernel's counters and the device's statistics
// to the child's report. Every change is recorded on opts.Undo, which
// Run undoes.
func (e *KernelEngine) RunWorkload(ctx context.Context, opts Options, progress Progress) (*Report, error) {
	if err := KernelAvailable(); err != nil {
		return nil, err
	}
	if err := checkOtherSwap(opts.ShareSwap); err != nil {
		return nil, err
	}
	undo := opts.Undo
	dev, err := kernelDevice(opts, undo)
	if err != nil {
		return nil, err
	}
	if opts.PageCluster >= 0 {
		if err := setPageCluster(opts.PageCluster, undo); err != nil {
			return nil, err
		}
	}
	cg, err := newMemCgroup(fmt.Sprintf("uswap-bench-%d", os.Getpid()), opts.LimitMiB<<20, undo)
	if err != nil {
		return nil, err
	}
	acct, err := newCPUAcct(cg, undo)
	if err != nil {
		return nil, err
	}
	if e.afterSetup != nil {
		e.afterSetup()
	}
	return e.runChild(ctx, opts, cg, acct, dev)
}

// kernelDevice makes the swap device ready and returns how to read its
// statistics.
func kernelDevice(opts Options, undo *Undo) (func() DeviceStats, error) {
	if opts.Device == DeviceFile {
		sf, err := prepareSwapFile(opts, undo)
		if err != nil {
			return nil, err
		}
		size := int64(opts.SizeMiB+16) << 20
		if err := sf.make(undo, func() error { return swapdev.Mkswap(sf.path, size, sf.mk) }); err != nil {
			return nil, err
		}
		if err := swapOn(sf.path, undo); err != nil {
			return nil, fmt.Errorf("swap file %s (a filesystem that supports swap files is needed): %w", sf.path, err)
		}
		return func() DeviceStats {
			return DeviceStats{Kind: DeviceFile, Name: sf.path, Pages: uint64(size) / PageSize}
		}, nil
	}
	z, err := addZram(2*opts.SizeMiB<<20, opts.Comp, undo)
	if err != nil {
		return nil, err
	}
	return func() DeviceStats {
		d, err := z.stats()
		if err != nil {
			fmt.Fprintf(os.Stderr, "uswap bench: %s statistics: %v\n", z.dev, err)
		}
		return d
	}, nil
}

// setPageCluster sets vm.page-cluster (swap readahead of 2^n pages) and
// records writing the old value back.
func setPageCluster(n int, undo *Undo) error {
	const path = "/proc/sys/vm/page-cluster"
	old, err := readFile(path)
	if err != nil {
		return err
	}
	_, err = undo.Change("vm.page-cluster="+fmt.Sprint(n),
		func() error { return writeFile(path, fmt.Sprint(n)) },
		func() error { return writeFile(path, old) })
	return err
}

// runChild starts the child in its own process group (a Ctrl-C at the
// terminal reaches only the parent, which stops the child itself) with
// PDEATHSIG (if the parent dies, so does the child), moves it into cg,
// sends it opts, reads its report, then reads the counters and device
// statistics before letting it exit (its exit frees its swap). When ctx
// is done it asks the child to stop at a clean point; killing it is on
// the undo list, for a caller that cannot wait.
func (e *KernelEngine) runChild(ctx context.Context, opts Options, cg *memCgroup, acct *cpuAcct, dev func() DeviceStats) (*Report, error) {
	if len(e.ChildCommand) == 0 {
		return nil, errors.New("kernel engine: no child command")
	}
	cmd := exec.Command(e.ChildCommand[0], e.ChildCommand[1:]...)
	cmd.Env = append(os.Environ(), e.ChildEnv...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// PDEATHSIG fires when the thread that forked the child exits: keep
	// this goroutine on its thread until the child is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	kill, err := opts.Undo.Change("the child process", cmd.Start, func() error {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel engine: starting the child: %w", err)
	}
	rep, err := e.talk(ctx, cmd, opts, cg, acct, dev, stdin, stdout)
	if err != nil {
		_ = cmd.Process.Kill()
	}
	stdin.Close()
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("kernel engine: child: %w", werr)
	}
	kill.Dismiss()
	return rep, err
}

func (e *KernelEngine) talk(ctx context.Context, cmd *exec.Cmd, opts Options, cg *memCgroup, acct *cpuAcct, dev func() DeviceStats, stdin io.Writer, stdout io.Reader) (*Report, error) {
	if err := cg.add(cmd.Process.Pid); err != nil {
		return nil, fmt.Errorf("kernel engine: moving the child into %s: %w", cg.dir, err)
	}
	if acct != nil {
		if err := acct.add(cmd.Process.Pid); err != nil {
			return nil, fmt.Errorf("kernel engine: moving the child into %s: %w", acct.dir, err)
		}
	}
	before, err := readVMStat()
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(stdin, "%s\n", line); err != nil {
		return nil, fmt.Errorf("kernel engine: writing to the child: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_, _ = io.WriteString(stdin, childStop+"\n")
		case <-done:
		}
	}()
	var rep Report
	if err := json.NewDecoder(stdout).Decode(&rep); err != nil {
		return nil, fmt.Errorf("kernel engine: the child's report: %w", err)
	}
	after, err := readVMStat()
	if err != nil {
		return nil, err
	}
	rep.Counters = after.Sub(before)
	if pf, maj, err := cg.faults(); err == nil {
		rep.Counters.Pgfault, rep.Counters.Pgmajfault = pf, maj
	}
	rep.Device = dev()
	if acct != nil {
		if u, err := acct.usage(); err == nil {
			rep.CgroupCPU = &u
		}
	}
	rep.Engine = e.Name()
	rep.Kernel = kernelRelease()
	return &rep, nil
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// childStop is the line the parent sends to stop the child at a clean
// point.
const childStop = "stop"

// ServeChild is the kernel engine's child: it waits for its options on
// in (one JSON line, sent once it is in the memory cgroup), runs the
// workload over anonymous memory until done, until a "stop" line, or
// until in is closed (the parent is gone), writes the report as JSON to
// out, and returns when in is closed (so that the parent reads the
// device's statistics while the child's pages are still swapped out).
// It changes nothing on the host.
func ServeChild(ctx context.Context, in io.Reader, out io.Writer, progress Progress) error {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("bench child: reading options: %w", err)
	}
	var opts Options
	if err := json.Unmarshal(line, &opts); err != nil {
		return fmt.Errorf("bench child: options: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			l, err := r.ReadString('\n')
			if strings.TrimSpace(l) == childStop || err != nil {
				stop()
			}
			if err != nil {
				return
			}
		}
	}()
	if !opts.Progress {
		progress = nil
	}
	mem, err := newAnonMemory(opts)
	if err != nil {
		return err
	}
	defer mem.unmap()
	rep, err := RunOn(ctx, mem, opts, progress)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		return err
	}
	<-closed
	return nil
}

// anonMemory is the working set in real anonymous memory
// (MAP_PRIVATE|MAP_ANONYMOUS), as usemem.c maps it.
type anonMemory struct {
	mem     []byte
	pattern workload.Pattern
}

func newAnonMemory(opts Options) (*anonMemory, error) {
	p, err := workload.ParsePattern(opts.Pattern)
	if err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(-1, 0, int(opts.Pages()*PageSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("bench child: mmap %d MiB: %w", opts.SizeMiB, err)
	}
	return &anonMemory{mem: mem, pattern: p}, nil
}

func (m *anonMemory) page(i uint64) []byte { return m.mem[i*PageSize : (i+1)*PageSize] }

// Fill writes page i's content in place.
func (m *anonMemory) Fill(i uint64) error {
	workload.FillPage(m.page(i), i, m.pattern)
	return nil
}

// Visit reads the first word (faulting the page in) and checks it.
func (m *anonMemory) Visit(i uint64, write bool) (bool, error) {
	p := m.page(i)
	ok := binary.LittleEndian.Uint64(p) == i
	if write {
		p[8] ^= 1
	}
	return ok, nil
}

// Counters are /proc/vmstat's, for the phases' swap counts (the parent
// reads the run's own, and the cgroup's fault counts).
func (m *anonMemory) Counters() Counters {
	c, _ := readVMStat()
	return c
}

// Device is read by the parent.
func (m *anonMemory) Device() DeviceStats { return DeviceStats{} }

func (m *anonMemory) unmap() { _ = unix.Munmap(m.mem) }
