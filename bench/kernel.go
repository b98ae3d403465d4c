package bench

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"

	"uswap/workload"
)

// KernelEngine runs the workload on the Linux kernel's swap: in a child
// process (ChildCommand, which must call ServeChild) placed in a new
// memory cgroup limited to Options.LimitMiB, over anonymous memory, with
// zram0 (or a swap file) as the kernel's swap. It needs root, zram and a
// memory cgroup, sets them up itself, and always removes the cgroup; zram0
// stays swap afterwards, as kernel-baseline leaves it.
type KernelEngine struct {
	// ChildCommand is the program and arguments that serve the child:
	// for the uswap command, itself with `bench usemem --child`.
	ChildCommand []string
	// ChildEnv is added to the child's environment.
	ChildEnv []string
}

// Name is "kernel".
func (*KernelEngine) Name() string { return "kernel" }

// Setup is not used: the kernel engine is a Runner.
func (*KernelEngine) Setup(Options) (Memory, error) {
	return nil, errors.New("the kernel engine runs its workload in a child process (RunWorkload)")
}

// Teardown does nothing: RunWorkload tears down what it sets up.
func (*KernelEngine) Teardown() error { return nil }

// KernelAvailable reports why the kernel engine cannot run here, or nil.
func KernelAvailable() error {
	if os.Geteuid() != 0 {
		return errors.New("the kernel engine needs root (it sets up zram0 as swap and a memory cgroup); run as root, or use --engine uswap")
	}
	if _, err := os.Stat(zramSysfs); err != nil {
		if out, merr := exec.Command("modprobe", "zram", "num_devices=1").CombinedOutput(); merr != nil {
			return fmt.Errorf("no zram: %s is missing and `modprobe zram` failed: %v %s", zramSysfs, merr, strings.TrimSpace(string(out)))
		}
	}
	if _, err := os.Stat(cgroupV1Memory + "/memory.limit_in_bytes"); err == nil {
		return nil
	}
	if ctrl, err := readFile(cgroupV2Root + "/cgroup.controllers"); err == nil && strings.Contains(" "+ctrl+" ", " memory ") {
		return nil
	}
	return fmt.Errorf("no memory cgroup: neither %s (v1) nor a memory controller in %s (v2)", cgroupV1Memory, cgroupV2Root)
}

// RunWorkload sets up the swap device and the cgroup, runs the child in
// the cgroup, and adds the kernel's counters and the device's statistics
// to the child's report.
func (e *KernelEngine) RunWorkload(opts Options, progress Progress) (rep *Report, err error) {
	if err := KernelAvailable(); err != nil {
		return nil, err
	}
	dev, cleanupDev, err := kernelDevice(opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cleanupDev()) }()
	if opts.PageCluster >= 0 {
		restore, err := setPageCluster(opts.PageCluster)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, restore()) }()
	}
	cg, err := newMemCgroup(fmt.Sprintf("uswap-bench-%d", os.Getpid()), opts.LimitMiB)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cg.remove()) }()
	return e.runChild(opts, cg, dev)
}

// kernelDevice makes the swap device ready and returns how to read its
// statistics and how to clean up.
func kernelDevice(opts Options) (func() DeviceStats, func() error, error) {
	if opts.Device == DeviceFile {
		f, err := newSwapFile(opts.DevicePath, opts.SizeMiB)
		if err != nil {
			return nil, nil, err
		}
		return f.stats, f.remove, nil
	}
	if err := ensureZram(opts.SizeMiB, opts.Comp); err != nil {
		return nil, nil, err
	}
	stats := func() DeviceStats {
		d, err := zramStats()
		if err != nil {
			fmt.Fprintf(os.Stderr, "uswap bench: zram0 statistics: %v\n", err)
		}
		return d
	}
	return stats, func() error { return nil }, nil
}

// setPageCluster sets vm.page-cluster (swap readahead of 2^n pages) and
// returns how to restore it.
func setPageCluster(n int) (func() error, error) {
	const path = "/proc/sys/vm/page-cluster"
	old, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := writeFile(path, fmt.Sprint(n)); err != nil {
		return nil, err
	}
	return func() error { return writeFile(path, old) }, nil
}

// runChild starts the child, moves it into cg, sends it opts, reads its
// report, then reads the counters and device statistics before letting
// it exit (its exit frees its swap).
func (e *KernelEngine) runChild(opts Options, cg *memCgroup, dev func() DeviceStats) (*Report, error) {
	if len(e.ChildCommand) == 0 {
		return nil, errors.New("kernel engine: no child command")
	}
	cmd := exec.Command(e.ChildCommand[0], e.ChildCommand[1:]...)
	cmd.Env = append(os.Environ(), e.ChildEnv...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kernel engine: starting the child: %w", err)
	}
	rep, err := e.talk(cmd, opts, cg, dev, stdin, stdout)
	stdin.Close()
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("kernel engine: child: %w", werr)
	}
	return rep, err
}

func (e *KernelEngine) talk(cmd *exec.Cmd, opts Options, cg *memCgroup, dev func() DeviceStats, stdin io.Writer, stdout io.Reader) (*Report, error) {
	if err := cg.add(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("kernel engine: moving the child into %s: %w", cg.dir, err)
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

// ServeChild is the kernel engine's child: it waits for its options on
// in (one JSON line, sent once it is in the memory cgroup), runs the
// workload over anonymous memory, writes the report as JSON to out, and
// returns when in is closed (so that the parent reads the device's
// statistics while the child's pages are still swapped out).
func ServeChild(in io.Reader, out io.Writer, progress Progress) error {
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("bench child: reading options: %w", err)
	}
	var opts Options
	if err := json.Unmarshal(line, &opts); err != nil {
		return fmt.Errorf("bench child: options: %w", err)
	}
	if !opts.Progress {
		progress = nil
	}
	mem, err := newAnonMemory(opts)
	if err != nil {
		return err
	}
	defer mem.unmap()
	rep, err := RunOn(mem, opts, progress)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, r)
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

// Counters are read by the parent, from /proc/vmstat and the cgroup.
func (m *anonMemory) Counters() Counters { return Counters{} }

// Device is read by the parent.
func (m *anonMemory) Device() DeviceStats { return DeviceStats{} }

func (m *anonMemory) unmap() { _ = unix.Munmap(m.mem) }
