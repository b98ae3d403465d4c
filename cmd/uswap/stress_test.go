package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func runStressCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newStressCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		out.WriteString("uswap: " + err.Error() + "\n")
	}
	return out.String(), exitStatus(err)
}

func TestStressUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--ops or --duration"},
		{[]string{"--ops", "10", "--tasks", "0"}, "--tasks 0"},
		{[]string{"--ops", "10", "--frames", "0"}, "--frames 0"},
		{[]string{"--ops", "10", "--frames", "100", "--limit", "200"}, "--limit 200"},
		{[]string{"--ops", "10", "--device", "tape"}, "--device \"tape\""},
		{[]string{"--ops", "10", "--faults", "sideways"}, "operation \"sideways\""},
		{[]string{"--ops", "10", "--faults", "read:rate=2"}, "bad rate"},
		{[]string{"--ops", "10", "--swap-pages", "3"}, "--swap-pages 3"},
		{[]string{"--ops", "10", "--file-pages", "0"}, "--file-pages 0"},
		{[]string{"--ops", "10", "--no-such-flag"}, "unknown flag"},
		{[]string{"--ops", "ten"}, "invalid argument"},
		{[]string{"--ops", "10", "extra"}, "unknown command"},
	} {
		out, code := runStressCmd(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("stress %v: status %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
	}
}

// The CI version of the long stress run: faults injected, clean.
func TestStressRuns(t *testing.T) {
	for _, dev := range []string{"ram", "file"} {
		out, code := runStressCmd(t, "--ops", "6000", "--tasks", "3", "--seed", "5", "--device", dev, "--dir", t.TempDir(),
			"--frames", "512", "--limit", "128", "--pages", "64", "--checkpoint", "2000",
			"--faults", "read:rate=0.002", "--faults", "write:rate=0.01", "--faults", "rw:rate=0.001:delay=5us:nofail")
		if code != 0 || !strings.Contains(out, "lost or corrupted pages 0; violations 0") || !strings.Contains(out, "shm-write") {
			t.Fatalf("%s: status %d:\n%s", dev, code, out)
		}
		t.Log(out)
	}
}

// Bad input to the swap-file tools: one clear line each; usage errors
// exit 2, files that are not swap areas 1.
func TestSwapFileBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, bytes.Repeat([]byte("x"), 8192), 0o600)
	truncated := filepath.Join(dir, "truncated")
	os.WriteFile(truncated, []byte("SWAPSPACE2"), 0o600)
	good := filepath.Join(dir, "good")
	if _, err, _ := runUswap(t, "mkswap", good, "64K"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, data[:1000], 0o600)
	// A whole header whose area is longer than the file.
	cut := filepath.Join(dir, "cut")
	os.WriteFile(cut, data[:5*4096], 0o600)
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"mkswap", filepath.Join(dir, "a"), "40961"}, 2, "not a multiple of 4096"},
		{[]string{"mkswap", filepath.Join(dir, "a"), "4K"}, 2, "at least 10 pages"},
		{[]string{"mkswap", filepath.Join(dir, "a"), "lots"}, 2, "lots"},
		{[]string{"mkswap", "/nonexistent/dir/swapfile", "64K"}, 1, "/nonexistent/dir/swapfile"},
		{[]string{"mkswap", filepath.Join(dir, "a")}, 2, "accepts 2 arg"},
		{[]string{"mkswap", "--bogus", filepath.Join(dir, "a"), "64K"}, 2, "unknown flag"},
		{[]string{"swapinfo", garbage}, 1, garbage},
		{[]string{"swapinfo", truncated}, 1, truncated},
		{[]string{"swapinfo", short}, 1, short},
		{[]string{"swapinfo", cut}, 1, "the header says 16 pages"},
		{[]string{"swapinfo", filepath.Join(dir, "missing")}, 1, "missing"},
		{[]string{"swapinfo"}, 2, "accepts 1 arg"},
	} {
		_, err, usage := runUswap(t, tc.args...)
		status := 0
		if err != nil {
			status = 1
			if usage {
				status = 2
			}
		}
		if status != tc.status || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: status %d, error %v; want status %d, one line naming %q", tc.args, status, err, tc.status, tc.want)
			continue
		}
		t.Logf("%v: %v", tc.args, err)
	}
}
