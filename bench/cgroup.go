package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
