package swapdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"uswap/internal/hosttest"
)

// noLeftovers fails t if dir holds a temporary file of Mkswap's.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, ".*mkswap-*"))
	if len(names) > 0 {
		t.Errorf("temporary files left behind: %v", names)
	}
}

// untouched fails t unless path holds exactly want.
func untouched(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s changed (err %v, %d bytes, want %d)", path, err, len(got), len(want))
	}
}

func TestMkswapRefuses(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("the user's notes\n"), 4000)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, data, 0o644)
	ext4 := make([]byte, 64<<10)
	binary.LittleEndian.PutUint16(ext4[extMagicOff:], 0xEF53)
	binary.LittleEndian.PutUint32(ext4[extFeatureIncompat:], 0x40)
	disk := filepath.Join(dir, "disk.img")
	os.WriteFile(disk, ext4, 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(notes, link)
	swapLink := filepath.Join(dir, "swaplink")
	swapTarget := filepath.Join(dir, "real.swap")
	if err := Mkswap(swapTarget, 16*PageSize, MkswapOptions{}); err != nil {
		t.Fatal(err)
	}
	swapBytes, _ := os.ReadFile(swapTarget)
	os.Symlink(swapTarget, swapLink)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"plain data", notes, "data with no known signature"},
		{"a filesystem", disk, "an ext4 filesystem"},
		{"a symlink to data", link, "symbolic link (to " + notes},
		{"a symlink to a swap area", swapLink, "does not follow"},
		{"a directory", dir, "not a regular file or a block device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Mkswap(tc.path, 16*PageSize, MkswapOptions{})
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrRefused saying %q", err, tc.want)
			}
		})
	}
	untouched(t, notes, data)
	untouched(t, disk, ext4)
	untouched(t, swapTarget, swapBytes)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v", err)
	}
	if err := Mkswap(swapTarget, 16*PageSize, MkswapOptions{Create: true}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing file: %v", err)
	}
	// A swap area is replaced without force, and data with it.
	if err := Mkswap(swapTarget, 20*PageSize, MkswapOptions{}); err != nil {
		t.Errorf("over a swap area: %v", err)
	}
	if err := Mkswap(notes, 16*PageSize, MkswapOptions{Force: true}); err != nil {
		t.Errorf("forced over data: %v", err)
	}
	h, err := ReadHeaderFile(notes)
	if err != nil || !h.MadeByUswap {
		t.Errorf("forced mkswap: %v %+v", err, h)
	}
	if fi, _ := os.Stat(notes); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	noLeftovers(t, dir)
}

// TestMkswapFailureKeepsOld runs out of room halfway (RLIMIT_FSIZE
// stands for a full filesystem): the file at the path stays as it was.
func TestMkswapFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep")
	if err := Mkswap(path, 16*PageSize, MkswapOptions{Label: "old"}); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	small := lim
	small.Cur = 256 << 10
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &small); err != nil {
		t.Skipf("cannot lower RLIMIT_FSIZE: %v", err)
	}
	err := Mkswap(path, 64<<20, MkswapOptions{Label: "new"})
	unix.Setrlimit(unix.RLIMIT_FSIZE, &lim)
	if err == nil {
		t.Fatal("Mkswap of 64 MiB succeeded under a 256 KiB file size limit")
	}
	t.Logf("the failure: %v", err)
	untouched(t, path, old)
	noLeftovers(t, dir)
}

// TestMkswapBlockDevice: a loop device is written only with BlockDevice,
// and over data only with Force; the node is never removed.
func TestMkswapBlockDevice(t *testing.T) {
	dir := t.TempDir()
	backing := filepath.Join(dir, "backing")
	data := bytes.Repeat([]byte("a disk the user cares about "), 40000)[:1<<20]
	os.WriteFile(backing, data, 0o600)
	dev := hosttest.Loop(t, backing)
	if err := Mkswap(dev, 0, MkswapOptions{}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "block device") {
		t.Errorf("without BlockDevice: %v", err)
	}
	if err := Mkswap(dev, 0, MkswapOptions{BlockDevice: true}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "data with no known signature") {
		t.Errorf("over data: %v", err)
	}
	untouched(t, backing, data)
	if err := Mkswap(dev, 0, MkswapOptions{BlockDevice: true, Force: true, Label: "loop"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dev); err != nil || fi.Mode()&fs.ModeDevice == 0 {
		t.Fatalf("device node %s: %v", dev, err)
	}
	h, err := ReadHeaderFile(dev)
	if err != nil || h.Label != "loop" || h.Pages() != 256 {
		t.Fatalf("header on the device: %v %+v", err, h)
	}
	// Now a swap area: replaced without Force.
	if err := Mkswap(dev, 128*PageSize, MkswapOptions{BlockDevice: true}); err != nil {
		t.Errorf("over its own swap area: %v", err)
	}
}
