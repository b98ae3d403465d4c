package mem

import (
	"fmt"

	"uswap/ksync"
)

// Pool is the machine's RAM: a fixed number of frames and their folios,
// and the free list (the kernel's zone free lists, one zone).
type Pool struct {
	folios []Folio // immutable slice; each Folio guards itself
	data   []byte  // immutable slice until Release (nil after): frame i is data[i*PageSize:(i+1)*PageSize]; nil for a descriptor pool

	lock     ksync.SpinLock // zone->lock: guards freeList and used
	freeList []uint32       // free frame numbers, a stack; guarded by lock
	used     int            // guarded by lock: one past the highest frame ever handed out (what Release clears)
	nrFree   ksync.Int64    // len(free), readable without lock (NR_FREE_PAGES)

	// owner is the owner's half of __folio_put(): called when a
	// folio's refcount reaches zero, before its frame returns to the
	// free list (take it off its LRU list, uncharge its cgroup). Set
	// once by SetOwner before the pool is shared; immutable after.
	owner Owner
}

// Owner is what owns a pool's folios: the mm node, or a pager. It is an
// interface and not a function value so that a machine holds no closure
// and the explorer can copy it whole (internal/snapshot).
type Owner interface {
	// FolioReleased is the owner's half of __folio_put(), called for a
	// folio whose last reference is gone, before the frame is freed, in
	// the context of whoever dropped that reference: it must not sleep.
	FolioReleased(t *ksync.Task, f *Folio)
}

// SetOwner installs the pool's owner. It must be called before the pool
// is shared.
func (p *Pool) SetOwner(o Owner) { p.owner = o }

// FreeFrozen frees a folio whose refcount the caller froze to zero
// (RefFreeze) and which nothing else can reach any more: reclaim's
// free_unref_folios after __remove_mapping. The folio must be unlocked
// and out of the swap cache.
func (p *Pool) FreeFrozen(t *ksync.Task, f *Folio) {
	if v := f.refcount.Load(t); v != 0 {
		panic(fmt.Sprintf("mem: FreeFrozen(%v) with refcount %d", f, v))
	}
	p.free(t, f)
}

// NewPool makes a pool of frames frames, all free.
func NewPool(frames int) (*Pool, error) { return newPool(frames, true) }

// NewDescriptorPool makes a pool of frames frames whose memory is not the
// pool's: each folio describes a page that the kernel holds for a
// userfaultfd pager (package pager), which reads and writes it through
// the kernel, so Data is nil. The pool's size is the pager's resident
// budget.
func NewDescriptorPool(frames int) (*Pool, error) { return newPool(frames, false) }

func newPool(frames int, withData bool) (*Pool, error) {
	if frames <= 0 {
		return nil, fmt.Errorf("mem: a pool needs at least one frame, not %d", frames)
	}
	if frames > 1<<31 {
		return nil, fmt.Errorf("mem: %d frames is more than this pool can number", frames)
	}
	p := &Pool{
		folios:   make([]Folio, frames),
		freeList: make([]uint32, frames),
	}
	p.lock.Init(ksync.RankPool)
	if withData {
		p.data = ksync.Machine.Get(frames * PageSize)
	}
	for i := range p.folios {
		f := &p.folios[i]
		f.Flags.InitRank(ksync.RankFolioLock)
		f.pfn = uint32(i)
		f.pool = p
		if withData {
			f.data = p.data[i*PageSize : (i+1)*PageSize : (i+1)*PageSize]
		}
		// Lowest frame numbers are handed out first.
		p.freeList[frames-1-i] = uint32(i)
	}
	p.nrFree.Init(int64(frames))
	return p, nil
}

// Release gives the frames' memory back for the next machine
// (ksync.Machine), once nothing will run on this one again: an explorer
// calls it after a schedule that passed. Any use of a frame's data after
// it panics.
func (p *Pool) Release(t *ksync.Task) {
	if p.data == nil {
		return
	}
	p.lock.Lock(t)
	used := p.used
	p.lock.Unlock(t)
	for i := range p.folios {
		p.folios[i].data = nil
	}
	ksync.Machine.Put(p.data, used*PageSize)
	p.data = nil
}

// Frames is the pool's size.
func (p *Pool) Frames() int { return len(p.folios) }

// Folio returns the folio of frame pfn (pfn_folio).
func (p *Pool) Folio(pfn int) *Folio { return &p.folios[pfn] }

// NrFree is the number of free frames.
func (p *Pool) NrFree(t *ksync.Task) int64 { return p.nrFree.Load(t) }

// Alloc is folio_alloc(): a frame with refcount 1 and no flags, or nil
// when the pool is empty. The frame's contents are whatever they were.
func (p *Pool) Alloc(t *ksync.Task) *Folio {
	p.lock.Lock(t)
	n := len(p.freeList)
	if n == 0 {
		p.lock.Unlock(t)
		return nil
	}
	pfn := p.freeList[n-1]
	p.freeList = p.freeList[:n-1]
	p.used = max(p.used, int(pfn)+1)
	p.nrFree.Add(t, -1)
	p.lock.Unlock(t)
	f := &p.folios[pfn]
	f.Flags.Init(0)
	f.swap = 0
	f.Mapping, f.Index, f.MemcgID = nil, 0, 0
	f.LRUPrev, f.LRUNext = -1, -1
	f.mapcount.Init(0)
	f.refcount.Init(1)
	return f
}

// free returns a folio whose refcount reached zero to the free list.
func (p *Pool) free(t *ksync.Task, f *Folio) {
	if p.owner != nil {
		p.owner.FolioReleased(t, f)
	}
	f.Mapping, f.Index, f.MemcgID = nil, 0, 0
	if fl := f.Flags.Load(t); fl&(1<<PGLocked|1<<PGSwapCache|1<<PGLRU|1<<PGWriteback) != 0 {
		panic(fmt.Sprintf("mem: freeing %v with flags %s", f, FlagString(fl)))
	}
	if m := f.mapcount.Load(t); m != 0 {
		panic(fmt.Sprintf("mem: freeing %v still mapped %d times", f, m))
	}
	p.lock.Lock(t)
	p.freeList = append(p.freeList, f.pfn)
	p.nrFree.Add(t, 1)
	p.lock.Unlock(t)
}
