package swapdev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckSwapon(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, pages int64) string {
		p := filepath.Join(dir, name)
		if err := Mkswap(p, pages*PageSize, MkswapOptions{}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	loose := mk("loose", 16)
	os.Chmod(loose, 0o644)
	holey := mk("holey", 64)
	if f, err := os.OpenFile(holey, os.O_RDWR, 0); err == nil {
		if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 20*PageSize, 4*PageSize); err != nil {
			t.Logf("punching a hole: %v (the hole case is not checked)", err)
			holey = ""
		}
		f.Close()
	}
	page64k := make([]byte, 160<<10)
	copy(page64k[65526:], "SWAPSPACE2")
	bad := (&Header{Version: 1, LastPage: 15, BadPages: []uint32{3}}).Marshal()
	tiny := (&Header{Version: 1, LastPage: 4}).Marshal()
	short := mk("short", 32)
	os.Truncate(short, 20*PageSize)
	for _, tc := range []struct {
		name, path string
		refused    bool
		want       string // a finding's fragment; "" for none at all
	}{
		{"uswap's own", mk("good", 2048), false, ""},
		{"insecure permissions", loose, false, "swapon(8) warns: insecure permissions 0644, 0600 suggested"},
		{"a hole", holey, true, "kernel refuses: hole at byte 81920"},
		{"made for 64 KiB pages", write("p64k", page64k), true, "made for 64 KiB pages (its signature is at byte 65526)"},
		{"bad pages in a file", write("bad", append(bad, make([]byte, 15*PageSize)...)), true, "lists 1 bad pages"},
		{"below mkswap's minimum", write("tiny", append(tiny, make([]byte, 4*PageSize)...)), false, "below mkswap's minimum of 10 pages"},
		{"shorter than its header", short, true, "the header says 32 pages"},
		{"data", write("data", []byte(strings.Repeat("x", 3*PageSize))), true, "Unable to find swap-space signature): it holds data"},
		{"a directory", dir, true, "not a regular file or a block device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == "" {
				t.Skip("no hole could be punched on this filesystem")
			}
			c, err := CheckSwapon(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, f := range c.Findings {
				if f.Text != "" && !strings.Contains(f.Text, "insecure file owner") {
					all = append(all, f.String())
				}
			}
			got := strings.Join(all, "\n")
			if c.Refused() != tc.refused || (tc.want == "" && got != "") || !strings.Contains(got, tc.want) {
				t.Errorf("refused %v, findings:\n%s\nwant refused %v and %q", c.Refused(), got, tc.refused, tc.want)
			}
		})
	}
}
