//go:build !(liblz4 && cgo)

package swapdev

// lz4Backend is github.com/pierrec/lz4/v4 in the default (pure Go) build;
// with -tags liblz4 (and cgo) it is the reference C library
// (zcomp_liblz4.go).
var lz4Backend = &zcompOps{name: "lz4", impl: modImpl("github.com/pierrec/lz4/v4"), createCtx: newLZ4GoCtx}
