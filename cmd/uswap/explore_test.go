package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runExploreCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newExploreCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		out.WriteString("uswap: " + err.Error() + "\n")
	}
	return out.String(), exitStatus(err)
}

func TestExploreUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "nope"}, "swapoff-free"},
		{[]string{"--scenario", "swapoff-free", "--revert", "nope"}, "swap-device"},
		{[]string{"--scenario", "swapoff-free", "--strategy", "bfs"}, "pct:D"},
		{[]string{}, "--scenario is required"},
		{[]string{"--scenario", "all", "--replay", "0"}, "one scenario"},
		{[]string{"--scenario", "swapoff-free", "--replay", "x!"}, "bad choice"},
	} {
		out, code := runExploreCmd(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("explore %v: status %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
	}
}

func TestExploreList(t *testing.T) {
	out, code := runExploreCmd(t, "--list")
	if code != 0 || !strings.Contains(out, "swapoff-free") || !strings.Contains(out, "swapcache-pin") {
		t.Fatalf("status %d:\n%s", code, out)
	}
}

func TestExploreFindsAndReplays(t *testing.T) {
	page := filepath.Join(t.TempDir(), "trace.html")
	out, code := runExploreCmd(t, "--scenario", "swapoff-free", "--revert", "swap-device-ref", "--strategy", "pct:3", "--runs", "2000", "--seed", "1", "--html", page)
	if code != 1 {
		t.Fatalf("status %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"strategy pct:3, seed ", "choices  ", "no-use-after-swapoff", "zap[1]", "swapoff[2]", "lockCluster"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	h, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(h, []byte("swapoff[2]")) {
		t.Errorf("HTML page: %v", err)
	}
	m := regexp.MustCompile(`(?m)^  choices  (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no choices line")
	}
	// The replay prints the same trace: everything from the blank line
	// after the header to the failure.
	rout, rcode := runExploreCmd(t, "--scenario", "swapoff-free", "--revert", "swap-device-ref", "--replay", m[1])
	if rcode != 1 {
		t.Fatalf("replay status %d:\n%s", rcode, rout)
	}
	trace := func(s string) string {
		_, after, _ := strings.Cut(s, "\n\n")
		before, _, _ := strings.Cut(after, "\ntrace written")
		before, _, _ = strings.Cut(before, "\n\n0")
		before, _, _ = strings.Cut(before, "\nuswap:")
		return before
	}
	if a, b := trace(out), trace(rout); !strings.HasPrefix(b, strings.TrimRight(a[:strings.Index(a, "\n\n")], "\n")) {
		t.Fatalf("replay trace differs:\n%s\n---\n%s", a, b)
	}

	// With the fix on: nothing, status 0.
	out, code = runExploreCmd(t, "--scenario", "swapoff-free", "--strategy", "dfs:1", "--runs", "300")
	if code != 0 || !strings.Contains(out, "no failure") {
		t.Fatalf("fix on: status %d:\n%s", code, out)
	}
}
