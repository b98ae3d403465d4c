package system_test

import (
	"bytes"
	"testing"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
)

// A released machine's memory serves the next machine built, which
// starts exactly as one built from new memory (every frame zeroed) and
// works; the released machine's frames are gone (their data nil), so
// that a use after Release panics rather than corrupting the next one.
func TestReleaseReusesMemoryZeroed(t *testing.T) {
	cfg := system.Config{Frames: 64, MemcgLimit: 16, Fixes: fixes.Default(), Devices: []system.DeviceConfig{{Kind: "ram", Pages: 256, Priority: -1}}}
	run := func() (*system.System, *ksync.Task) {
		tk := ksync.NewTask("test", 0)
		s, err := system.New(tk, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for pfn := range s.Pool().Frames() {
			if d := s.Pool().Folio(pfn).Data(); !bytes.Equal(d, make([]byte, mem.PageSize)) {
				t.Fatalf("frame %d of a new machine is not zeroed", pfn)
			}
		}
		// Four times the cgroup's limit: every page is swapped out and
		// in again, so that frames and the zram pool's chunks are used.
		const pages = 64
		m := s.NewMM(tk)
		addr, err := m.Mmap(tk, pages*mem.PageSize, mm.ProtRead|mm.ProtWrite)
		if err != nil {
			t.Fatal(err)
		}
		g := gens(pages, 1)
		storeGens(t, tk, m, addr, g)
		if failed := loadPages(t, tk, m, addr, g); len(failed) != 0 {
			t.Fatalf("loads failed: %v", failed)
		}
		if s.Core().Stats.PswpOut.Sum() == 0 {
			t.Fatalf("nothing was swapped out")
		}
		m.Exit(tk)
		auditClean(t, tk, s, true)
		return s, tk
	}
	first, tk := run()
	frame0 := &first.Pool().Folio(0).Data()[0]
	first.Release(tk)
	if d := first.Pool().Folio(0).Data(); d != nil {
		t.Fatalf("a released machine's frame still has its data")
	}
	second, tk := run()
	if &second.Pool().Folio(0).Data()[0] != frame0 {
		t.Errorf("the second machine did not reuse the first one's frames")
	}
	second.Release(tk)
}
