package ksync

import "sync"

// Arenas is a free list of zeroed byte slices by length: the memory of
// machines that are thrown away and built again many times a second (an
// explorer builds one per schedule, and the frames and the zram pool's
// chunks were most of what it allocated, and so most of the garbage
// collector's work). Get returns a zeroed slice of exactly the length
// asked; Put gives one back with the number of leading bytes its owner
// may have written, which it clears, so that a machine built from
// reused memory starts exactly as one built from new memory: no run can
// observe where its memory came from. Neither is a scheduling point. It
// keeps at most arenaKeep slices of each length and arenaMax bytes in
// all; past that, Put drops the slice to the garbage collector.
type Arenas struct {
	mu    sync.Mutex
	free  map[int][][]byte // guarded by mu: slices by length, each zeroed
	bytes int              // guarded by mu: the sum of the kept slices' lengths
}

const (
	arenaKeep = 64       // slices kept per length: a few per worker
	arenaMax  = 64 << 20 // bytes kept in all
)

// Machine is the process's free list of machine memory.
var Machine Arenas

// Get returns a zeroed slice of n bytes: a kept one, or a new one.
func (a *Arenas) Get(n int) []byte {
	a.mu.Lock()
	if l := a.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		a.free[n] = l[:len(l)-1]
		a.bytes -= n
		a.mu.Unlock()
		return b
	}
	a.mu.Unlock()
	return make([]byte, n)
}

// Put gives b back; its owner wrote at most its first dirty bytes (pass
// len(b) when unsure). Nobody may use b after.
func (a *Arenas) Put(b []byte, dirty int) {
	n := len(b)
	if n == 0 || cap(b) != n {
		return // a sub-slice of something larger is not the owner's to give
	}
	a.mu.Lock()
	keep := len(a.free[n]) < arenaKeep && a.bytes+n <= arenaMax
	if keep {
		a.bytes += n // reserved now, so that concurrent Puts stay in bounds
	}
	a.mu.Unlock()
	if !keep {
		return
	}
	clear(b[:min(max(dirty, 0), n)])
	a.mu.Lock()
	if a.free == nil {
		a.free = map[int][][]byte{}
	}
	a.free[n] = append(a.free[n], b)
	a.mu.Unlock()
}
