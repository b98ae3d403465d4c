package mm_test

import (
	"bytes"
	"errors"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

const pg = mem.PageSize

func shmemFill(tb testing.TB, t *ksync.Task, f *mm.ShmemFile, first, pages int, seed uint64) {
	tb.Helper()
	buf := make([]byte, pg)
	for i := first; i < first+pages; i++ {
		workload.FillPage(buf, seed+uint64(i), workload.Mixed)
		if n, err := f.Write(t, int64(i)*pg, buf); err != nil || n != pg {
			tb.Fatalf("write page %d: %d, %v", i, n, err)
		}
	}
}

// shmemSwappedOut is a new file of s with pages pages filled (shmemFill,
// from seed) and then reclaimed as far as reclaim goes (Drain).
func shmemSwappedOut(tb testing.TB, t *ksync.Task, s *system.System, pages int, seed uint64) *mm.ShmemFile {
	tb.Helper()
	f, err := s.ShmemCreate(t, 0)
	if err != nil {
		tb.Fatal(err)
	}
	shmemFill(tb, t, f, 0, pages, seed)
	s.Node().Drain(t)
	return f
}

func shmemVerify(tb testing.TB, t *ksync.Task, f *mm.ShmemFile, first, pages int, seed uint64) {
	tb.Helper()
	buf := make([]byte, pg)
	for i := first; i < first+pages; i++ {
		if n, err := f.Read(t, int64(i)*pg, buf); err != nil || n != pg {
			tb.Fatalf("read page %d: %d, %v", i, n, err)
		}
		if err := system.CheckPage(buf, seed+uint64(i), workload.Mixed); err != nil {
			tb.Fatalf("page %d: %v", i, err)
		}
	}
}

func shmemZero(tb testing.TB, t *ksync.Task, f *mm.ShmemFile, first, pages int) {
	tb.Helper()
	buf := make([]byte, pg)
	for i := first; i < first+pages; i++ {
		if n, err := f.Read(t, int64(i)*pg, buf); err != nil || n != pg {
			tb.Fatalf("read page %d: %d, %v", i, n, err)
		}
		if !bytes.Equal(buf, make([]byte, pg)) {
			tb.Fatalf("page %d of a hole is not zero", i)
		}
	}
}

func inuse(t *ksync.Task, s *system.System) int64 { return s.SwapInfo(t, 0).InusePages(t) }

func used(t *ksync.Task, s *system.System) int64 {
	return int64(s.Pool().Frames()) - s.Pool().NrFree(t)
}

func TestShmemSwapOutIn(t *testing.T) { forDesigns(t, testShmemSwapOutIn) }

func testShmemSwapOutIn(t *testing.T, d design.Design) {
	for _, kind := range []string{"ram", "file"} {
		t.Run(kind, func(t *testing.T) {
			cfg := kindConfig(t, kind, 128, 64, 256)
			s, tk := newSystemD(t, d, cfg)
			f, err := s.ShmemCreate(tk, 0)
			if err != nil {
				t.Fatal(err)
			}
			const pages = 48
			shmemFill(t, tk, f, 0, pages, 7)
			if got := f.Size(tk); got != pages*pg {
				t.Fatalf("size %d", got)
			}
			s.Node().Drain(tk)
			if got := f.NrSwapped(tk); got != pages {
				t.Fatalf("%d of %d pages swapped out", got, pages)
			}
			if got := inuse(tk, s); got != pages {
				t.Fatalf("%d slots in use, want %d", got, pages)
			}
			audit(t, tk, s)
			shmemVerify(t, tk, f, 0, pages, 7)
			if got := f.NrSwapped(tk); got != 0 {
				t.Fatalf("%d pages still swapped after reading all", got)
			}
			if got := inuse(tk, s); got != 0 {
				t.Fatalf("%d slots in use after swap-in", got)
			}
			audit(t, tk, s)
			// Beyond EOF: short reads.
			buf := make([]byte, 2*pg)
			if n, err := f.Read(tk, (pages-1)*pg, buf); err != nil || n != pg {
				t.Fatalf("read at EOF: %d, %v", n, err)
			}
			if err := f.Delete(tk); err != nil {
				t.Fatal(err)
			}
			auditEmpty(t, tk, s)
		})
	}
}

func TestShmemTruncatePunchFree(t *testing.T) { forDesigns(t, testShmemTruncatePunchFree) }

func testShmemTruncatePunchFree(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(128, 64, 256))
	f := shmemSwappedOut(t, tk, s, 16, 3)
	base := used(tk, s)
	shmemVerify(t, tk, f, 0, 8, 3) // pages 0..7 resident, 8..15 swapped
	if got, want := used(tk, s)-base, int64(8); got != want {
		t.Fatalf("%d frames for 8 resident pages", got)
	}
	if got := inuse(tk, s); got != 8 {
		t.Fatalf("%d slots in use, want 8", got)
	}
	// Punch pages 4..11: 4 frames and 4 slots go.
	if err := f.PunchHole(tk, 4*pg, 8*pg); err != nil {
		t.Fatal(err)
	}
	if got := used(tk, s) - base; got != 4 {
		t.Fatalf("%d frames after punching, want 4", got)
	}
	if got := inuse(tk, s); got != 4 {
		t.Fatalf("%d slots after punching, want 4", got)
	}
	audit(t, tk, s)
	shmemZero(t, tk, f, 4, 8)
	shmemVerify(t, tk, f, 0, 4, 3)
	shmemVerify(t, tk, f, 12, 4, 3) // swapped in again: slots 0
	if got := inuse(tk, s); got != 0 {
		t.Fatalf("%d slots after reading, want 0", got)
	}
	s.Node().Drain(tk)
	// Truncate to 2 pages + 100 bytes: pages 0..2 stay, page 2's tail
	// is zeroed; the rest (all swapped, punched pages never came back as
	// folios since reads of holes do not allocate) is freed.
	if got := inuse(tk, s); got != 8 {
		t.Fatalf("%d slots before truncate, want 8", got)
	}
	if err := f.Truncate(tk, 2*pg+100); err != nil {
		t.Fatal(err)
	}
	if got := inuse(tk, s); got != 2 {
		t.Fatalf("%d slots after truncate, want 2 (page 2 was swapped in to zero its tail)", got)
	}
	audit(t, tk, s)
	buf := make([]byte, 4*pg)
	n, err := f.Read(tk, 0, buf)
	if err != nil || n != 2*pg+100 {
		t.Fatalf("read: %d, %v", n, err)
	}
	shmemVerify(t, tk, f, 0, 2, 3)
	want := make([]byte, pg)
	workload.FillPage(want, 3+2, workload.Mixed)
	if !bytes.Equal(buf[2*pg:2*pg+100], want[:100]) {
		t.Fatal("page 2's head was lost")
	}
	// Growing again shows zeros past the old EOF.
	if err := f.Truncate(tk, 4*pg); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Read(tk, 0, buf); n != 4*pg || !bytes.Equal(buf[2*pg+100:], make([]byte, 2*pg-100)) {
		t.Fatalf("grown file: %d bytes, tail not zero", n)
	}
	if err := f.Delete(tk); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(tk); !errors.Is(err, mm.ErrShmemDeleted) {
		t.Fatalf("second delete: %v", err)
	}
	auditEmpty(t, tk, s)
}

// A failed charge during swap-in leaves the folio in the swap cache,
// and the next access finds it there without reading the device again;
// only the patch under review (delete-any-error) throws it away, which
// costs a second read (seed 004: "the next fault has to read the
// still-valid page again from the swap device"). In both designs; the
// classic-only variant (lock-in-undo) only in the classic one.
func TestShmemChargeFailureReads(t *testing.T) {
	forDesigns(t, testShmemChargeFailureReads)
}

func testShmemChargeFailureReads(t *testing.T, d design.Design) {
	for i, name := range fixes.ShmemSwapin.VariantNames() {
		if !fixes.ShmemSwapin.RunsIn(fixes.Variant(i), d) {
			continue // classic-only (lock-in-undo): refused in the table design
		}
		t.Run(name, func(t *testing.T) {
			cfg := ramConfig(128, 8, 256)
			cfg.SwapLimit = 8
			var err error
			if cfg.Fixes, err = fixes.Default().Choose("shmem-swapin=" + name); err != nil {
				t.Fatal(err)
			}
			s, tk := newSystemD(t, d, cfg)
			f := shmemSwappedOut(t, tk, s, 8, 11)
			if f.NrSwapped(tk) != 8 {
				t.Fatalf("%d swapped", f.NrSwapped(tk))
			}
			// Fill the cgroup with anonymous memory that cannot be
			// swapped (swap.max is reached).
			m := s.NewMM(tk)
			addr, _ := m.Mmap(tk, 8*pg, mm.ProtRead|mm.ProtWrite)
			fill(t, tk, m, addr, 8, 100)
			reads := s.Core().Stats.PswpIn.Sum()
			buf := make([]byte, pg)
			if _, err := f.Read(tk, 0, buf); !isOOM(err) {
				t.Fatalf("read at the limit: %v, want ErrOOM", err)
			}
			if got := s.Core().Stats.PswpIn.Sum() - reads; got != 1 {
				t.Fatalf("%d device reads for the failed swap-in", got)
			}
			if got := s.Node().Stat.ShmemChargeFail.Sum(); got != 1 {
				t.Fatalf("%d failed charges counted", got)
			}
			audit(t, tk, s)
			m.Exit(tk)
			shmemVerify(t, tk, f, 0, 1, 11)
			want := uint64(1)
			if name == "delete-any-error" {
				want = 2
			}
			if got := s.Core().Stats.PswpIn.Sum() - reads; got != want {
				t.Fatalf("%d device reads in all, want %d", got, want)
			}
			audit(t, tk, s)
			f.Delete(tk)
			auditEmpty(t, tk, s)
		})
	}
}

// Two address spaces map one file shared: each sees the other's stores
// and the file's; reclaim unmaps the page from both and writes it out;
// the next access faults it back from the file.
func TestShmemMapShared(t *testing.T) { forDesigns(t, testShmemMapShared) }

func testShmemMapShared(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(128, 64, 256))
	f, _ := s.ShmemCreate(tk, 4*pg)
	m1, m2 := s.NewMM(tk), s.NewMM(tk)
	a1, err := m1.MmapShared(tk, f, 0, 4*pg, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := m2.MmapShared(tk, f, pg, 3*pg, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.Store(tk, a1+pg+5, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if err := m2.Load(tk, a2+5, got); err != nil || string(got) != "hello" {
		t.Fatalf("m2 sees %q, %v", got, err)
	}
	if err := m2.Store(tk, a2+2*pg, []byte("world")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(tk, 3*pg, got); err != nil || string(got) != "world" {
		t.Fatalf("file has %q, %v", got, err)
	}
	if _, err := f.Write(tk, 2*pg, []byte("write")); err != nil {
		t.Fatal(err)
	}
	if err := m1.Load(tk, a1+2*pg, got); err != nil || string(got) != "write" {
		t.Fatalf("m1 sees %q, %v", got, err)
	}
	child, err := m1.Fork(tk)
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Store(tk, a1, []byte("child")); err != nil {
		t.Fatal(err)
	}
	audit(t, tk, s)
	s.Node().Drain(tk)
	if n := f.NrSwapped(tk); n != 4 {
		t.Fatalf("%d pages swapped after reclaim of mapped pages, want 4", n)
	}
	audit(t, tk, s)
	for _, c := range []struct {
		m    *mm.MM
		addr uint64
		want string
	}{{m1, a1 + pg + 5, "hello"}, {m2, a2 + 2*pg, "world"}, {m2, a2 + pg, "write"}, {m1, a1, "child"}, {child, a1 + 3*pg, "world"}} {
		if err := c.m.Load(tk, c.addr, got); err != nil || string(got) != c.want {
			t.Fatalf("%v at %#x: %q, %v; want %q", c.m, c.addr, got, err, c.want)
		}
	}
	audit(t, tk, s)
	// Truncation unmaps; a fault past EOF is SIGBUS.
	if err := f.Truncate(tk, pg); err != nil {
		t.Fatal(err)
	}
	if err := m1.Load(tk, a1+2*pg, got); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("load past EOF: %v", err)
	}
	if err := m1.Munmap(tk, a1+pg, pg); err != nil {
		t.Fatal(err)
	}
	audit(t, tk, s)
	m1.Exit(tk)
	m2.Exit(tk)
	child.Exit(tk)
	f.Delete(tk)
	auditEmpty(t, tk, s)
}

// swapoff brings shmem pages back (shmem_unuse), and fails cleanly when
// the cgroup has no room for them.
func TestShmemSwapoff(t *testing.T) { forDesigns(t, testShmemSwapoff) }

func testShmemSwapoff(t *testing.T, d design.Design) {
	s, tk := newSystemD(t, d, ramConfig(128, 64, 256))
	f := shmemSwappedOut(t, tk, s, 24, 5)
	if err := s.Swapoff(tk, 0); err != nil {
		t.Fatal(err)
	}
	if n := f.NrSwapped(tk); n != 0 {
		t.Fatalf("%d still swapped after swapoff", n)
	}
	audit(t, tk, s)
	if err := s.Swapon(tk, 0); err != nil {
		t.Fatal(err)
	}
	shmemVerify(t, tk, f, 0, 24, 5)
	f.Delete(tk)
	auditEmpty(t, tk, s)

	// Out of memory: a limit of 8 with 16 pages swapped and the cgroup
	// full of anonymous memory.
	s2, tk2 := newSystemD(t, d, ramConfig(128, 8, 256))
	f2, _ := s2.ShmemCreate(tk2, 0)
	shmemFill(t, tk2, f2, 0, 16, 9)
	s2.Node().Drain(tk2)
	m := s2.NewMM(tk2)
	addr, _ := m.Mmap(tk2, 8*pg, mm.ProtRead|mm.ProtWrite)
	fill(t, tk2, m, addr, 8, 1)
	if err := s2.Swapoff(tk2, 0); err == nil {
		t.Fatal("swapoff succeeded with no room for the shmem pages")
	}
	audit(t, tk2, s2)
	m.Exit(tk2)
	shmemVerify(t, tk2, f2, 0, 16, 9)
	f2.Delete(tk2)
	auditEmpty(t, tk2, s2)
}

// A shmem page whose swap-in read fails gets the swapin-error marker
// (shmem_set_folio_swapin_error): its slot is freed at once, later reads,
// writes and faults get SIGBUS without reading again, truncation or a
// hole punch removes it, and swapoff completes over it, every other page
// intact.
func TestShmemSwapinError(t *testing.T) { forDesigns(t, testShmemSwapinError) }

func testShmemSwapinError(t *testing.T, d design.Design) {
	s, tk, si, dev := newReadFailSystemD(t, d, 128, 64, 256)
	const pages = 16
	f, _ := s.ShmemCreate(tk, 0)
	g, _ := s.ShmemCreate(tk, 0)
	shmemFill(t, tk, f, 0, pages, 7)
	shmemFill(t, tk, g, 0, 4, 40)
	s.Node().Drain(tk)
	if n := f.NrSwapped(tk); n != pages {
		t.Fatalf("%d of %d pages swapped after drain", n, pages)
	}
	slots := si.InusePages(tk)
	buf := make([]byte, pg)

	// The failed read: -EIO, the index holds the marker, the slot and
	// the folio are gone.
	dev.failReads.Store(tk, 1)
	if _, err := f.Read(tk, 3*pg, buf); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("read of an unreadable page: %v, want SIGBUS", err)
	}
	if n := f.NrSwapped(tk); n != pages-1 {
		t.Fatalf("info->swapped %d after the swapin error, want %d", n, pages-1)
	}
	if got := si.InusePages(tk); got != slots-1 {
		t.Fatalf("%d slots in use after the swapin error, want %d (the slot freed)", got, slots-1)
	}
	audit(t, tk, s)

	// Reads, writes and faults of the marker: SIGBUS, no device read.
	reads := dev.reads.Load(tk)
	if _, err := f.Read(tk, 3*pg, buf); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("read of the marker: %v, want SIGBUS", err)
	}
	if _, err := f.Write(tk, 3*pg+5, []byte("x")); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("write of the marker: %v, want SIGBUS", err)
	}
	m := s.NewMM(tk)
	addr, err := m.MmapShared(tk, f, 0, pages*pg, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(tk, addr+3*pg, buf[:8]); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("fault on the marker: %v, want SIGBUS", err)
	}
	if got := dev.reads.Load(tk); got != reads {
		t.Fatalf("%d device reads for a marker", got-reads)
	}
	audit(t, tk, s)

	// A hole punch removes the marker: zeros, and writable again.
	if err := f.PunchHole(tk, 3*pg, pg); err != nil {
		t.Fatal(err)
	}
	shmemZero(t, tk, f, 3, 1)
	audit(t, tk, s)

	// g's page 1 fails too; deleting g removes that marker.
	dev.failReads.Store(tk, 1)
	if _, err := g.Read(tk, 1*pg, buf); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("read of g's unreadable page: %v, want SIGBUS", err)
	}
	if err := g.Delete(tk); err != nil {
		t.Fatal(err)
	}
	audit(t, tk, s)

	// swapoff meets an unreadable page (f's lowest swapped index, 0:
	// shmem_unuse goes in index order, f first): the marker takes its
	// place and swapoff completes.
	dev.failReads.Store(tk, 1)
	if err := s.Core().Swapoff(tk, si, s.Node()); err != nil {
		t.Fatalf("swapoff over an unreadable shmem page: %v", err)
	}
	if n := f.NrSwapped(tk); n != 0 {
		t.Fatalf("%d still swapped after swapoff", n)
	}
	if _, err := f.Read(tk, 0, buf); !errors.Is(err, mm.ErrBus) {
		t.Fatalf("read of the page swapoff could not read: %v, want SIGBUS", err)
	}
	shmemVerify(t, tk, f, 1, 2, 7)
	shmemZero(t, tk, f, 3, 1)
	shmemVerify(t, tk, f, 4, pages-4, 7)
	audit(t, tk, s)

	// Truncation removes the marker: the page reads as zeros once the
	// file grows again.
	if err := f.Truncate(tk, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(tk, pages*pg); err != nil {
		t.Fatal(err)
	}
	shmemZero(t, tk, f, 0, pages)
	audit(t, tk, s)
	m.Exit(tk)
	f.Delete(tk)
	auditEmpty(t, tk, s)
}

// TestShmemUmount: unmounting the tmpfs evicts every file, swapped-out
// pages included; a file cannot be created after it, nor the tmpfs
// unmounted twice; a mapped file makes it fail with EBUSY.
func TestShmemUmount(t *testing.T) {
	s, tk := newSystem(t, ramConfig(128, 64, 256))
	f, _ := s.ShmemCreate(tk, 0)
	g, _ := s.ShmemCreate(tk, 0)
	shmemFill(t, tk, f, 0, 8, 5)
	shmemFill(t, tk, g, 0, 4, 7)
	s.Node().Drain(tk)
	if f.NrSwapped(tk) == 0 {
		t.Fatal("nothing swapped out")
	}
	m := s.NewMM(tk)
	addr, err := m.MmapShared(tk, g, 0, pg, mm.ProtRead)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Node().ShmemUmount(tk); err == nil {
		t.Fatal("umount with a file mapped succeeded")
	}
	if err := m.Munmap(tk, addr, pg); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete(tk); err != nil {
		t.Fatal(err)
	}
	if err := s.Node().ShmemUmount(tk); err != nil {
		t.Fatal(err)
	}
	if n := f.NrSwapped(tk); n != 0 {
		t.Errorf("%d pages still swapped after the umount", n)
	}
	if _, err := s.ShmemCreate(tk, pg); !errors.Is(err, mm.ErrUnmounted) {
		t.Errorf("create after umount: %v, want %v", err, mm.ErrUnmounted)
	}
	if err := s.Node().ShmemUmount(tk); !errors.Is(err, mm.ErrUnmounted) {
		t.Errorf("second umount: %v, want %v", err, mm.ErrUnmounted)
	}
	m.Exit(tk)
	auditEmpty(t, tk, s)
}
