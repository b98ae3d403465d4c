package realmem

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"uswap/pager"
	"uswap/uffd"
)

// available skips the test where userfaultfd, or one of the features a
// region needs, is missing.
func available(t *testing.T) {
	t.Helper()
	if err := available1(); err != nil {
		t.Skipf("userfaultfd is not available here: %v", err)
	}
}

func available1() error { return uffd.Available(Features) }

// stamp writes page i's content for version v: the page number and the
// version in its first words, a pattern derived from both in the rest.
func stamp(p []byte, i, v uint64) {
	binary.LittleEndian.PutUint64(p[0:], i)
	binary.LittleEndian.PutUint64(p[8:], v)
	x := i*0x9e3779b97f4a7c15 ^ v
	for off := 16; off < len(p); off += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(p[off:], x)
	}
}

// check verifies page i holds version v (v == 0: never written, zeros).
func check(p []byte, i, v uint64) error {
	if v == 0 {
		for off := 0; off < len(p); off += 8 {
			if w := binary.LittleEndian.Uint64(p[off:]); w != 0 {
				return fmt.Errorf("page %d: word %d is %#x, want a zero page", i, off/8, w)
			}
		}
		return nil
	}
	want := make([]byte, len(p))
	stamp(want, i, v)
	for off := 0; off < len(p); off += 8 {
		if got, w := binary.LittleEndian.Uint64(p[off:]), binary.LittleEndian.Uint64(want[off:]); got != w {
			return fmt.Errorf("page %d: word %d is %#x, want %#x (version %d; first words %#x %#x)",
				i, off/8, got, w, v, binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:]))
		}
	}
	return nil
}

// TestIntegrityThreads has several goroutines read and write a region
// four times its budget, each page checked word for word, on both
// devices, with both policies.
func TestIntegrityThreads(t *testing.T) {
	available(t)
	for _, c := range []struct{ device, policy string }{{"ram", "workingset"}, {"file", "fifo"}} {
		t.Run(c.device+"/"+c.policy, func(t *testing.T) {
			const pages, threads = 2048, 4
			opts := Options{Budget: pages / 4 * pageSize, Device: c.device, Policy: c.policy}
			if c.device == "file" {
				opts.SwapFile = filepath.Join(t.TempDir(), "swapfile")
			}
			s := runThreads(t, pages, opts, threads, func(mem []byte, k int) error {
				return churn(mem, k, threads, pages, 6000/opsScale)
			})
			if s.SwapIns == 0 || s.Written == 0 || s.WPFaults == 0 {
				t.Errorf("the region was not paged: %+v", s)
			}
		})
	}
}

// runThreads maps a region of pages pages with opts, runs fn in threads
// goroutines on its memory, checks what they found, that no more than the
// budget is resident, that the pager had no error and that its books
// balance, closes the region and returns the pager's counters.
func runThreads(t *testing.T, pages int, opts Options, threads int, fn func(mem []byte, k int) error) pager.Snapshot {
	t.Helper()
	r, err := Map(int64(pages)*pageSize, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, threads)
	for k := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = fn(r.Bytes(), k)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s := r.Stats()
	t.Logf("%+v", s)
	if res := r.Resident(); res > int64(r.Budget()) {
		t.Errorf("%d pages resident, budget %d", res, r.Budget())
	}
	if err := r.Err(); err != nil {
		t.Error(err)
	}
	if err := r.StopAndAudit(); err != nil {
		t.Error(err)
	}
	return s
}

// churn is thread k's walk: random reads and writes of its own pages
// (k, k+threads, ...), checked against the version it last wrote.
func churn(mem []byte, k, threads, pages, ops int) error {
	rng := rand.New(rand.NewPCG(uint64(k), 7))
	version := make([]uint64, pages)
	for i := range ops {
		page := uint64(k + threads*rng.IntN(pages/threads))
		p := mem[page*pageSize : (page+1)*pageSize]
		if rng.IntN(3) == 0 {
			version[page] = uint64(i + 1)
			stamp(p, page, version[page])
		} else if err := check(p, page, version[page]); err != nil {
			return fmt.Errorf("thread %d op %d: %w", k, i, err)
		}
	}
	// Every page once more, in order.
	for page := uint64(k); page < uint64(pages); page += uint64(threads) {
		if err := check(mem[page*pageSize:(page+1)*pageSize], page, version[page]); err != nil {
			return fmt.Errorf("thread %d, final pass: %w", k, err)
		}
	}
	return nil
}

// TestDiscardWhilePaging discards pages (MADV_DONTNEED, MADV_REMOVE) and
// unmaps parts of a region while other goroutines page it: discarded
// pages read as zeros, the rest keep their data, and the pager frees the
// slots and frames of what went.
func TestDiscardWhilePaging(t *testing.T) {
	available(t)
	const pages, threads = 1024, 4
	s := runThreads(t, pages, Options{Budget: pages / 4 * pageSize}, threads, func(mem []byte, k int) error {
		// The last thread discards and unmaps in its own stripe.
		if k == threads-1 {
			return discarder(mem, k, threads, pages)
		}
		return churn(mem, k, threads, pages, 4000/opsScale)
	})
	if s.Removed == 0 || s.SwapIns == 0 {
		t.Errorf("nothing was discarded or swapped in: %+v", s)
	}
}

func discarder(mem []byte, k, threads, pages int) error {
	rng := rand.New(rand.NewPCG(uint64(k), 9))
	version := make([]uint64, pages)
	gone := make([]bool, pages)
	mine := func() uint64 { return uint64(k + threads*rng.IntN(pages/threads)) }
	for i := range 3000 / opsScale {
		page := mine()
		if gone[page] {
			continue
		}
		p := mem[page*pageSize : (page+1)*pageSize]
		switch op := rng.IntN(20); {
		case op < 8:
			version[page] = uint64(i + 1)
			stamp(p, page, version[page])
		case op < 16:
			if err := check(p, page, version[page]); err != nil {
				return fmt.Errorf("discarder op %d: %w", i, err)
			}
		case op < 18:
			if err := unix.Madvise(p, unix.MADV_DONTNEED); err != nil {
				return err
			}
			version[page] = 0
			if err := check(p, page, 0); err != nil {
				return fmt.Errorf("discarder op %d, right after MADV_DONTNEED: %w", i, err)
			}
		case op < 19:
			if err := unix.Madvise(p, unix.MADV_REMOVE); err != nil {
				return err
			}
			version[page] = 0
		default:
			if i < 2000/opsScale {
				continue
			}
			// munmap through the system call: unix.Munmap only
			// unmaps whole mappings it made.
			if err := unix.MunmapPtr(unsafe.Pointer(&p[0]), pageSize); err != nil {
				return err
			}
			gone[page] = true
		}
	}
	for page := uint64(k); page < uint64(pages); page += uint64(threads) {
		if gone[page] {
			continue
		}
		if err := check(mem[page*pageSize:(page+1)*pageSize], page, version[page]); err != nil {
			return fmt.Errorf("discarder, final pass: %w", err)
		}
	}
	return nil
}
