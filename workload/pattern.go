// Package workload holds the content and access patterns of the project's
// benchmark, the same work as /work/shared/bench/usemem.c, so that an
// engine run and the kernel baseline touch identical pages.
//
// It owns no shared state and takes no locks.
package workload

import (
	"encoding/binary"
	"fmt"
)

// PageSize is the size of a benchmark page.
const PageSize = 4096

// Pattern is the content written into every page (usemem's -P).
type Pattern uint8

const (
	// Mixed is the default: a 16-token vocabulary of 16-byte tokens drawn
	// 256 times; lz4 packs it to about 950 bytes.
	Mixed Pattern = iota
	// Zero is a page of zero bytes (but for the index in the first word).
	Zero
	// Random is 512 splitmix64 words: incompressible.
	Random
)

var patternNames = [...]string{Mixed: "mixed", Zero: "zero", Random: "random"}

func (p Pattern) String() string {
	if int(p) < len(patternNames) {
		return patternNames[p]
	}
	return fmt.Sprintf("Pattern(%d)", uint8(p))
}

// ParsePattern parses "mixed", "zero" or "random".
func ParsePattern(s string) (Pattern, error) {
	for i, n := range patternNames {
		if n == s {
			return Pattern(i), nil
		}
	}
	return 0, fmt.Errorf("workload: unknown page pattern %q (want mixed, zero or random)", s)
}

// SplitMix64 is usemem.c's splitmix64(): it advances *s and returns the
// next value of the sequence.
func SplitMix64(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// FillPage writes page index's content in pattern into dst, which must be
// PageSize bytes: usemem.c's fill_page(). In every pattern the first 8
// bytes are the index, little-endian.
func FillPage(dst []byte, index uint64, pattern Pattern) {
	if len(dst) != PageSize {
		panic(fmt.Sprintf("workload: FillPage into %d bytes, want %d", len(dst), PageSize))
	}
	s := index
	switch pattern {
	case Zero:
		clear(dst)
	case Random:
		for i := 0; i < PageSize; i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], SplitMix64(&s))
		}
	default:
		var vocab [16][16]byte
		for t := range vocab {
			binary.LittleEndian.PutUint64(vocab[t][0:], SplitMix64(&s))
			binary.LittleEndian.PutUint64(vocab[t][8:], SplitMix64(&s))
		}
		for i := 0; i < PageSize; i += 16 {
			copy(dst[i:i+16], vocab[SplitMix64(&s)&15][:])
		}
	}
	binary.LittleEndian.PutUint64(dst[0:], index)
}
