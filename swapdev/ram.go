package swapdev

import (
	"encoding/binary"
	"fmt"

	"uswap/ksync"
)

// hugeClassSize is zram's huge_class_size: a page that does not compress
// below it is stored uncompressed, because a compressed object that large
// saves too little to pay for decompression. zsmalloc sets it to the
// smallest size class that holds one object per zspage (3264 bytes for 4
// KiB pages with its 16-byte class step); three quarters of a page is the
// same idea for our 32-byte classes.
const hugeClassSize = 3 * PageSize / 4

// Slot states, zram's ZRAM_SAME and ZRAM_HUGE flags plus "nothing stored".
const (
	slotEmpty      uint8 = iota // never written, or discarded: reads as zeros
	slotSame                    // ZRAM_SAME: handle holds the fill word
	slotHuge                    // ZRAM_HUGE: the object holds the raw page
	slotCompressed              // the object holds size compressed bytes
)

// zramLockBit is ZRAM_LOCK: the bit of zramSlot.flags that serializes
// read, write and discard of one slot.
const zramLockBit = 0

// zramSlot is struct zram_table_entry.
type zramSlot struct {
	flags ksync.Flags // bit zramLockBit is the slot lock; accessed atomically

	// Guarded by the slot lock.
	handle zsHandle // the pool object, or the fill word for slotSame
	size   uint32   // bytes of the object in use (PageSize for huge)
	state  uint8
}

// zramStats is struct zram_stats. Every field is a per-CPU counter for
// reporting only; none feeds a decision.
type zramStats struct {
	comprDataSize  ksync.Stat // bytes of compressed data stored (gauge)
	numReads       ksync.Stat
	numWrites      ksync.Stat
	failedReads    ksync.Stat
	failedWrites   ksync.Stat
	invalidIO      ksync.Stat // out-of-range offsets, bad buffer sizes
	notifyFree     ksync.Stat // discards that freed a slot
	missFree       ksync.Stat // discards that found the slot locked and gave up
	samePages      ksync.Stat // gauge
	hugePages      ksync.Stat // gauge
	hugePagesSince ksync.Stat
	pagesStored    ksync.Stat // gauge
}

// RAM is struct zram: a synchronous swap device that keeps pages
// compressed in memory. Same-filled pages (every 8-byte word equal) are
// kept as their fill word with no data; pages that do not compress below
// hugeClassSize are kept raw; the rest are compressed by lz4 or zstd into
// a zsmalloc-like pool.
type RAM struct {
	name   string     // immutable
	table  []zramSlot // immutable slice; each slot guarded by its lock bit
	comp   *zcomp     // immutable
	pool   *zsPool    // immutable
	stats  zramStats
	closed ksync.Bool // set by Close; I/O after it fails with ErrClosed
}

var _ Device = (*RAM)(nil)

// NewRAM makes a zram device of pages pages (disksize/PAGE_SIZE) with the
// named compressor: "lz4" (also for "") or "zstd". Like a fresh zram
// device it reads as zeros until written; format it with MkswapDevice
// before the swap core swaps on to it.
func NewRAM(name string, pages uint64, comp string) (*RAM, error) {
	if pages == 0 {
		return nil, fmt.Errorf("swapdev %s: %w: a device of 0 pages", name, ErrInvalid)
	}
	if pages > 1<<32 {
		return nil, fmt.Errorf("swapdev %s: %w: %d pages is beyond what a swap header can describe (2^32)", name, ErrInvalid, pages)
	}
	zc, err := newZcomp(comp)
	if err != nil {
		return nil, fmt.Errorf("swapdev %s: %w", name, err)
	}
	z := &RAM{name: name, table: make([]zramSlot, pages), comp: zc, pool: newZsPool(pages)}
	for i := range z.table {
		z.table[i].flags.InitRank(ksync.RankZramSlot)
	}
	return z, nil
}

// Name is the device's name (zram0, ...).
func (z *RAM) Name() string { return z.name }

// Pages is the device size in pages.
func (z *RAM) Pages() uint64 { return uint64(len(z.table)) }

// Synchronous is true: zram sets SWP_SYNCHRONOUS_IO.
func (z *RAM) Synchronous() bool { return true }

// Compressor is the backend's name (comp_algorithm).
func (z *RAM) Compressor() string { return z.comp.name }

func (z *RAM) slotLock(t *ksync.Task, s *zramSlot)   { s.flags.LockBit(t, zramLockBit) }
func (z *RAM) slotUnlock(t *ksync.Task, s *zramSlot) { s.flags.UnlockBit(t, zramLockBit) }

func (z *RAM) check(t *ksync.Task, offset uint64, buf []byte) error {
	ksync.MightSleep(t) // a read or write takes the slot's sleeping lock
	if z.closed.Load(t) {
		return ioError(ErrClosed, z.name, offset, "")
	}
	if err := checkIO(z.name, z.Pages(), offset, buf); err != nil {
		z.stats.invalidIO.Inc(t)
		return err
	}
	return nil
}

// sameFilled is page_same_filled(): whether every 8-byte word of the page
// equals the first, and that word.
func sameFilled(page []byte) (uint64, bool) {
	v := binary.LittleEndian.Uint64(page)
	// The last word first: most pages that differ differ there too.
	if binary.LittleEndian.Uint64(page[PageSize-8:]) != v {
		return 0, false
	}
	for i := 8; i < PageSize-8; i += 8 {
		if binary.LittleEndian.Uint64(page[i:]) != v {
			return 0, false
		}
	}
	return v, true
}

// fillPage is memset_l(): a page of the word v.
func fillPage(dst []byte, v uint64) {
	if v == 0 {
		clear(dst[:PageSize])
		return
	}
	for i := 0; i < PageSize; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], v)
	}
}

// WritePage is zram_write_page(). Context: takes t's compression stream
// and a pool class lock, releases both, then takes the slot lock to
// install the new content and free the old (zram_free_page).
func (z *RAM) WritePage(t *ksync.Task, offset uint64, src []byte) error {
	if err := z.check(t, offset, src); err != nil {
		return err
	}
	z.stats.numWrites.Inc(t)
	if v, ok := sameFilled(src); ok {
		s := &z.table[offset]
		z.slotLock(t, s)
		z.freeSlotLocked(t, s)
		s.state, s.handle, s.size = slotSame, zsHandle(v), 0
		z.slotUnlock(t, s)
		z.stats.samePages.Inc(t)
		z.stats.pagesStored.Inc(t)
		return nil
	}

	strm := z.comp.streamGet(t)
	comp, err := z.comp.compressLocked(t, strm, src)
	if err != nil {
		z.comp.streamPut(t, strm)
		z.stats.failedWrites.Inc(t)
		return ioError(ErrIO, z.name, offset, "%s compression failed: %v", z.comp.name, err)
	}
	state, size := slotCompressed, len(comp)
	if size >= hugeClassSize {
		state, size = slotHuge, PageSize
		comp = src
	}
	h := z.pool.malloc(t, size)
	copy(z.pool.obj(t, h), comp[:size])
	z.comp.streamPut(t, strm)

	s := &z.table[offset]
	z.slotLock(t, s)
	z.freeSlotLocked(t, s)
	s.state, s.handle, s.size = state, h, uint32(size)
	z.slotUnlock(t, s)
	if state == slotHuge {
		z.stats.hugePages.Inc(t)
		z.stats.hugePagesSince.Inc(t)
	}
	z.stats.comprDataSize.Add(t, uint64(size))
	z.stats.pagesStored.Inc(t)
	return nil
}

// ReadPage is zram_read_page(). A slot never written (or discarded) reads
// as zeros. Context: holds the slot lock across decompression, and t's
// stream inside it.
func (z *RAM) ReadPage(t *ksync.Task, offset uint64, dst []byte) error {
	if err := z.check(t, offset, dst); err != nil {
		return err
	}
	z.stats.numReads.Inc(t)
	s := &z.table[offset]
	z.slotLock(t, s)
	var err error
	switch s.state {
	case slotEmpty:
		clear(dst)
	case slotSame:
		fillPage(dst, uint64(s.handle))
	case slotHuge:
		copy(dst, z.pool.obj(t, s.handle)[:PageSize])
	case slotCompressed:
		strm := z.comp.streamGet(t)
		err = z.comp.decompressLocked(t, strm, z.pool.obj(t, s.handle)[:s.size], dst)
		z.comp.streamPut(t, strm)
	}
	z.slotUnlock(t, s)
	if err != nil {
		z.stats.failedReads.Inc(t)
		return ioError(ErrIO, z.name, offset, "%s decompression failed: %v", z.comp.name, err)
	}
	return nil
}

// Discard is zram_slot_free_notify(): the swap core no longer needs the
// slot. Like zram it only trylocks the slot, so that it may be called
// from any context; if the slot is busy it counts a miss_free and leaves
// the content, which the next write of the slot frees.
func (z *RAM) Discard(t *ksync.Task, offset uint64) {
	if offset >= z.Pages() || z.closed.Load(t) {
		z.stats.invalidIO.Inc(t)
		return
	}
	s := &z.table[offset]
	if !s.flags.TryLockBit(t, zramLockBit) {
		z.stats.missFree.Inc(t)
		return
	}
	z.stats.notifyFree.Inc(t)
	z.freeSlotLocked(t, s)
	z.slotUnlock(t, s)
}

// freeSlotLocked is zram_free_page(): it drops whatever the slot holds.
// Context: the slot lock held.
func (z *RAM) freeSlotLocked(t *ksync.Task, s *zramSlot) {
	s.flags.AssertBitHeld(t, zramLockBit)
	switch s.state {
	case slotEmpty:
		return
	case slotSame:
		z.stats.samePages.Sub(t, 1)
	case slotHuge:
		z.stats.hugePages.Sub(t, 1)
		fallthrough
	case slotCompressed:
		z.pool.free(t, s.handle)
		z.stats.comprDataSize.Sub(t, uint64(s.size))
	}
	z.stats.pagesStored.Sub(t, 1)
	s.state, s.handle, s.size = slotEmpty, 0, 0
}

// Close is zram_reset_device(): it frees every page and the streams.
// No I/O may be in flight or follow (the swap core's swapoff ensures it);
// later I/O fails with ErrClosed.
func (z *RAM) Close() error {
	t := ksync.NewTask("zram-reset", 0)
	if z.closed.Swap(t, true) {
		return nil
	}
	z.comp.close(t)
	for i := range z.table {
		s := &z.table[i]
		z.slotLock(t, s)
		// The pool goes as a whole below; only the counters need the walk.
		if s.state != slotEmpty {
			z.stats.pagesStored.Sub(t, 1)
			switch s.state {
			case slotSame:
				z.stats.samePages.Sub(t, 1)
			case slotHuge:
				z.stats.hugePages.Sub(t, 1)
				z.stats.comprDataSize.Sub(t, uint64(s.size))
			case slotCompressed:
				z.stats.comprDataSize.Sub(t, uint64(s.size))
			}
		}
		s.state, s.handle, s.size = slotEmpty, 0, 0
		z.slotUnlock(t, s)
	}
	z.pool.destroy(t)
	return nil
}

// Release gives the device's memory (its pool's chunks) to the next
// machine (ksync.Machine): for a machine that is thrown away, once
// nothing will run on it again. The device is unusable after.
func (z *RAM) Release(t *ksync.Task) {
	z.closed.Store(t, true)
	z.pool.release(t)
}
