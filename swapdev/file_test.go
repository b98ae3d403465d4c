package swapdev

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"uswap/ksync"
	"uswap/workload"
)

func TestMkswapAndFile(t *testing.T) {
	task := ksync.NewTask("test", 0)
	path := filepath.Join(t.TempDir(), "swap")
	id := uuid.MustParse("8c6e2b5e-5a1f-4d3c-9e2b-1f2a3b4c5d6e")
	if err := Mkswap(path, 64*PageSize, MkswapOptions{Label: "uswap", UUID: id}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != 64*PageSize {
		t.Errorf("mode %v size %d, want 0600 and %d", st.Mode().Perm(), st.Size(), 64*PageSize)
	}
	var sys unix.Stat_t
	if err := unix.Stat(path, &sys); err == nil && sys.Blocks*512 < 64*PageSize {
		t.Errorf("file has holes: %d bytes allocated of %d", sys.Blocks*512, 64*PageSize)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := f.Header()
	if h.Pages() != 64 || h.Label != "uswap" || h.UUID != id || f.Pages() != 64 || f.Synchronous() {
		t.Errorf("header %+v pages %d", h, f.Pages())
	}
	want := make([]byte, PageSize)
	got := make([]byte, PageSize)
	for i := uint64(1); i < 64; i++ {
		workload.FillPage(want, i, workload.Mixed)
		if err := f.WritePage(task, i, want); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint64(1); i < 64; i++ {
		workload.FillPage(want, i, workload.Mixed)
		if err := f.ReadPage(task, i, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("page %d: err %v", i, err)
		}
	}
	f.Discard(task, 5)
	if err := f.ReadPage(task, 5, got); err != nil || f.Discards() != 1 {
		t.Errorf("discard is a no-op: err %v discards %d", err, f.Discards())
	}
	if err := f.ReadPage(task, 64, got); !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), path) {
		t.Errorf("out of range: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.WritePage(task, 1, want); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
	// A random UUID when none is given, version 4.
	if err := Mkswap(path, 10*PageSize, MkswapOptions{}); err != nil {
		t.Fatal(err)
	}
	h2, err := ReadHeaderFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if u := uuid.UUID(h2.UUID); u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		t.Errorf("uuid %v is not a random v4 uuid", u)
	}
}

func TestMkswapAndOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		size int64
		opts MkswapOptions
		want string
	}{
		{"not a page multiple", 65537, MkswapOptions{}, "size 65537 is not a positive multiple"},
		{"zero", 0, MkswapOptions{}, "size 0 is not"},
		{"nine pages", 9 * PageSize, MkswapOptions{}, "9 pages is too small"},
		{"long label", 40960, MkswapOptions{Label: "a-label-of-17-byt"}, "17 bytes, at most 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Mkswap(filepath.Join(dir, "x"), tc.size, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := OpenFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	// A file truncated after mkswap: shorter than the signature says.
	p := filepath.Join(dir, "short")
	if err := Mkswap(p, 20*PageSize, MkswapOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Truncate(p, 15*PageSize)
	if _, err := OpenFile(p); err == nil || !strings.Contains(err.Error(), "the header says 20 pages (last_page 19), the device has 15 pages") || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated file: %v", err)
	}
	// A tiny file and a file of zeros.
	os.WriteFile(p, []byte("tiny"), 0o600)
	if _, err := OpenFile(p); err == nil || !strings.Contains(err.Error(), "4 bytes, shorter than one") {
		t.Errorf("tiny file: %v", err)
	}
	os.WriteFile(p, make([]byte, 40960), 0o600)
	if _, err := OpenFile(p); err == nil || !strings.Contains(err.Error(), "no swap signature") {
		t.Errorf("zero file: %v", err)
	}
	// Bad pages are fine in a header but not in a swap file.
	hdr := &Header{Version: 1, LastPage: 9, BadPages: []uint32{3}}
	os.WriteFile(p, append(hdr.Marshal(), make([]byte, 9*PageSize)...), 0o600)
	if _, err := OpenFile(p); err == nil || !strings.Contains(err.Error(), "bad pages") {
		t.Errorf("bad pages in a file: %v", err)
	}
}

// TestMkswapKernelSwapon hands a file made by Mkswap to the kernel.
func TestMkswapKernelSwapon(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: swapon(2) needs CAP_SYS_ADMIN")
	}
	swapon, err1 := lookSbin("swapon")
	swapoff, err2 := lookSbin("swapoff")
	if err1 != nil || err2 != nil {
		t.Skip("swapon/swapoff not found: cannot test against the kernel")
	}
	// Not tmpfs (t.TempDir may be): a filesystem that supports swap files.
	dir, err := os.MkdirTemp("/var/tmp", "uswap-swapon-")
	if err != nil {
		t.Skipf("no directory under /var/tmp: %v", err)
	}
	path := filepath.Join(dir, "swapfile")
	t.Cleanup(func() {
		exec.Command(swapoff, path).Run() // harmless if it is not on
		os.RemoveAll(dir)
	})
	if err := Mkswap(path, 4<<20, MkswapOptions{Label: "uswap-swapon"}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(swapon, path).CombinedOutput(); err != nil {
		var st unix.Statfs_t
		unix.Statfs(dir, &st)
		if st.Type == unix.TMPFS_MAGIC {
			t.Skipf("swapon refused a file on tmpfs: %s", out)
		}
		t.Fatalf("kernel swapon refused Mkswap's file: %v\n%s", err, out)
	}
	swaps, _ := os.ReadFile("/proc/swaps")
	if !strings.Contains(string(swaps), path) {
		t.Errorf("%s is not in /proc/swaps:\n%s", path, swaps)
	}
	t.Logf("kernel accepted the file:\n%s", swaps)
	if out, err := exec.Command(swapoff, path).CombinedOutput(); err != nil {
		t.Fatalf("swapoff: %v\n%s", err, out)
	}
}

func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := "/usr/sbin/" + name
	_, err := os.Stat(p)
	return p, err
}
