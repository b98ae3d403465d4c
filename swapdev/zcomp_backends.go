package swapdev

import (
	"fmt"
	"runtime/debug"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minlz"
	"github.com/pierrec/lz4/v4"

	"uswap/ksync"
)

// The pure-Go backends. Each context keeps its state between pages and
// allocates nothing per page (the output buffer is the stream's).

// otherBackends are the backends besides lz4.
var otherBackends = []*zcompOps{
	{name: "zstd", impl: modImpl("github.com/klauspost/compress"), createCtx: func() (zcompCtx, error) {
		return newZstdCtx("zstd", zstd.SpeedDefault)
	}},
	{name: "zstd-fast", impl: modImpl("github.com/klauspost/compress"), createCtx: func() (zcompCtx, error) {
		return newZstdCtx("zstd-fast", zstd.SpeedFastest)
	}},
	{name: "s2", impl: modImpl("github.com/klauspost/compress"), createCtx: func() (zcompCtx, error) { return s2Ctx, nil }},
	{name: "snappy", impl: modImpl("github.com/golang/snappy"), createCtx: func() (zcompCtx, error) { return snappyCtx, nil }},
	{name: "minlz", impl: modImpl("github.com/minio/minlz"), createCtx: func() (zcompCtx, error) { return minlzCtx, nil }},
}

// modImpl is a module's path and version as the binary records them
// (debug.ReadBuildInfo; tests record none: the path alone).
func modImpl(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				return m.Path + " " + m.Version
			}
		}
	}
	return path
}

// lz4GoCtx is backend_lz4.c with github.com/pierrec/lz4/v4: its block
// format is the kernel's LZ4_compress_default/LZ4_decompress_safe's.
// Its hash table (lz4.Compressor, which CompressBlock resets at every
// call, so which one a page gets does not change its output) comes from
// a process-wide pool for one page: the explorer's machines, one per
// schedule, would otherwise each allocate one per CPU.
type lz4GoCtx struct{}

var lz4Compressors = ksync.Pool[lz4.Compressor]{New: func() *lz4.Compressor { return new(lz4.Compressor) }}

func newLZ4GoCtx() (zcompCtx, error) { return lz4GoCtx{}, nil }

func (lz4GoCtx) compress(src, dst []byte) ([]byte, error) {
	c := lz4Compressors.Get()
	n, err := c.CompressBlock(src, dst)
	lz4Compressors.Put(c)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("lz4: incompressible page did not fit %d bytes", len(dst))
	}
	return dst[:n], nil
}

func (lz4GoCtx) decompress(src, dst []byte) error {
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return err
	}
	return checkDecompressed("lz4", n)
}

func (lz4GoCtx) destroy() {}

// zstdCtx is backend_zstd.c: one goroutine-free encoder and decoder. zram
// runs zstd at its default level 3 (ZSTD_CLEVEL_DEFAULT); "zstd-fast" is
// klauspost's fastest level (about zstd's level 1), what zram's
// algorithm_params level=1 asks of the kernel's zstd.
type zstdCtx struct {
	name string
	enc  *zstd.Encoder
	dec  *zstd.Decoder
}

func newZstdCtx(name string, level zstd.EncoderLevel) (zcompCtx, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(level),
		zstd.WithEncoderCRC(false), zstd.WithWindowSize(zstd.MinWindowSize), zstd.WithSingleSegment(true))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(PageSize))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &zstdCtx{name: name, enc: enc, dec: dec}, nil
}

func (c *zstdCtx) compress(src, dst []byte) ([]byte, error) {
	// dst has room for any page's frame, so EncodeAll appends in place.
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *zstdCtx) decompress(src, dst []byte) error {
	out, err := c.dec.DecodeAll(src, dst[:0:PageSize])
	if err != nil {
		return err
	}
	return checkDecompressed(c.name, len(out))
}

func (c *zstdCtx) destroy() {
	c.enc.Close()
	c.dec.Close()
}

// blockCtx is a backend whose block format needs no state between pages:
// encode and decode are the library's block functions.
type blockCtx struct {
	name   string
	encode func(dst, src []byte) ([]byte, error)
	decode func(dst, src []byte) ([]byte, error)
}

func (c blockCtx) compress(src, dst []byte) ([]byte, error) { return c.encode(dst, src) }

func (c blockCtx) decompress(src, dst []byte) error {
	out, err := c.decode(dst, src)
	if err != nil {
		return err
	}
	return checkDecompressed(c.name, len(out))
}

func (blockCtx) destroy() {}

// s2Ctx is klauspost's S2 block format (Snappy's, extended) at its
// default speed.
var s2Ctx = blockCtx{name: "s2", decode: s2.Decode,
	encode: func(dst, src []byte) ([]byte, error) { return s2.Encode(dst, src), nil }}

// snappyCtx is the Snappy block format with github.com/golang/snappy.
var snappyCtx = blockCtx{name: "snappy", decode: snappy.Decode,
	encode: func(dst, src []byte) ([]byte, error) { return snappy.Encode(dst, src), nil }}

// minlzCtx is MinLZ's block format at its fastest level.
var minlzCtx = blockCtx{name: "minlz", decode: minlz.Decode,
	encode: func(dst, src []byte) ([]byte, error) { return minlz.Encode(dst, src, minlz.LevelFastest) }}
