package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// memCgroup is a memory cgroup the kernel engine made for its child.
type memCgroup struct {
	dir string
	v2  bool
}

// memoryHierarchy is where memory cgroups live on this host: the cgroup
// v1 hierarchy with the memory controller, or else a cgroup2 hierarchy
// whose root offers it. Both come from /proc/self/mountinfo.
func memoryHierarchy() (root string, v2 bool, err error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false, err
	}
	var v2roots []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		switch {
		case g[0] == "cgroup" && slices.Contains(strings.Split(g[2], ","), "memory"):
			return f[4], false, nil
		case g[0] == "cgroup2":
			v2roots = append(v2roots, f[4])
		}
	}
	for _, r := range v2roots {
		if ctrl, err := readFile(filepath.Join(r, "cgroup.controllers")); err == nil && slices.Contains(strings.Fields(ctrl), "memory") {
			return r, true, nil
		}
	}
	return "", false, errors.New("no memory cgroup: neither a cgroup v1 hierarchy with the memory controller nor a cgroup2 hierarchy offering it is mounted")
}

// newMemCgroup makes memory cgroup name at the root of the memory
// hierarchy, limited to limitBytes: memory.limit_in_bytes on v1,
// memory.max (and memory.swap.max=max) on v2. On v2 it enables the
// memory controller for the root's children if it was not, and records
// turning it off again. Every step is recorded on undo.
func newMemCgroup(name string, limitBytes uint64, undo *Undo) (*memCgroup, error) {
	root, v2, err := memoryHierarchy()
	if err != nil {
		return nil, err
	}
	limit := fmt.Sprint(limitBytes)
	cg := &memCgroup{dir: filepath.Join(root, name), v2: v2}
	if v2 {
		sub := filepath.Join(root, "cgroup.subtree_control")
		if st, _ := readFile(sub); !slices.Contains(strings.Fields(st), "memory") {
			if _, err := undo.Change("+memory in "+sub,
				func() error { return writeFile(sub, "+memory") },
				func() error { return writeFile(sub, "-memory") }); err != nil {
				return nil, fmt.Errorf("memory cgroup (v2): enabling the memory controller in %s: %w", sub, err)
			}
		}
	}
	if _, err := undo.Change("memory cgroup "+cg.dir, func() error { return os.Mkdir(cg.dir, 0o755) }, cg.remove); err != nil {
		return nil, fmt.Errorf("memory cgroup: %w", err)
	}
	if !v2 {
		if err := writeFile(filepath.Join(cg.dir, "memory.limit_in_bytes"), limit); err != nil {
			return nil, fmt.Errorf("memory cgroup (v1): %w", err)
		}
		return cg, nil
	}
	if err := writeFile(filepath.Join(cg.dir, "memory.max"), limit); err != nil {
		return nil, fmt.Errorf("memory cgroup (v2): %w", err)
	}
	if _, err := os.Stat(filepath.Join(cg.dir, "memory.swap.max")); err == nil {
		if err := writeFile(filepath.Join(cg.dir, "memory.swap.max"), "max"); err != nil {
			return nil, fmt.Errorf("memory cgroup (v2): %w", err)
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

// cpuAcct is where the kernel engine reads its child's CPU time as the
// kernel accounts it to the child's cgroup: with cgroup v1, a cgroup of
// the same name in the cpuacct hierarchy (cpuacct.usage_user and
// cpuacct.usage_sys); with v2, the memory cgroup's own cpu.stat.
type cpuAcct struct {
	dir string
	v2  bool
}

// cpuacctHierarchy is the cgroup v1 mount with the cpuacct controller,
// or "".
func cpuacctHierarchy() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && len(g) >= 3 && g[0] == "cgroup" && slices.Contains(strings.Split(g[2], ","), "cpuacct") {
			return f[4]
		}
	}
	return ""
}

// newCPUAcct makes the cpuacct cgroup for mem (v1; its removal recorded
// on undo), or uses mem itself (v2). It returns nil when v1 has no
// cpuacct hierarchy: the report then has no cgroup figure.
func newCPUAcct(mem *memCgroup, undo *Undo) (*cpuAcct, error) {
	if mem.v2 {
		return &cpuAcct{dir: mem.dir, v2: true}, nil
	}
	root := cpuacctHierarchy()
	if root == "" {
		return nil, nil
	}
	cg := &memCgroup{dir: filepath.Join(root, filepath.Base(mem.dir))}
	if _, err := undo.Change("cpuacct cgroup "+cg.dir, func() error { return os.Mkdir(cg.dir, 0o755) }, cg.remove); err != nil {
		return nil, fmt.Errorf("cpuacct cgroup: %w", err)
	}
	return &cpuAcct{dir: cg.dir}, nil
}

// add moves process pid into the cgroup (v2: the memory cgroup did).
func (c *cpuAcct) add(pid int) error {
	if c.v2 {
		return nil
	}
	return writeFile(filepath.Join(c.dir, "cgroup.procs"), fmt.Sprint(pid))
}

// usage is the CPU time the cgroup's tasks have used.
func (c *cpuAcct) usage() (CPUUse, error) {
	if c.v2 {
		m, err := readKeyed(filepath.Join(c.dir, "cpu.stat"))
		if err != nil {
			return CPUUse{}, err
		}
		return CPUUse{User: float64(m["user_usec"]) / 1e6, Sys: float64(m["system_usec"]) / 1e6}, nil
	}
	var ns [2]uint64
	for i, f := range []string{"cpuacct.usage_user", "cpuacct.usage_sys"} {
		s, err := readFile(filepath.Join(c.dir, f))
		if err != nil {
			return CPUUse{}, err
		}
		if ns[i], err = strconv.ParseUint(s, 10, 64); err != nil {
			return CPUUse{}, fmt.Errorf("%s: %q: %w", f, s, err)
		}
	}
	return CPUUse{User: float64(ns[0]) / 1e9, Sys: float64(ns[1]) / 1e9}, nil
}
