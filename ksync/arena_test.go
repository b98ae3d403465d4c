package ksync

import (
	"bytes"
	"testing"
)

// A slice given back dirty comes back zeroed, and only slices of the
// length asked are handed out.
func TestArenasReuseZeroed(t *testing.T) {
	var a Arenas
	b := a.Get(4096)
	if len(b) != 4096 || !bytes.Equal(b, make([]byte, 4096)) {
		t.Fatalf("a new slice: length %d, zeroed %v", len(b), bytes.Equal(b, make([]byte, 4096)))
	}
	for i := range b {
		b[i] = 0xa5
	}
	a.Put(b, len(b))
	c := a.Get(4096)
	if &c[0] != &b[0] {
		t.Fatalf("the slice given back was not reused")
	}
	if !bytes.Equal(c, make([]byte, 4096)) {
		t.Fatalf("a reused slice is not zeroed")
	}
	if d := a.Get(8192); len(d) != 8192 || &d[0] == &c[0] {
		t.Fatalf("a slice of another length: got length %d", len(d))
	}
}

// Put clears the dirty prefix it is told of; a sub-slice of a larger
// slice is not kept (it is not its owner's to give), nor more than
// arenaKeep slices of one length.
func TestArenasPutBounds(t *testing.T) {
	var a Arenas
	big := make([]byte, 8192)
	a.Put(big[:4096], 4096)
	if n := len(a.free[4096]); n != 0 {
		t.Fatalf("a sub-slice was kept (%d kept)", n)
	}
	for range arenaKeep + 5 {
		a.Put(make([]byte, 64), 64)
	}
	if n := len(a.free[64]); n != arenaKeep {
		t.Fatalf("kept %d slices of one length, want the bound %d", n, arenaKeep)
	}
	if a.bytes != arenaKeep*64 {
		t.Fatalf("bytes kept %d, want %d", a.bytes, arenaKeep*64)
	}
	b := a.Get(64)
	b[0], b[63] = 1, 1
	a.Put(b, 1) // the owner says it wrote only the first byte
	if c := a.Get(64); c[0] != 0 || c[63] != 1 {
		t.Fatalf("Put cleared %v of the dirty prefix and %v past it", c[0] == 0, c[63] == 0)
	}
}
