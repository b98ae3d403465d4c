package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"uswap/realmem"
	"uswap/uffd"
)

func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken")
	os.WriteFile(existing, nil, 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--socket is required"},
		{[]string{"serve", "--socket", existing}, "exists; remove it"},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "--device", "tape"}, `--device "tape"`},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "--device", "file"}, "needs --swap-dir"},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "--swap-dir", dir}, "goes with --device file"},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "--comp", "gzip"}, `--comp "gzip"`},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "--max-size", "5K"}, "--max-size 5K"},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "--workers", "0"}, "--workers 0"},
		{[]string{"serve", "--socket", filepath.Join(dir, "s"), "extra"}, "unknown command"},
	} {
		out, status := runUswap(t, tc.args...)
		if status != exitUsage || !strings.Contains(out, tc.want) {
			t.Errorf("uswap %v: status %d, output %q; want status 2 and %q", tc.args, status, out, tc.want)
		}
	}
}

// TestServeRunsAndStops: the daemon listens, and SIGTERM stops it after
// a clean shutdown (status 130), with its socket removed.
func TestServeRunsAndStops(t *testing.T) {
	if err := uffd.Available(realmem.Features); err != nil {
		t.Skipf("userfaultfd is not available here: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "uswap.sock")
	r := start(t, "serve", "--socket", sock)
	r.waitFor("listening on")
	c, err := net.Dial("unixpacket", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"version":1,"op":"close"}`))
	b := make([]byte, 512)
	n, _ := c.Read(b)
	c.Close()
	if !strings.Contains(string(b[:n]), `"close\" before register`) {
		t.Errorf("reply %q to a close before register", b[:n])
	}
	r.signal(syscall.SIGTERM)
	status, out := r.wait()
	if status != exitInterrupted || !strings.Contains(out, "0 regions registered, 1 requests refused") {
		t.Fatalf("status %d:\n%s", status, out)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket is left behind: %v", err)
	}
}
