package swapdev

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"uswap/ksync"
	"uswap/sched"
)

func newFaultyRAM(t *testing.T, seed uint64, rules ...FaultRule) (*Faulty, *ksync.Task) {
	t.Helper()
	ram, err := NewRAM("zram-f", 64, "lz4")
	if err != nil {
		t.Fatal(err)
	}
	return NewFaulty(ram, seed, rules...), ksync.NewTask("test", 0)
}

func fpage(b byte) []byte { return bytes.Repeat([]byte{b, 1, 2, 3}, PageSize/4) }

func TestFaultyAtOffsets(t *testing.T) {
	f, tk := newFaultyRAM(t, 1, FaultRule{Op: FaultRead, Offsets: []uint64{5}, Fail: true})
	for off := uint64(1); off < 8; off++ {
		if err := f.WritePage(tk, off, fpage(byte(off))); err != nil {
			t.Fatalf("write %d: %v", off, err)
		}
	}
	dst := make([]byte, PageSize)
	for off := uint64(1); off < 8; off++ {
		err := f.ReadPage(tk, off, dst)
		if off == 5 {
			if !errors.Is(err, ErrInjected) || !errors.Is(err, ErrIO) {
				t.Fatalf("read 5: %v, want an injected I/O error", err)
			}
			if !strings.Contains(err.Error(), "offset 5") || !strings.Contains(err.Error(), "zram-f(faulty)") {
				t.Errorf("error %q does not name the device and offset", err)
			}
			continue
		}
		if err != nil || !bytes.Equal(dst, fpage(byte(off))) {
			t.Fatalf("read %d: err %v, content ok %v", off, err, bytes.Equal(dst, fpage(byte(off))))
		}
	}
	if s := f.Stats(); s.ReadErrors != 1 || s.WriteErrors != 0 {
		t.Errorf("stats %+v, want one read error", s)
	}
}

func TestFaultyWriteKeepsOldContent(t *testing.T) {
	f, tk := newFaultyRAM(t, 1, FaultRule{Op: FaultWrite, After: 1, Times: 1, Fail: true})
	if err := f.WritePage(tk, 3, fpage(1)); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := f.WritePage(tk, 3, fpage(2)); !errors.Is(err, ErrInjected) {
		t.Fatalf("second write: %v, want injected", err)
	}
	if err := f.WritePage(tk, 3, fpage(3)); err != nil {
		t.Fatalf("third write (times=1 used up): %v", err)
	}
	dst := make([]byte, PageSize)
	if err := f.ReadPage(tk, 3, dst); err != nil || !bytes.Equal(dst, fpage(3)) {
		t.Fatalf("read back: %v", err)
	}
	// The header page is never faulted.
	f2, tk2 := newFaultyRAM(t, 1, FaultRule{Op: FaultReadWrite, Fail: true})
	if err := f2.WritePage(tk2, 0, fpage(9)); err != nil {
		t.Fatalf("header write faulted: %v", err)
	}
	if err := f2.WritePage(tk2, 1, fpage(9)); err == nil {
		t.Fatal("rule with no condition let a write through")
	}
}

// TestFaultyRateIsSeeded: the same seed fails the same I/Os.
func TestFaultyRateIsSeeded(t *testing.T) {
	run := func(seed uint64) []int {
		f, tk := newFaultyRAM(t, seed, FaultRule{Op: FaultWrite, Rate: 0.25, Fail: true})
		var failed []int
		for i := 0; i < 400; i++ {
			if f.WritePage(tk, uint64(1+i%60), fpage(byte(i))) != nil {
				failed = append(failed, i)
			}
		}
		return failed
	}
	a, b, c := run(7), run(7), run(8)
	if len(a) < 60 || len(a) > 140 {
		t.Errorf("rate 0.25 of 400 writes failed %d", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, %d and %d failures", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different failures at %d", i)
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Error("seeds 7 and 8 failed exactly the same writes")
	}
}

// TestFaultyDelayIsVirtual: under the controlled scheduler a delay
// advances the virtual clock, not the wall clock.
func TestFaultyDelayIsVirtual(t *testing.T) {
	f, _ := newFaultyRAM(t, 1, FaultRule{Op: FaultRead, Delay: time.Hour})
	start := time.Now()
	res := sched.Run(sched.Random(1), sched.Options{}, func(tk *ksync.Task) {
		dst := make([]byte, PageSize)
		if err := f.ReadPage(tk, 2, dst); err != nil {
			panic(err)
		}
	})
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	if res.VirtualTime < time.Hour {
		t.Errorf("virtual time %v after a one-hour delay", res.VirtualTime)
	}
	if time.Since(start) > time.Minute {
		t.Error("the delay took wall-clock time")
	}
	if f.Stats().Delays != 1 {
		t.Errorf("delays = %d", f.Stats().Delays)
	}
}

func TestParseFaultRule(t *testing.T) {
	good := []struct {
		in   string
		want string
	}{
		{"read", "read"},
		{"write:offset=17,18:times=1", "write:offset=17,18:times=1"},
		{"rw:rate=0.001", "rw:rate=0.001"},
		{"read:after=100:delay=2ms:nofail", "read:after=100:delay=2ms:nofail"},
	}
	for _, c := range good {
		r, err := ParseFaultRule(c.in)
		if err != nil {
			t.Errorf("ParseFaultRule(%q): %v", c.in, err)
			continue
		}
		if got := r.String(); got != c.want {
			t.Errorf("ParseFaultRule(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
	bad := []struct{ in, frag string }{
		{"erase", "not read, write or rw"},
		{"read:rate=2", "not in (0, 1]"},
		{"read:rate=x", "bad rate"},
		{"read:offset=a", "not a slot number"},
		{"read:after=-1", "negative"},
		{"read:color=red", "unknown key"},
		{"read:nofail", "does nothing"},
		{"read:times", "not key=value"},
	}
	for _, c := range bad {
		if _, err := ParseFaultRule(c.in); err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("ParseFaultRule(%q) = %v, want an error containing %q", c.in, err, c.frag)
		}
	}
}

// SetRules replaces the rules of a device in use; the new rules count
// from zero.
func TestFaultySetRules(t *testing.T) {
	f, tk := newFaultyRAM(t, 1)
	buf := make([]byte, PageSize)
	if err := f.WritePage(tk, 3, buf); err != nil {
		t.Fatal(err)
	}
	f.SetRules(tk, FaultRule{Op: FaultRead, Offsets: []uint64{3}, Times: 1, Fail: true})
	if err := f.ReadPage(tk, 3, buf); !errors.Is(err, ErrInjected) {
		t.Fatalf("first read after SetRules: %v, want an injected error", err)
	}
	if err := f.ReadPage(tk, 3, buf); err != nil {
		t.Fatalf("second read (times=1 spent): %v", err)
	}
	f.SetRules(tk)
	if err := f.WritePage(tk, 3, buf); err != nil {
		t.Fatalf("no rules: %v", err)
	}
	if st := f.Stats(); st.ReadErrors != 1 {
		t.Fatalf("stats %+v, want one read error", st)
	}
}

func TestAsyncIsNotSynchronous(t *testing.T) {
	ram, err := NewRAM("zram9", 16, "lz4")
	if err != nil {
		t.Fatal(err)
	}
	a := Async{ram}
	if !ram.Synchronous() || a.Synchronous() || a.Pages() != 16 || a.Name() != "zram9(async)" {
		t.Fatalf("Async: sync %v, pages %d, name %q", a.Synchronous(), a.Pages(), a.Name())
	}
}

// TestHasSlotFreeNotify: zram has the hook, through its wrappers, and a
// RAM device's Discard frees the data (a read gives zeros); a swap file
// has no hook.
func TestHasSlotFreeNotify(t *testing.T) {
	ram, err := NewRAM("zram9", 16, "lz4")
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/swap"
	if err := Mkswap(path, 16*PageSize, MkswapOptions{}); err != nil {
		t.Fatal(err)
	}
	file, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, c := range []struct {
		name string
		dev  Device
		want bool
	}{
		{"ram", ram, true},
		{"async ram", Async{ram}, true},
		{"faulty async ram", NewFaulty(Async{ram}, 1), true},
		{"file", file, false},
		{"faulty file", NewFaulty(file, 1), false},
	} {
		if got := HasSlotFreeNotify(c.dev); got != c.want {
			t.Errorf("%s: HasSlotFreeNotify = %v, want %v", c.name, got, c.want)
		}
	}
	tk := ksync.NewTask("test", 0)
	if err := ram.WritePage(tk, 3, fpage(7)); err != nil {
		t.Fatal(err)
	}
	ram.Discard(tk, 3)
	got := make([]byte, PageSize)
	if err := ram.ReadPage(tk, 3, got); err != nil || !bytes.Equal(got, make([]byte, PageSize)) {
		t.Fatalf("a discarded zram slot reads %v (first bytes %v), want zeros", err, got[:4])
	}
}
