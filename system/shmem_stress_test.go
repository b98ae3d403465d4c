package system_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
)

// shmemStressPage fills buf with the page of (file, page, version): the
// version in the first 8 bytes, then bytes derived from all three.
func shmemStressPage(buf []byte, file, page int, v uint64) {
	binary.LittleEndian.PutUint64(buf, v)
	x := uint32(file*7919+page*104729) ^ uint32(v*2654435761)
	for i := 8; i < len(buf); i++ {
		x = x*1664525 + 1013904223
		buf[i] = byte(x >> 24)
	}
}

// shmemStressCheck reports whether buf is a hole (zeros) or a whole page
// written by some version; it returns the version (0 for zeros).
func shmemStressCheck(buf []byte, file, page int) (uint64, error) {
	v := binary.LittleEndian.Uint64(buf)
	want := make([]byte, len(buf))
	if v != 0 {
		shmemStressPage(want, file, page, v)
	}
	for i := range buf {
		if buf[i] != want[i] {
			return v, fmt.Errorf("file %d page %d: byte %d is %#x, want %#x (version %d)", file, page, i, buf[i], want[i], v)
		}
	}
	return v, nil
}

type shmemStressFile struct {
	f *mm.ShmemFile
	// mu serializes the mutations of the file with the model (and the
	// exact checks); unlocked readers race with all of them.
	mu      sync.Mutex
	version []uint64 // the last version written per page, 0 after a hole
	next    uint64
}

// Tasks write and read shmem files while others punch holes, truncate and
// swap the device off and on, under a cgroup limit below the files' size.
// Every read returns a whole version or zeros, exact reads return the
// last write or zeros; at the end, after deleting every file and
// draining reclaim, everything is free.
func TestShmemStress(t *testing.T) { forDesigns(t, testShmemStress) }

func testShmemStress(t *testing.T, d design.Design) {
	const (
		nFiles = 4
		pages  = 16
		rounds = 150
	)
	tk := ksync.NewTask("main", 0)
	s, err := system.New(tk, system.Config{
		Frames:      256,
		MemcgLimit:  40,
		Fixes:       fixes.Default(),
		PageCluster: 3,
		Design:      d,
		Devices: []system.DeviceConfig{
			{Kind: "ram", Pages: 512, Priority: -1},
			{Kind: "file", Pages: 512, Path: t.TempDir() + "/swap", Priority: -1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(tk)
	files := make([]*shmemStressFile, nFiles)
	for i := range files {
		f, err := s.ShmemCreate(tk, pages*mem.PageSize)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = &shmemStressFile{f: f, version: make([]uint64, pages)}
	}
	var (
		wg     sync.WaitGroup
		errMu  sync.Mutex
		errs   []error
		ooms   int
		cpu    int
		stopMu sync.Mutex
		stop   bool
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if errors.Is(err, mm.ErrOOM) {
			ooms++
			return
		}
		if len(errs) < 10 {
			errs = append(errs, err)
		}
	}
	stopped := func() bool { stopMu.Lock(); defer stopMu.Unlock(); return stop }
	spawn := func(name string, fn func(t *ksync.Task, r *rand.Rand)) {
		cpu++
		task := ksync.NewTask(name, cpu%4)
		r := rand.New(rand.NewPCG(uint64(cpu), 4))
		wg.Add(1)
		go func() { defer wg.Done(); fn(task, r) }()
	}
	var writers sync.WaitGroup
	for fi, sf := range files {
		writers.Add(1)
		spawn(fmt.Sprintf("writer%d", fi), func(t *ksync.Task, r *rand.Rand) {
			defer writers.Done()
			buf := make([]byte, mem.PageSize)
			for range rounds {
				p := r.IntN(pages)
				sf.mu.Lock()
				if r.IntN(3) == 0 {
					// Exact check: the last write, or zeros.
					if _, err := sf.f.Read(t, int64(p)*mem.PageSize, buf); err != nil {
						fail(err)
					} else if v, err := shmemStressCheck(buf, fi, p); err != nil {
						fail(err)
					} else if v != sf.version[p] {
						fail(fmt.Errorf("file %d page %d: read version %d, last written %d", fi, p, v, sf.version[p]))
					}
				} else {
					sf.next++
					shmemStressPage(buf, fi, p, sf.next)
					if _, err := sf.f.Write(t, int64(p)*mem.PageSize, buf); err != nil {
						fail(err)
					} else {
						sf.version[p] = sf.next
					}
				}
				sf.mu.Unlock()
			}
		})
		spawn(fmt.Sprintf("reader%d", fi), func(t *ksync.Task, r *rand.Rand) {
			buf := make([]byte, mem.PageSize)
			for !stopped() {
				p := r.IntN(pages)
				clear(buf)
				// A racing truncation may make the read short: what
				// was read must still be a version or zeros.
				if n, err := sf.f.Read(t, int64(p)*mem.PageSize, buf); err != nil {
					fail(err)
				} else if n == 0 {
					continue
				} else if _, err := shmemStressCheck(buf, fi, p); err != nil {
					fail(err)
				}
			}
		})
	}
	spawn("puncher", func(t *ksync.Task, r *rand.Rand) {
		for !stopped() {
			fi := r.IntN(nFiles)
			sf := files[fi]
			sf.mu.Lock()
			if r.IntN(2) == 0 {
				p, n := r.IntN(pages), 1+r.IntN(4)
				if err := sf.f.PunchHole(t, int64(p)*mem.PageSize, int64(n)*mem.PageSize); err != nil {
					fail(err)
				}
				for i := p; i < min(p+n, pages); i++ {
					sf.version[i] = 0
				}
			} else {
				k := r.IntN(pages)
				if err := sf.f.Truncate(t, int64(k)*mem.PageSize); err != nil {
					fail(err)
				}
				if err := sf.f.Truncate(t, pages*mem.PageSize); err != nil {
					fail(err)
				}
				for i := k; i < pages; i++ {
					sf.version[i] = 0
				}
			}
			sf.mu.Unlock()
			ksync.ScheduleTimeout(t, 100_000)
		}
	})
	spawn("swapoff", func(t *ksync.Task, r *rand.Rand) {
		for !stopped() {
			dev := r.IntN(2)
			if err := s.Swapoff(t, dev); err != nil {
				continue // out of memory: the device stays on
			}
			if err := s.Swapon(t, dev); err != nil {
				fail(err)
				return
			}
		}
	})
	writers.Wait()
	stopMu.Lock()
	stop = true
	stopMu.Unlock()
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d reads or writes failed for lack of memory", ooms)
	for _, v := range s.Audit(tk) {
		t.Errorf("audit: %v", v)
	}
	buf := make([]byte, mem.PageSize)
	for fi, sf := range files {
		for p := range pages {
			if _, err := sf.f.Read(tk, int64(p)*mem.PageSize, buf); err != nil {
				t.Fatalf("file %d page %d: %v", fi, p, err)
			}
			if v, err := shmemStressCheck(buf, fi, p); err != nil || v != sf.version[p] {
				t.Fatalf("file %d page %d: version %d, want %d (%v)", fi, p, v, sf.version[p], err)
			}
		}
		if err := sf.f.Delete(tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range s.AuditEmpty(tk) {
		t.Errorf("audit: %v", v)
	}
}
