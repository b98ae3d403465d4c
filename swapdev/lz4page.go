package swapdev

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// This file is an lz4 block compressor for inputs of at most 64 KiB, a
// port of the kernel's LZ4_compress_fast() as zram calls it on one page
// (lib/lz4/lz4_compress.c, LZ4_compress_generic with tableType byU16,
// acceleration 1). Its output is the standard lz4 block format, which
// lz4.UncompressBlock (and any lz4 decoder) reads back.
//
// Why not pierrec/lz4's Compressor: its hash table has 2^16 entries
// (128 KiB, plus a bitmap), sized for 4 MiB blocks; for a 4 KiB page the
// table does not stay in the L1 cache and its lookups dominate. The
// kernel's table for inputs under 64 KiB is 2^13 16-bit positions
// (16 KiB), and so is this one. Same algorithm, same format, same
// compression ratio class; only the table fits the input.

const (
	lz4HashLog      = 13 // LZ4_HASHLOG + 1: the byU16 table of the kernel
	lz4MinMatch     = 4  // MINMATCH
	lz4MFLimit      = 12 // MFLIMIT: the last match starts this far from the end
	lz4LastLiterals = 5  // LASTLITERALS: the block ends with literals
	lz4MinLength    = lz4MFLimit + 1
	lz4SkipTrigger  = 6 // LZ4_SKIPTRIGGER
	lz4MaxInput     = 1 << 16
)

// lz4Page is a compression state: the hash table of positions.
type lz4Page struct {
	table [1 << lz4HashLog]uint16
}

func lz4Hash(v uint32) uint32 { return (v * 2654435761) >> (32 - lz4HashLog) }

// load32 reads 4 bytes at i in the machine's order: only compared and
// hashed, so the order does not matter. The callers keep i+4 <= len(b)
// (positions stop MFLIMIT bytes before the end); no bounds check.
func load32(b []byte, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

func load64(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// littleEndian: matchLen counts equal bytes from the low end of a word.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// lz4PageBound is LZ4_compressBound().
func lz4PageBound(n int) int { return n + n/255 + 16 }

// compress writes src as one lz4 block into dst and returns its length.
// dst must hold lz4PageBound(len(src)) bytes and src at most 64 KiB
// (it panics otherwise: a bug of the caller).
func (c *lz4Page) compress(src, dst []byte) int {
	if len(src) > lz4MaxInput || len(dst) < lz4PageBound(len(src)) {
		panic("swapdev: lz4Page.compress: input too large or output too small")
	}
	n := len(src)
	op := 0
	anchor := 0
	if n >= lz4MinLength {
		clear(c.table[:])
		mflimit := n - lz4MFLimit
		matchlimit := n - lz4LastLiterals
		ip := 0
		c.table[lz4Hash(load32(src, 0))] = 0
		ip++
		forwardH := lz4Hash(load32(src, ip))
	mainLoop:
		for {
			// Find a match, skipping faster the longer none is found.
			var match int
			forwardIP := ip
			step := 1
			searchMatchNb := 1 << lz4SkipTrigger
			for {
				h := forwardH
				ip = forwardIP
				forwardIP += step
				step = searchMatchNb >> lz4SkipTrigger
				searchMatchNb++
				if forwardIP > mflimit {
					break mainLoop
				}
				match = int(c.table[h])
				forwardH = lz4Hash(load32(src, forwardIP))
				c.table[h] = uint16(ip)
				if load32(src, match) == load32(src, ip) && match < ip {
					break
				}
			}
			// Catch up backwards.
			for ip > anchor && match > 0 && src[ip-1] == src[match-1] {
				ip--
				match--
			}
			// The literals.
			litLen := ip - anchor
			token := op
			op++
			if litLen >= 15 {
				dst[token] = 15 << 4
				op = putLen(dst, op, litLen-15)
			} else {
				dst[token] = byte(litLen << 4)
			}
			op += copy(dst[op:], src[anchor:ip])
			for {
				// The offset and the match length.
				binary.LittleEndian.PutUint16(dst[op:], uint16(ip-match))
				op += 2
				ip += lz4MinMatch
				ml := matchLen(src, ip, match+lz4MinMatch, matchlimit)
				ip += ml
				if ml >= 15 {
					dst[token] += 15
					op = putLen(dst, op, ml-15)
				} else {
					dst[token] += byte(ml)
				}
				anchor = ip
				if ip > mflimit {
					break mainLoop
				}
				c.table[lz4Hash(load32(src, ip-2))] = uint16(ip - 2)
				// Is the next position a match at once?
				h := lz4Hash(load32(src, ip))
				match = int(c.table[h])
				c.table[h] = uint16(ip)
				if match < ip && load32(src, match) == load32(src, ip) {
					token = op
					op++
					dst[token] = 0
					continue
				}
				break
			}
			ip++
			forwardH = lz4Hash(load32(src, ip))
		}
	}
	// The last literals.
	last := n - anchor
	if last >= 15 {
		dst[op] = 15 << 4
		op = putLen(dst, op+1, last-15)
	} else {
		dst[op] = byte(last << 4)
		op++
	}
	op += copy(dst[op:], src[anchor:])
	return op
}

// putLen writes the 255-continued remainder of a length.
func putLen(dst []byte, op, l int) int {
	for l >= 255 {
		dst[op] = 255
		op++
		l -= 255
	}
	dst[op] = byte(l)
	return op + 1
}

// matchLen is LZ4_count(): how many bytes at ip equal those at match,
// stopping at limit.
func matchLen(src []byte, ip, match, limit int) int {
	start := ip
	for littleEndian && ip+8 <= limit {
		x := load64(src, ip) ^ load64(src, match)
		if x != 0 {
			return ip - start + bits.TrailingZeros64(x)>>3
		}
		ip += 8
		match += 8
	}
	for ip < limit && src[ip] == src[match] {
		ip++
		match++
	}
	return ip - start
}
