package swapdev

import (
	"fmt"
	"slices"
	"strings"

	"uswap/ksync"
)

// zcompCtx is struct zcomp_ctx: one stream's backend state (a hash
// table, an encoder), used by one task at a time under the stream's lock.
type zcompCtx interface {
	// compress compresses a page into dst (at least compBound bytes) and
	// returns the compressed bytes, a prefix of dst.
	compress(src, dst []byte) ([]byte, error)
	// decompress decompresses src into dst, which must come out exactly
	// PageSize bytes.
	decompress(src, dst []byte) error
	// destroy is destroy_ctx(): it releases what the context holds.
	destroy()
}

// zcompOps is struct zcomp_ops, one backend (the kernel's backend_lz4.c,
// backend_zstd.c, ...): its name as comp_algorithm shows it, the library
// that implements it, and create_ctx().
type zcompOps struct {
	name string
	// impl names the implementation: the Go module (with its version
	// as go.mod records it) or the C library.
	impl      string
	createCtx func() (zcompCtx, error)
}

// compBound is the output buffer of a stream: room for any backend's
// worst case on a page (incompressible data grows a little), which
// compressLocked's callers never keep (a page that does not shrink below
// hugeClassSize is stored raw).
const compBound = 2 * PageSize

// backends are the compressors of the RAM device, by name: lz4 (whose
// implementation the build chooses: lz4Backend) and the others of
// zcomp_backends.go.
var backends = func() map[string]*zcompOps {
	m := map[string]*zcompOps{lz4Backend.name: lz4Backend}
	for _, ops := range otherBackends {
		m[ops.name] = ops
	}
	return m
}()

// Compressors lists the backends NewRAM accepts, as
// /sys/block/zram0/comp_algorithm does: lz4 first (the default), then
// the others by name.
var Compressors = func() []string {
	var names []string
	for name := range backends {
		if name != "lz4" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return append([]string{"lz4"}, names...)
}()

// CompressorImpl is the implementation behind a compressor name (a Go
// module and its version, or a C library), "" for an unknown name.
func CompressorImpl(name string) string {
	if ops := backends[name]; ops != nil {
		return ops.impl
	}
	return ""
}

// zcompStrm is struct zcomp_strm: one CPU's compression context and
// buffer. A task uses the stream of its CPU (t.CPU()), or an idle one (see
// streamGet), and holds mu while it compresses into buf and copies buf
// out, or while it decompresses. The backend state and buf are made on
// the stream's first use: the explorer builds a machine per schedule, and
// a device that only ever stores same-filled pages (its scenarios) never
// pays for a zstd encoder per CPU.
type zcompStrm struct {
	mu ksync.Mutex

	// Guarded by mu; nil until the first use.
	buf []byte   // compression output, compBound bytes
	ctx zcompCtx // the backend's state
}

// zcomp is struct zcomp: a backend and its per-CPU streams.
type zcomp struct {
	ops     *zcompOps    // immutable
	name    string       // immutable: ops.name
	streams []*zcompStrm // immutable slice, one per ksync.NumCPU plus a spare
}

// newZcomp is zcomp_create(): the backend called name ("" is lz4) with
// one stream per CPU and a spare.
func newZcomp(name string) (*zcomp, error) {
	if name == "" {
		name = "lz4"
	}
	ops := backends[name]
	if ops == nil {
		return nil, fmt.Errorf("%w: unknown compressor %q (want one of %s)", ErrInvalid, name, strings.Join(Compressors, ", "))
	}
	z := &zcomp{ops: ops, name: name, streams: make([]*zcompStrm, ksync.NumCPU+1)}
	for i := range z.streams {
		z.streams[i] = &zcompStrm{}
		z.streams[i].mu.Init(ksync.RankZcompStream)
	}
	return z, nil
}

// readyLocked makes s's buffer and backend state on its first use.
// Context: s.mu held.
func (z *zcomp) readyLocked(s *zcompStrm) error {
	if s.ctx != nil {
		return nil
	}
	ctx, err := z.ops.createCtx()
	if err != nil {
		return fmt.Errorf("%s: %w", z.name, err)
	}
	s.buf, s.ctx = make([]byte, compBound), ctx
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
func (z *zcomp) compressLocked(t *ksync.Task, s *zcompStrm, src []byte) ([]byte, error) {
	s.mu.AssertHeld(t)
	if err := z.readyLocked(s); err != nil {
		return nil, err
	}
	return s.ctx.compress(src, s.buf)
}

// decompressLocked is zcomp_decompress(): src into dst, which must come
// out exactly PageSize bytes. Context: s.mu held.
func (z *zcomp) decompressLocked(t *ksync.Task, s *zcompStrm, src, dst []byte) error {
	s.mu.AssertHeld(t)
	if err := z.readyLocked(s); err != nil {
		return err
	}
	return s.ctx.decompress(src, dst[:PageSize])
}

// close is zcomp_destroy().
func (z *zcomp) close(t *ksync.Task) {
	for _, s := range z.streams {
		s.mu.Lock(t)
		if s.ctx != nil {
			s.ctx.destroy()
			s.ctx = nil
		}
		s.buf = nil
		s.mu.Unlock(t)
	}
}

// checkDecompressed is the backends' common check that a page came out
// whole.
func checkDecompressed(name string, n int) error {
	if n != PageSize {
		return fmt.Errorf("%s: decompressed to %d bytes, want %d", name, n, PageSize)
	}
	return nil
}

// Codec is one stream of a backend outside any device, for measuring the
// compressor's own cost on pages (bench) with the very code the RAM
// device runs. It is not safe for concurrent use.
type Codec struct {
	ops *zcompOps
	ctx zcompCtx
	buf []byte
}

// NewCodec is a stream of the backend called name ("" is lz4).
func NewCodec(name string) (*Codec, error) {
	z, err := newZcomp(name)
	if err != nil {
		return nil, err
	}
	// One stream is enough; the others were never made ready.
	s := z.streams[0]
	if err := z.readyLocked(s); err != nil {
		return nil, err
	}
	return &Codec{ops: z.ops, ctx: s.ctx, buf: s.buf}, nil
}

// Name is the compressor's name, Impl its implementation.
func (c *Codec) Name() string { return c.ops.name }

// Impl is the implementation behind the name (CompressorImpl).
func (c *Codec) Impl() string { return c.ops.impl }

// Compress compresses a page; the result is valid until the next call.
func (c *Codec) Compress(page []byte) ([]byte, error) {
	if len(page) != PageSize {
		return nil, fmt.Errorf("%w: a page of %d bytes", ErrInvalid, len(page))
	}
	return c.ctx.compress(page, c.buf)
}

// Decompress decompresses src into dst (PageSize bytes).
func (c *Codec) Decompress(src, dst []byte) error {
	if len(dst) < PageSize {
		return fmt.Errorf("%w: a buffer of %d bytes", ErrInvalid, len(dst))
	}
	return c.ctx.decompress(src, dst[:PageSize])
}

// Close releases the stream.
func (c *Codec) Close() {
	if c.ctx != nil {
		c.ctx.destroy()
		c.ctx = nil
	}
}
