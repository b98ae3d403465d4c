package stress

import (
	"bytes"
	"errors"
	"testing"

	"uswap/design"
	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swapdev"
	"uswap/system"
)

// A truncation whose partial page cannot be read back (its swap-in read
// failed) still drops the whole pages past the new EOF: they used to stay
// in the index, and growing the file again showed their old data (or
// SIGBUS) where zeros belong. Found by the shmem ops of the stress mix.
func TestShmemTruncateUnreadablePartialPage(t *testing.T) {
	forDesigns(t, testShmemTruncateUnreadablePartialPage)
}

func testShmemTruncateUnreadablePartialPage(t *testing.T, d design.Design) {
	tk := ksync.NewTask("test", 0)
	cfg := system.Config{Frames: 64, MemcgLimit: 32, Fixes: fixes.Default(), PageCluster: 0, Design: d,
		Devices: []system.DeviceConfig{{Kind: "ram", Pages: 64, Priority: -1,
			Faults: []swapdev.FaultRule{{Op: swapdev.FaultRead, Rate: 1, Fail: true}}}}}
	sys, err := system.New(tk, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Shutdown(tk)
	f, err := sys.ShmemCreate(tk, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{0xab}, 3*mem.PageSize)
	if _, err := f.Write(tk, 0, data); err != nil {
		t.Fatal(err)
	}
	sys.Node().ReclaimMemcg(tk, sys.Workload(), 64)
	if f.NrSwapped(tk) != 3 {
		t.Fatalf("%d pages swapped out, want 3", f.NrSwapped(tk))
	}
	// Every read fails: the partial page 0 cannot be zeroed.
	if err := f.Truncate(tk, 100); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("truncate: %v, want SIGBUS from the partial page", err)
	}
	// Page 0 holds the swapin-error marker now (no swap entry, not in
	// info->swapped); pages 1 and 2 are dropped.
	if n := f.NrSwapped(tk); n != 0 {
		t.Errorf("%d swap entries after truncating to 100 bytes, want 0 (page 0 a swapin-error marker, pages 1 and 2 dropped)", n)
	}
	if _, err := f.Read(tk, 0, make([]byte, 100)); !errors.Is(err, mm.ErrBus) {
		t.Errorf("read of page 0 (the marker): %v, want SIGBUS", err)
	}
	if err := f.Truncate(tk, 3*mem.PageSize); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2*mem.PageSize)
	if n, err := f.Read(tk, mem.PageSize, got); err != nil || n != len(got) || !bytes.Equal(got, make([]byte, len(got))) {
		t.Errorf("read of the regrown pages 1-2: %d bytes, %v; zeros: %v", n, err, bytes.Equal(got, make([]byte, len(got))))
	}
	if err := f.Delete(tk); err != nil {
		t.Fatal(err)
	}
	sys.Node().ReclaimMemcg(tk, sys.Workload(), 64)
	for _, v := range sys.AuditEmpty(tk) {
		t.Errorf("audit empty: %v", v)
	}
}
