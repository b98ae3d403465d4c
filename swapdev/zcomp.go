package swapdev

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"uswap/ksync"
)

// zcompStrm is struct zcomp_strm: one CPU's compression context and
// buffer. A task uses the stream of its CPU (t.CPU()), or an idle one (see
// streamGet), and holds mu while it compresses into buf and copies buf
// out, or while it decompresses. The backend state is made on the
// stream's first use: a device that only ever stores same-filled pages
// (the explorer's scenarios) never pays for a zstd encoder per CPU.
// lz4's state, a 136 KiB hash table that the compressor clears at every
// call, comes from a process-wide pool for the duration of one page.
type zcompStrm struct {
	mu ksync.Mutex

	// Guarded by mu; nil until the first use.
	buf  []byte        // compression output, CompressBlockBound(PageSize) bytes
	zenc *zstd.Encoder // zstd backend, nil for lz4
	zdec *zstd.Decoder // zstd backend, nil for lz4
}

// lz4Compressors are lz4's hash tables: CompressBlock resets the table it
// is given, so which one a page gets does not change its output.
var lz4Compressors = ksync.Pool[lz4.Compressor]{New: func() *lz4.Compressor { return new(lz4.Compressor) }}

// zcomp is struct zcomp: a backend and its per-CPU streams.
type zcomp struct {
	name    string       // immutable: "lz4" or "zstd"
	streams []*zcompStrm // immutable slice, one per ksync.NumCPU plus a spare
}

// Compressors lists the backends NewRAM accepts, as
// /sys/block/zram0/comp_algorithm does.
var Compressors = []string{"lz4", "zstd"}

// newZcomp is zcomp_create(). zstd runs at its default level 3, as zram's
// zstd backend does (ZSTD_CLEVEL_DEFAULT), with one goroutine-free
// encoder/decoder per CPU, made when the stream is first used.
func newZcomp(name string) (*zcomp, error) {
	if name == "" {
		name = "lz4"
	}
	if name != "lz4" && name != "zstd" {
		return nil, fmt.Errorf("%w: unknown compressor %q (want lz4 or zstd)", ErrInvalid, name)
	}
	z := &zcomp{name: name, streams: make([]*zcompStrm, ksync.NumCPU+1)}
	for i := range z.streams {
		z.streams[i] = &zcompStrm{}
	}
	return z, nil
}

// readyLocked makes the stream's backend state on its first use.
// Context: s.mu held.
func (z *zcomp) readyLocked(s *zcompStrm) error {
	if s.buf != nil {
		return nil
	}
	if z.name == "zstd" {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderCRC(false), zstd.WithWindowSize(zstd.MinWindowSize), zstd.WithSingleSegment(true))
		if err != nil {
			return fmt.Errorf("zstd encoder: %w", err)
		}
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true),
			zstd.WithDecoderMaxMemory(PageSize))
		if err != nil {
			enc.Close()
			return fmt.Errorf("zstd decoder: %w", err)
		}
		s.zenc, s.zdec = enc, dec
	}
	s.buf = make([]byte, lz4.CompressBlockBound(PageSize))
	return nil
}

// streamGet is zcomp_stream_get(): it locks and returns t's CPU stream,
// or, when another task holds that one, the first idle stream after it
// (the spare first for the last CPU).
//
// Differences from the kernel: a task here keeps its CPU slot for life,
// so two tasks on one slot (a faulting task and the background reclaimer,
// when there are more tasks than CPUs) would take turns at one stream for
// every page while the other streams sit idle; the kernel's task would
// run on another CPU and take that CPU's stream. The search stands for
// that migration, as the idle-stream list of the old multi-stream zcomp
// (max_comp_streams) did. Only when every stream is busy does the task
// sleep on its own.
func (z *zcomp) streamGet(t *ksync.Task) *zcompStrm {
	own := t.CPU() % len(z.streams)
	for i := range z.streams {
		if s := z.streams[(own+i)%len(z.streams)]; s.mu.TryLock(t) {
			return s
		}
	}
	s := z.streams[own]
	s.mu.Lock(t)
	return s
}

// streamPut is zcomp_stream_put().
func (z *zcomp) streamPut(t *ksync.Task, s *zcompStrm) { s.mu.Unlock(t) }

// compressLocked is zcomp_compress(): it compresses a page into s.buf and
// returns the compressed bytes (a prefix of s.buf). Context: s.mu held.
func (z *zcomp) compressLocked(s *zcompStrm, src []byte) ([]byte, error) {
	if err := z.readyLocked(s); err != nil {
		return nil, err
	}
	if s.zenc != nil {
		// buf has room for any page's frame, so EncodeAll appends in place.
		return s.zenc.EncodeAll(src, s.buf[:0]), nil
	}
	c := lz4Compressors.Get()
	n, err := c.CompressBlock(src, s.buf)
	lz4Compressors.Put(c)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("lz4: incompressible page did not fit %d bytes", len(s.buf))
	}
	return s.buf[:n], nil
}

// decompressLocked is zcomp_decompress(): src into dst, which must come
// out exactly PageSize bytes. Context: s.mu held.
func (z *zcomp) decompressLocked(s *zcompStrm, src, dst []byte) error {
	if err := z.readyLocked(s); err != nil {
		return err
	}
	if s.zdec != nil {
		out, err := s.zdec.DecodeAll(src, dst[:0:PageSize])
		if err != nil {
			return err
		}
		if len(out) != PageSize {
			return fmt.Errorf("zstd: decompressed to %d bytes, want %d", len(out), PageSize)
		}
		return nil
	}
	n, err := lz4.UncompressBlock(src, dst[:PageSize])
	if err != nil {
		return err
	}
	if n != PageSize {
		return fmt.Errorf("lz4: decompressed to %d bytes, want %d", n, PageSize)
	}
	return nil
}

// close is zcomp_destroy().
func (z *zcomp) close(t *ksync.Task) {
	for _, s := range z.streams {
		s.mu.Lock(t)
		if s.zenc != nil {
			s.zenc.Close()
			s.zdec.Close()
			s.zenc, s.zdec = nil, nil
		}
		s.buf = nil
		s.mu.Unlock(t)
	}
}
