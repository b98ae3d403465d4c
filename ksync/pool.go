package ksync

import "sync"

// Pool is a free list of scratch objects whose contents never matter
// between uses (a compressor's hash table, which it clears itself): Get
// returns a used object or a new one, Put gives it back. It is sync.Pool,
// typed. It is not a scheduling point and no run can observe it: an
// object is taken and given back within one operation, by one task, so
// that a pooled object is never shared. Explorer runs build a machine per
// schedule; what such a machine would allocate per CPU and throw away
// comes from here.
type Pool[T any] struct {
	p   sync.Pool
	New func() *T // makes an object when the pool is empty
}

// Get takes an object from the pool, or makes one.
func (p *Pool[T]) Get() *T {
	if v := p.p.Get(); v != nil {
		return v.(*T)
	}
	return p.New()
}

// Put gives an object back; nobody may use it after.
func (p *Pool[T]) Put(v *T) { p.p.Put(v) }
