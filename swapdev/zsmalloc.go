package swapdev

import (
	"fmt"

	"uswap/ksync"
)

// The pool is mm/zsmalloc.c reduced to what zram needs, shaped by Go's
// garbage collector: compressed pages live as objects inside a few large
// []byte chunks, so that a gigabyte of swapped pages is a few thousand
// allocations the GC scans in no time, not 262144 small ones.
//
//  1. An object's size is rounded up to its size class (zsSizeClassDelta
//     steps, zs_size_classes). Each class owns its chunks (zsmalloc's
//     zspages); a chunk of the pool's chunkSize bytes holds objsPerChunk
//     objects of the class size; the remainder of a chunk is wasted, as
//     at the end of a zspage. A pool's chunks are zsChunkMax bytes, or
//     an eighth of the device when that is smaller (at least a page): a
//     ten-page device, as the explorer's scenarios make one per schedule,
//     does not allocate 64 KiB for its header page.
//  2. Each chunk keeps a free list of its objects, threaded through the
//     free objects' first 4 bytes (zsmalloc's link_free), and an in-use
//     count. A class keeps the chunks that have a free object on a
//     doubly-linked "partial" list (zsmalloc's fullness lists, reduced to
//     partial and full).
//  3. zs_malloc takes an object from the first partial chunk, or makes a
//     chunk. zs_free returns it; a chunk whose last object is freed is
//     released to the GC unless it is the class's only spare chunk, which
//     is kept to damp allocate/free cycles at a chunk boundary.
//  4. A handle is (class, chunk, object) packed in a uint64; bit 63 is
//     set so that 0 is never a valid handle.
//  5. Readers map a handle to its bytes without the class lock: a class's
//     chunk table is copy-on-write, published through an atomic pointer,
//     and the object cannot be freed while its owner (the zram slot lock)
//     holds it.
//
// There is no compaction (pages_compacted stays 0).
const (
	zsChunkMax             = 64 << 10
	zsSizeClassDelta       = 32
	zsNumClasses           = PageSize / zsSizeClassDelta // classes 32, 64, ..., 4096
	zsHandleValid          = 1 << 63
	zsObjBits              = 16
	zsChunkBits            = 32
	zsNone           int32 = -1
	// zsChunkCacheMax is how many released chunks (64 KiB each at most) the pool
	// keeps for reuse: 4 MiB.
	zsChunkCacheMax = 64
)

// zsHandle is an object's handle, the kernel's unsigned long handle.
type zsHandle uint64

func makeHandle(class, chunk, obj int) zsHandle {
	return zsHandle(zsHandleValid | uint64(class)<<(zsChunkBits+zsObjBits) | uint64(chunk)<<zsObjBits | uint64(obj))
}

func (h zsHandle) split() (class, chunk, obj int) {
	return int(h>>(zsChunkBits+zsObjBits)) & 0xff, int(h>>zsObjBits) & (1<<zsChunkBits - 1), int(h) & (1<<zsObjBits - 1)
}

// zsChunk is a zspage: a run of objects of one class.
type zsChunk struct {
	mem []byte // immutable while the chunk is in its class's table

	// Guarded by the class lock.
	freeHead   int32 // first free object, zsNone if full
	inuse      int32 // objects allocated
	prev, next int32 // links on the class's partial list (chunk indexes)
	onPartial  bool
}

// noChunks is a class's table before its first chunk. It is shared:
// writers replace a table to grow it and only set entries below its
// length, which this one has none of.
var noChunks []*zsChunk

// sizeClass is struct size_class.
type sizeClass struct {
	lock ksync.SpinLock

	size         int // immutable: object size
	objsPerChunk int // immutable

	// table maps chunk index to chunk. The slice is copy-on-write: a
	// writer holds lock, builds a new slice when it grows, and publishes
	// it; entries of the current slice are set and cleared under lock.
	// Readers load it without the lock (see step 5).
	table ksync.Pointer[[]*zsChunk]

	// Guarded by lock.
	partialHead int32   // first chunk with a free object, zsNone if none
	freeIdx     []int32 // released chunk indexes, reused before the table grows
	spare       int32   // an empty chunk kept for reuse, zsNone if none
	nrChunks    int     // chunks allocated (spare included)
}

// zsPool is struct zs_pool.
type zsPool struct {
	classes   [zsNumClasses]sizeClass
	chunkSize int // immutable: bytes per chunk, a power of two

	// cacheLock guards cache: the memory of released chunks, kept for
	// any class to reuse (the page allocator's free lists, to zsmalloc's
	// free_zspage), up to zsChunkCacheMax. Without it a workload that
	// frees and refills the pool at a steady size hands chunks to the GC
	// and faults fresh memory in from the OS at the same rate. Lock
	// order: a class lock, then cacheLock.
	cacheLock ksync.SpinLock
	cache     [][]byte

	pagesUsed ksync.Stat   // chunk bytes / PageSize in use: reporting only
	maxUsed   ksync.Uint64 // high-water mark of pagesUsed (mem_used_max), updated with cmpxchg
}

func newZsPool(pages uint64) *zsPool {
	p := &zsPool{chunkSize: zsChunkMax}
	for p.chunkSize > PageSize && uint64(p.chunkSize)*8 > pages*PageSize {
		p.chunkSize /= 2
	}
	p.cacheLock.Init(ksync.RankZsCache)
	for i := range p.classes {
		c := &p.classes[i]
		c.lock.Init(ksync.RankZsClass)
		c.size = (i + 1) * zsSizeClassDelta
		c.objsPerChunk = p.chunkSize / c.size
		c.partialHead = zsNone
		c.spare = zsNone
		c.table.Init(&noChunks)
	}
	return p
}

// classFor is get_size_class_index().
func classFor(size int) int {
	return (size+zsSizeClassDelta-1)/zsSizeClassDelta - 1
}

// malloc is zs_malloc(): an object of at least size bytes (1..PageSize).
// Context: takes the class spinlock; may allocate a chunk under it (the
// kernel allocates zspages with the class lock dropped; a Go allocation
// does not sleep).
func (p *zsPool) malloc(t *ksync.Task, size int) zsHandle {
	if size <= 0 || size > PageSize {
		panic(fmt.Sprintf("zsmalloc: object of %d bytes", size))
	}
	ci := classFor(size)
	c := &p.classes[ci]
	c.lock.Lock(t)
	tbl := *c.table.Load(t)
	idx := c.partialHead
	if idx == zsNone {
		idx = p.newChunkLocked(t, c, ci)
		tbl = *c.table.Load(t)
	}
	ch := tbl[idx]
	obj := ch.freeHead
	ch.freeHead = c.readLink(ch, obj)
	ch.inuse++
	if ch.freeHead == zsNone {
		c.unlinkPartialLocked(t, tbl, idx)
	}
	c.lock.Unlock(t)
	return makeHandle(ci, int(idx), int(obj))
}

// newChunkLocked is alloc_zspage(): it puts a chunk with every object free
// on the partial list and returns its index. Context: c.lock held.
func (p *zsPool) newChunkLocked(t *ksync.Task, c *sizeClass, ci int) int32 {
	c.lock.AssertHeld(t)
	var ch *zsChunk
	var idx int32
	if c.spare != zsNone {
		idx, c.spare = c.spare, zsNone
		ch = (*c.table.Load(t))[idx]
	} else {
		ch = &zsChunk{mem: p.chunkMem(t)}
		c.nrChunks++
		p.pagesUsed.Add(t, uint64(p.chunkSize/PageSize))
		p.noteMax(t)
		if n := len(c.freeIdx); n > 0 {
			idx = c.freeIdx[n-1]
			c.freeIdx = c.freeIdx[:n-1]
			(*c.table.Load(t))[idx] = ch
		} else {
			old := *c.table.Load(t)
			idx = int32(len(old))
			grown := make([]*zsChunk, len(old)+1, 2*len(old)+1)
			copy(grown, old)
			grown[idx] = ch
			c.table.Store(t, &grown)
		}
		for o := 0; o < c.objsPerChunk; o++ {
			next := int32(o + 1)
			if o == c.objsPerChunk-1 {
				next = zsNone
			}
			c.writeLink(ch, int32(o), next)
		}
		ch.freeHead = 0
	}
	ch.prev, ch.next = zsNone, zsNone
	c.pushPartialLocked(t, *c.table.Load(t), idx)
	return idx
}

// chunkMem is a chunk's memory: a released chunk's, or a new one.
// Context: a class lock may be held.
func (p *zsPool) chunkMem(t *ksync.Task) []byte {
	p.cacheLock.Lock(t)
	if n := len(p.cache); n > 0 {
		m := p.cache[n-1]
		p.cache[n-1] = nil
		p.cache = p.cache[:n-1]
		p.cacheLock.Unlock(t)
		return m
	}
	p.cacheLock.Unlock(t)
	return ksync.Machine.Get(p.chunkSize)
}

// releaseChunkMem keeps a released chunk's memory for reuse, if the
// cache has room. Context: a class lock may be held.
func (p *zsPool) releaseChunkMem(t *ksync.Task, m []byte) {
	p.cacheLock.Lock(t)
	if len(p.cache) < zsChunkCacheMax {
		p.cache = append(p.cache, m)
	}
	p.cacheLock.Unlock(t)
}

// noteMax raises maxUsed to the current use (mem_used_max).
func (p *zsPool) noteMax(t *ksync.Task) {
	cur := p.pagesUsed.Sum()
	for {
		m := p.maxUsed.Load(t)
		if cur <= m || p.maxUsed.CompareAndSwap(t, m, cur) {
			return
		}
	}
}

// free is zs_free().
func (p *zsPool) free(t *ksync.Task, h zsHandle) {
	ci, idx, obj := h.split()
	c := &p.classes[ci]
	c.lock.Lock(t)
	tbl := *c.table.Load(t)
	ch := tbl[idx]
	if debugChecks && (ch == nil || ch.inuse == 0) {
		c.lock.Unlock(t)
		panic(fmt.Sprintf("zsmalloc: free of handle %#x in an empty or released chunk", uint64(h)))
	}
	c.writeLink(ch, int32(obj), ch.freeHead)
	ch.freeHead = int32(obj)
	ch.inuse--
	if !ch.onPartial {
		c.pushPartialLocked(t, tbl, int32(idx))
	}
	if ch.inuse == 0 {
		c.unlinkPartialLocked(t, tbl, int32(idx))
		if c.spare == zsNone {
			c.spare = int32(idx)
		} else {
			// free_zspage(): keep its memory for reuse, or give
			// it back to the GC.
			p.releaseChunkMem(t, ch.mem)
			tbl[idx] = nil
			c.freeIdx = append(c.freeIdx, int32(idx))
			c.nrChunks--
			p.pagesUsed.Sub(t, uint64(p.chunkSize/PageSize))
		}
	}
	c.lock.Unlock(t)
}

// obj maps a handle to its bytes (zs_obj_read_begin / zs_map_object). The
// caller must own the object (hold the zram slot lock of its slot).
func (p *zsPool) obj(t *ksync.Task, h zsHandle) []byte {
	ci, idx, obj := h.split()
	c := &p.classes[ci]
	ch := (*c.table.Load(t))[idx]
	off := obj * c.size
	return ch.mem[off : off+c.size : off+c.size]
}

// objSize is the class size of the object h names.
func (p *zsPool) objSize(h zsHandle) int {
	ci, _, _ := h.split()
	return p.classes[ci].size
}

// memUsed is zs_get_total_pages() in bytes.
func (p *zsPool) memUsed() uint64 { return p.pagesUsed.Sum() * PageSize }

// destroy is zs_destroy_pool(): it drops every chunk from its class,
// keeping the memory in the cache (up to its bound) for release to give
// to the next machine. No task may use the pool any more.
func (p *zsPool) destroy(t *ksync.Task) {
	for i := range p.classes {
		c := &p.classes[i]
		if c.table.Load(t) == &noChunks {
			continue // never had a chunk (a table only grows)
		}
		c.lock.Lock(t)
		for _, ch := range *c.table.Load(t) {
			if ch != nil {
				p.pagesUsed.Sub(t, uint64(p.chunkSize/PageSize))
				// Kept in the cache (up to its bound) for release.
				p.releaseChunkMem(t, ch.mem)
			}
		}
		c.table.Store(t, &noChunks)
		c.partialHead, c.spare, c.freeIdx, c.nrChunks = zsNone, zsNone, nil, 0
		c.lock.Unlock(t)
	}
}

// release destroys the pool and gives every chunk's memory it kept to
// the next machine (ksync.Machine). Nothing may use the pool after.
func (p *zsPool) release(t *ksync.Task) {
	p.destroy(t)
	p.cacheLock.Lock(t)
	cache := p.cache
	p.cache = nil
	p.cacheLock.Unlock(t)
	for _, m := range cache {
		ksync.Machine.Put(m, len(m))
	}
}

func (c *sizeClass) readLink(ch *zsChunk, obj int32) int32 {
	off := int(obj) * c.size
	b := ch.mem[off : off+4]
	return int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}

func (c *sizeClass) writeLink(ch *zsChunk, obj, next int32) {
	off := int(obj) * c.size
	v := uint32(next)
	ch.mem[off], ch.mem[off+1], ch.mem[off+2], ch.mem[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// pushPartialLocked puts chunk idx at the head of the partial list.
// Context: c.lock held.
func (c *sizeClass) pushPartialLocked(t *ksync.Task, tbl []*zsChunk, idx int32) {
	c.lock.AssertHeld(t)
	ch := tbl[idx]
	ch.prev, ch.next, ch.onPartial = zsNone, c.partialHead, true
	if c.partialHead != zsNone {
		tbl[c.partialHead].prev = idx
	}
	c.partialHead = idx
}

// unlinkPartialLocked takes chunk idx off the partial list. Context:
// c.lock held.
func (c *sizeClass) unlinkPartialLocked(t *ksync.Task, tbl []*zsChunk, idx int32) {
	c.lock.AssertHeld(t)
	ch := tbl[idx]
	if !ch.onPartial {
		return
	}
	if ch.prev != zsNone {
		tbl[ch.prev].next = ch.next
	} else {
		c.partialHead = ch.next
	}
	if ch.next != zsNone {
		tbl[ch.next].prev = ch.prev
	}
	ch.prev, ch.next, ch.onPartial = zsNone, zsNone, false
}
