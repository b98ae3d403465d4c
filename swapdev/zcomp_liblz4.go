//go:build liblz4 && cgo

package swapdev

// #cgo LDFLAGS: -llz4
// #include <stdlib.h>
// #include <lz4.h>
import "C"

import (
	"fmt"
	"unsafe"
)

// lz4Backend, built with -tags liblz4, is the reference C LZ4 library
// (Debian's liblz4-dev), the code the kernel's lib/lz4 follows:
// LZ4_compress_fast_extState at acceleration 1 (the kernel's
// LZ4_compress_default, as zram's backend_lz4.c calls it) with a state
// kept per stream, and LZ4_decompress_safe.
var lz4Backend = &zcompOps{
	name:      "lz4",
	impl:      fmt.Sprintf("liblz4 %s (cgo)", C.GoString(C.LZ4_versionString())),
	createCtx: newLZ4CCtx,
}

type lz4CCtx struct {
	state unsafe.Pointer // LZ4_sizeofState() bytes, C memory
}

func newLZ4CCtx() (zcompCtx, error) {
	st := C.malloc(C.size_t(C.LZ4_sizeofState()))
	if st == nil {
		return nil, fmt.Errorf("liblz4: no memory for a state")
	}
	return &lz4CCtx{state: st}, nil
}

func (c *lz4CCtx) compress(src, dst []byte) ([]byte, error) {
	n := C.LZ4_compress_fast_extState(c.state,
		(*C.char)(unsafe.Pointer(&src[0])), (*C.char)(unsafe.Pointer(&dst[0])),
		C.int(len(src)), C.int(len(dst)), 1)
	if n <= 0 {
		return nil, fmt.Errorf("lz4: incompressible page did not fit %d bytes", len(dst))
	}
	return dst[:n], nil
}

func (c *lz4CCtx) decompress(src, dst []byte) error {
	n := C.LZ4_decompress_safe((*C.char)(unsafe.Pointer(&src[0])), (*C.char)(unsafe.Pointer(&dst[0])),
		C.int(len(src)), C.int(len(dst)))
	if n < 0 {
		return fmt.Errorf("lz4: corrupt input (LZ4_decompress_safe %d)", int(n))
	}
	return checkDecompressed("lz4", int(n))
}

func (c *lz4CCtx) destroy() {
	C.free(c.state)
	c.state = nil
}
