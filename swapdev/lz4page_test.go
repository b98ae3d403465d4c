package swapdev

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/pierrec/lz4/v4"
)

func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// mixedPage is the bench's "mixed" page i: 16 tokens of 16 bytes, 256
// slots copying them.
func mixedPage(i uint64) []byte {
	p := make([]byte, PageSize)
	s := i
	var vocab [16][16]byte
	for k := range vocab {
		binary.LittleEndian.PutUint64(vocab[k][:], splitmix(&s))
		binary.LittleEndian.PutUint64(vocab[k][8:], splitmix(&s))
	}
	for k := 0; k < 256; k++ {
		copy(p[16*k:], vocab[splitmix(&s)&15][:])
	}
	binary.LittleEndian.PutUint64(p, i)
	return p
}

func lz4PageInputs() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var in [][]byte
	for i := range uint64(64) {
		in = append(in, mixedPage(i))
	}
	rnd := make([]byte, PageSize)
	for i := range rnd {
		rnd[i] = byte(rng.Uint32())
	}
	in = append(in, rnd, make([]byte, PageSize), bytes.Repeat([]byte("abcdefg"), 700)[:PageSize])
	// Short and odd lengths, low-entropy alphabets, long runs.
	for n := range 300 {
		b := make([]byte, rng.IntN(PageSize+1))
		alpha := 1 + rng.IntN(1+n%8)
		for i := range b {
			b[i] = byte(rng.IntN(alpha))
		}
		in = append(in, b)
	}
	big := make([]byte, lz4MaxInput)
	for i := range big {
		big[i] = byte(rng.IntN(4))
	}
	return append(in, big, []byte{}, []byte{1}, make([]byte, 13), make([]byte, 14))
}

// TestLz4PageRoundTrip checks that every block the page compressor makes
// is a valid lz4 block that pierrec/lz4 decodes to the input, and that it
// compresses the bench's mixed pages as well as pierrec/lz4 does.
func TestLz4PageRoundTrip(t *testing.T) {
	var c lz4Page
	var ref lz4.Compressor
	for k, src := range lz4PageInputs() {
		dst := make([]byte, lz4PageBound(len(src)))
		n := c.compress(src, dst)
		out := make([]byte, len(src))
		m, err := lz4.UncompressBlock(dst[:n], out)
		if err != nil || m != len(src) || !bytes.Equal(out, src) {
			t.Fatalf("input %d (%d bytes): decoded %d bytes, err %v, equal %v", k, len(src), m, err, bytes.Equal(out[:m], src))
		}
		if k < 64 {
			rb := make([]byte, lz4.CompressBlockBound(len(src)))
			rn, _ := ref.CompressBlock(src, rb)
			if n > rn+rn/10 {
				t.Errorf("mixed page %d: %d bytes, pierrec/lz4 %d", k, n, rn)
			}
		}
	}
}

func FuzzLz4Page(f *testing.F) {
	f.Add([]byte("hello hello hello hello hello"))
	f.Add(mixedPage(7))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > lz4MaxInput {
			return
		}
		var c lz4Page
		dst := make([]byte, lz4PageBound(len(src)))
		n := c.compress(src, dst)
		out := make([]byte, len(src))
		m, err := lz4.UncompressBlock(dst[:n], out)
		if len(src) > 0 && (err != nil || m != len(src) || !bytes.Equal(out, src)) {
			t.Fatalf("round trip of %d bytes: %d, %v", len(src), m, err)
		}
	})
}

func BenchmarkLz4PageCompress(b *testing.B) {
	src := mixedPage(3)
	var c lz4Page
	dst := make([]byte, lz4PageBound(PageSize))
	b.SetBytes(PageSize)
	for b.Loop() {
		c.compress(src, dst)
	}
}

func BenchmarkPierrecCompress(b *testing.B) {
	src := mixedPage(3)
	var c lz4.Compressor
	dst := make([]byte, lz4.CompressBlockBound(PageSize))
	b.SetBytes(PageSize)
	for b.Loop() {
		c.CompressBlock(src, dst)
	}
}
