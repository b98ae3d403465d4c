// Package hosttest holds what the tests that touch the host share: a
// snapshot of the host's swap state to compare before and after, and
// loop devices over test files. Tests that need root skip with the
// reason when they run without it.
package hosttest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireRoot skips t unless it runs as root, saying what needs it.
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("not root: %s needs root", what)
	}
}

// State is what uswap must leave as it found it: the active swap areas
// (without their usage, which the host changes), the zram devices with
// their size and compressor, vm.page-cluster, and the memory and cpuacct
// cgroups uswap could make or change: the children of each hierarchy's root,
// every cgroup named *uswap* at any depth, and the roots'
// subtree_control. (Deeper cgroups belong to the host's own managers,
// which make and remove them while a test runs.)
type State struct {
	Swaps       []string
	Zram        []string
	PageCluster string
	Cgroups     []string
}

// Snapshot reads the host's State.
func Snapshot(t testing.TB) State {
	t.Helper()
	var s State
	b, err := os.ReadFile("/proc/swaps")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) >= 5 {
			s.Swaps = append(s.Swaps, fmt.Sprintf("%s %s %s prio=%s", f[0], f[1], f[2], f[4]))
		}
	}
	zrams, _ := filepath.Glob("/sys/block/zram*")
	for _, z := range zrams {
		s.Zram = append(s.Zram, fmt.Sprintf("%s disksize=%s comp=%s", filepath.Base(z), read(z+"/disksize"), read(z+"/comp_algorithm")))
	}
	s.PageCluster = read("/proc/sys/vm/page-cluster")
	for _, root := range CgroupRoots() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && (filepath.Dir(p) == root || strings.Contains(d.Name(), "uswap")) {
				s.Cgroups = append(s.Cgroups, p)
			}
			return nil
		})
		if st := read(root + "/cgroup.subtree_control"); st != "" {
			s.Cgroups = append(s.Cgroups, root+" subtree_control="+st)
		}
	}
	slices.Sort(s.Cgroups)
	return s
}

// Diff describes how s and after differ, or is "".
func (s State) Diff(after State) string {
	var b strings.Builder
	list := func(what string, x, y []string) {
		for _, v := range x {
			if !slices.Contains(y, v) {
				fmt.Fprintf(&b, "%s gone: %s\n", what, v)
			}
		}
		for _, v := range y {
			if !slices.Contains(x, v) {
				fmt.Fprintf(&b, "%s new: %s\n", what, v)
			}
		}
	}
	list("swap", s.Swaps, after.Swaps)
	list("zram", s.Zram, after.Zram)
	list("cgroup", s.Cgroups, after.Cgroups)
	if s.PageCluster != after.PageCluster {
		fmt.Fprintf(&b, "vm.page-cluster %s became %s\n", s.PageCluster, after.PageCluster)
	}
	return b.String()
}

// CgroupRoots are the mounted cgroup hierarchies uswap may make a
// cgroup in: v1's memory and cpuacct mounts and any cgroup2 mount.
func CgroupRoots() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var roots []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		switch {
		case g[0] == "cgroup2":
			roots = append(roots, f[4])
		case g[0] == "cgroup" && slices.ContainsFunc(strings.Split(g[2], ","), func(c string) bool { return c == "memory" || c == "cpuacct" }):
			roots = append(roots, f[4])
		}
	}
	return roots
}

func read(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// Loop attaches a loop device to file and detaches it when t ends. It
// skips t without root or losetup(8).
func Loop(t testing.TB, file string) string {
	t.Helper()
	RequireRoot(t, "a loop device")
	losetup, err := exec.LookPath("losetup")
	if err != nil {
		t.Skip("losetup(8) not found: no loop device")
	}
	out, err := exec.Command(losetup, "--find", "--show", file).CombinedOutput()
	if err != nil {
		t.Skipf("losetup --find --show %s: %v %s", file, err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v %s", dev, err, out)
		}
	})
	return dev
}

// Lock serializes the tests that change the host's swap across every
// test process on the machine (several checkouts may run their suites at
// once): it holds an flock on a file in the temporary directory until t
// ends, so that a Snapshot taken under it sees no other test's devices.
func Lock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "uswap-hosttest.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}
