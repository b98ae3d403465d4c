package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	cgroupV1Memory = "/sys/fs/cgroup/memory"
	cgroupV2Root   = "/sys/fs/cgroup"
)

// memCgroup is a memory cgroup the kernel engine made for its child.
type memCgroup struct {
	dir string
	v2  bool
}

// newMemCgroup makes memory cgroup name limited to limitMiB, on cgroup v1
// (memory.limit_in_bytes) or v2 (memory.max, memory.swap.max=max).
func newMemCgroup(name string, limitMiB uint64) (*memCgroup, error) {
	limit := fmt.Sprint(limitMiB << 20)
	if _, err := os.Stat(filepath.Join(cgroupV1Memory, "memory.limit_in_bytes")); err == nil {
		cg := &memCgroup{dir: filepath.Join(cgroupV1Memory, name)}
		if err := os.Mkdir(cg.dir, 0o755); err != nil {
			return nil, fmt.Errorf("memory cgroup (v1): %w", err)
		}
		if err := writeFile(filepath.Join(cg.dir, "memory.limit_in_bytes"), limit); err != nil {
			return nil, errors.Join(fmt.Errorf("memory cgroup (v1): %w", err), cg.remove())
		}
		return cg, nil
	}
	ctrl, err := readFile(filepath.Join(cgroupV2Root, "cgroup.controllers"))
	if err != nil || !strings.Contains(" "+ctrl+" ", " memory ") {
		return nil, fmt.Errorf("no memory cgroup: neither %s (v1) nor a memory controller in %s/cgroup.controllers (v2)", cgroupV1Memory, cgroupV2Root)
	}
	sub, _ := readFile(filepath.Join(cgroupV2Root, "cgroup.subtree_control"))
	if !strings.Contains(" "+sub+" ", " memory ") {
		if err := writeFile(filepath.Join(cgroupV2Root, "cgroup.subtree_control"), "+memory"); err != nil {
			return nil, fmt.Errorf("memory cgroup (v2): enabling the memory controller: %w", err)
		}
	}
	cg := &memCgroup{dir: filepath.Join(cgroupV2Root, name), v2: true}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, fmt.Errorf("memory cgroup (v2): %w", err)
	}
	if err := writeFile(filepath.Join(cg.dir, "memory.max"), limit); err != nil {
		return nil, errors.Join(fmt.Errorf("memory cgroup (v2): %w", err), cg.remove())
	}
	if _, err := os.Stat(filepath.Join(cg.dir, "memory.swap.max")); err == nil {
		if err := writeFile(filepath.Join(cg.dir, "memory.swap.max"), "max"); err != nil {
			return nil, errors.Join(fmt.Errorf("memory cgroup (v2): %w", err), cg.remove())
		}
	}
	return cg, nil
}

// add moves process pid into the cgroup.
func (cg *memCgroup) add(pid int) error {
	return writeFile(filepath.Join(cg.dir, "cgroup.procs"), fmt.Sprint(pid))
}

// faults are the cgroup's pgfault and pgmajfault from memory.stat.
func (cg *memCgroup) faults() (pgfault, pgmajfault uint64, err error) {
	m, err := readKeyed(filepath.Join(cg.dir, "memory.stat"))
	if err != nil {
		return 0, 0, err
	}
	return m["pgfault"], m["pgmajfault"], nil
}

// remove deletes the cgroup, retrying while the kernel still counts an
// exiting task in it.
func (cg *memCgroup) remove() error {
	var err error
	for range 50 {
		if err = syscall.Rmdir(cg.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("removing memory cgroup %s: %w", cg.dir, err)
}
