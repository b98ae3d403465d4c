package uswap

import (
	"errors"
	"strings"
	"testing"

	"uswap/design"
	"uswap/ksync"
	"uswap/mm"
	"uswap/swap"
)

// TestNewRejectsBadOptions: each bad option is refused before anything is
// made, with an error that names it.
func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		opts Options
		want string
	}{
		{Options{Memory: 4 * PageSize}, "Memory"},
		{Options{Limit: DefaultMemory * 2}, "Limit"},
		{Options{Limit: PageSize}, "Limit"},
		{Options{Swap: PageSize}, "Swap"},
		{Options{Compressor: "gzip"}, "gzip"},
		{Options{Design: design.Design(9)}, "unknown swap design"},
	}
	for _, c := range cases {
		if m, err := New(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			if m != nil {
				m.Close()
			}
			t.Errorf("New(%+v) = %v, want an error naming %s", c.opts, err, c.want)
		}
	}
}

// TestMappingBoundsAndClose: accesses outside a mapping fault, Unmap
// makes the mapping's addresses fault, and Close makes the machine
// refuse work (twice is fine).
func TestMappingBoundsAndClose(t *testing.T) {
	m, err := New(Options{Memory: 1 << 20, Limit: 256 << 10, Swap: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Map(3*PageSize + 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != 4*PageSize {
		t.Fatalf("size %d, want 4 pages", r.Size())
	}
	buf := make([]byte, 8)
	for _, off := range []int64{-1, 4*PageSize - 4, 4 * PageSize} {
		if err := r.Load(off, buf); !errors.Is(err, ErrSegv) {
			t.Errorf("Load at %d: %v, want ErrSegv", off, err)
		}
	}
	if err := r.Store(4*PageSize-8, buf); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Map(0); err == nil {
		t.Error("Map(0) succeeded")
	}
	if err := r.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := r.Load(0, buf); !errors.Is(err, ErrSegv) {
		t.Errorf("Load after Unmap: %v, want ErrSegv", err)
	}
	if vs := m.Audit(); len(vs) > 0 {
		t.Fatal(vs)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.Map(PageSize); !errors.Is(err, ErrClosed) {
		t.Errorf("Map after Close: %v, want ErrClosed", err)
	}
}

// TestStatsCoverEveryCounter: the snapshot has a field for every counter
// of the engine's two counter structs, and sumStats refuses a pair whose
// fields differ, so a counter added to the engine cannot be forgotten.
func TestStatsCoverEveryCounter(t *testing.T) {
	t0 := ksync.NewTask("t", 0)
	var s swap.Stats
	s.PswpOut.Add(t0, 3)
	s.ReadErrors.Add(t0, 1)
	var st SwapStats
	sumStats(&st, &s)
	if st.PswpOut != 3 || st.ReadErrors != 1 || st.PswpIn != 0 {
		t.Fatalf("snapshot %+v", st)
	}
	var vm VMStats
	sumStats(&vm, &mm.VMStat{})
	defer func() {
		if recover() == nil {
			t.Fatal("sumStats of mismatched structs did not panic")
		}
	}()
	sumStats(&vm, &swap.Stats{})
}

// TestDesigns: a machine of each design stores twice its limit, pushes
// the rest out, loads every page back right and audits clean.
func TestDesigns(t *testing.T) {
	for _, d := range design.All() {
		t.Run(d.String(), func(t *testing.T) {
			m, err := New(Options{Memory: 4 << 20, Limit: 1 << 20, Design: d})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			mem, err := m.Map(2 << 20)
			if err != nil {
				t.Fatal(err)
			}
			page := make([]byte, PageSize)
			for off := int64(0); off < mem.Size(); off += PageSize {
				page[0], page[1] = byte(off/PageSize), byte(off/PageSize>>8)
				if err := mem.Store(off, page); err != nil {
					t.Fatal(err)
				}
			}
			mem.PageOut()
			for off := int64(0); off < mem.Size(); off += PageSize {
				if err := mem.Load(off, page); err != nil || page[0] != byte(off/PageSize) || page[1] != byte(off/PageSize>>8) {
					t.Fatalf("page at %d: %v, %x", off, err, page[:2])
				}
			}
			if st := m.Stats(); st.Swap.PswpIn == 0 {
				t.Errorf("nothing swapped in: %+v", st.Swap)
			}
			if vs := m.Audit(); len(vs) != 0 {
				t.Errorf("audit: %v", vs)
			}
		})
	}
}
