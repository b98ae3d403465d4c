package swapdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Signature is one known format found in a file or on a device, named as
// blkid(8) names it (its TYPE), with the offset of its magic bytes.
// Probe stands for libblkid's superblock and partition-table probes,
// for the formats a swap file or a scratch device is likely to hold.
type Signature struct {
	// Type is blkid's name: "swap", "swsuspend", "ext2", "ext3", "ext4",
	// "jbd", "xfs", "btrfs", "vfat", "ntfs", "crypto_LUKS", "LVM2_member",
	// "iso9660", "squashfs", "gpt" or "dos" (a partition table).
	Type string
	// Offset and Len locate the magic bytes (what wipefs(8) erases).
	Offset int64
	Len    int
	// Label is the volume label, where the format has one and it is set.
	Label string
	// PageSize is the page size a swap or swsuspend signature was made
	// for: the magic sits at PageSize-10.
	PageSize int
	// MadeByUswap is set for a swap area whose header uswap's Mkswap
	// wrote (Header.MadeByUswap).
	MadeByUswap bool
}

func (s Signature) String() string {
	var what string
	switch s.Type {
	case "swap":
		what = "a swap area"
		if s.PageSize != PageSize {
			what += fmt.Sprintf(" made for %d KiB pages", s.PageSize>>10)
		}
		if s.MadeByUswap {
			what += " made by uswap"
		}
	case "swsuspend":
		what = "a hibernation image in a swap area"
	case "gpt", "dos":
		what = "a " + s.Type + " partition table"
	case "crypto_LUKS":
		what = "a LUKS encrypted volume"
	case "LVM2_member":
		what = "an LVM2 physical volume"
	case "jbd":
		what = "an ext3/ext4 external journal"
	default:
		what = "a " + s.Type + " filesystem"
		if strings.ContainsRune("aeiox", rune(s.Type[0])) {
			what = "an " + s.Type + " filesystem"
		}
	}
	if s.Label != "" {
		what += fmt.Sprintf(" (label %q)", s.Label)
	}
	return fmt.Sprintf("%s (magic at byte %d)", what, s.Offset)
}

// Content is what Probe found: the size, every signature, and whether
// the bytes it read were all zero.
type Content struct {
	Size       int64
	Signatures []Signature
	// Zero is set when no signature was found and every byte read (the
	// first ProbeBytes, or the whole of a smaller file) was zero.
	Zero bool
	// Read is how many bytes Probe read from the start.
	Read int64
}

// ProbeBytes is how much of the start Probe reads: enough for btrfs's
// superblock at 64 KiB and a swap header made for 64 KiB pages.
const ProbeBytes = 68 << 10

// Swap is the swap signature found, if any.
func (c Content) Swap() (Signature, bool) {
	for _, s := range c.Signatures {
		if s.Type == "swap" {
			return s, true
		}
	}
	return Signature{}, false
}

// Replaceable reports whether mkswap may overwrite this content without
// being forced: nothing (0 bytes) or a swap area and nothing else.
func (c Content) Replaceable() bool {
	if c.Size == 0 {
		return true
	}
	_, swap := c.Swap()
	return swap && len(c.Signatures) == 1
}

func (c Content) String() string {
	switch {
	case c.Size == 0:
		return "nothing (0 bytes)"
	case len(c.Signatures) > 0:
		s := make([]string, len(c.Signatures))
		for i, sig := range c.Signatures {
			s[i] = sig.String()
		}
		return strings.Join(s, ", ")
	case c.Zero:
		return fmt.Sprintf("no known signature, and its first %d bytes are zeros", c.Read)
	}
	return fmt.Sprintf("data with no known signature in its first %d bytes", c.Read)
}

// magic is one fixed-offset signature of the probe table.
type magic struct {
	typ   string
	off   int64
	bytes string
}

// magics are the fixed-offset signatures, from libblkid's probes. ext*,
// vfat and the partition tables need more than one look and are probed
// in code below.
var magics = []magic{
	{"xfs", 0, "XFSB"},
	{"btrfs", 64<<10 + 64, "_BHRfS_M"},
	{"crypto_LUKS", 0, "LUKS\xba\xbe"},
	{"crypto_LUKS", 0x4000, "SKUL\xba\xbe"}, // LUKS2's secondary header
	{"ntfs", 3, "NTFS    "},
	{"iso9660", 0x8001, "CD001"},
	{"squashfs", 0, "hsqs"},
	{"gpt", 512, "EFI PART"},
}

// swapPageSizes are the page sizes whose swap header util-linux's swapon
// looks for (it skips 32 KiB).
var swapPageSizes = []int{4 << 10, 8 << 10, 16 << 10, 64 << 10}

// Probe reads the start of r (a file or device of size bytes) and
// reports the known signatures in it, as blkid -p would.
func Probe(r io.ReaderAt, size int64) (Content, error) {
	c := Content{Size: size}
	if size <= 0 {
		return c, nil
	}
	buf := make([]byte, min(size, ProbeBytes))
	n, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("swapdev: probe: %w", err)
	}
	buf = buf[:n]
	c.Read = int64(n)
	at := func(off int64, s string) bool {
		return off+int64(len(s)) <= int64(len(buf)) && string(buf[off:off+int64(len(s))]) == s
	}
	for _, ps := range swapPageSizes {
		off := int64(ps - 10)
		switch {
		case at(off, swapMagic), at(off, swapMagicV0):
			sig := Signature{Type: "swap", Offset: off, Len: 10, PageSize: ps}
			if ps == PageSize {
				if h, err := ParseHeader(buf[:PageSize], 0); err == nil {
					sig.Label, sig.MadeByUswap = h.Label, h.MadeByUswap
				}
			}
			c.Signatures = append(c.Signatures, sig)
		case at(off, "S1SUSPEND"), at(off, "S2SUSPEND"), at(off, "ULSUSPEND"), at(off, "LINHIB0001"):
			c.Signatures = append(c.Signatures, Signature{Type: "swsuspend", Offset: off, Len: 10, PageSize: ps})
		}
		if len(c.Signatures) > 0 {
			break // swapon takes the first page size that matches
		}
	}
	if sig, ok := probeExt(buf); ok {
		c.Signatures = append(c.Signatures, sig)
	}
	for _, m := range magics {
		if at(m.off, m.bytes) {
			sig := Signature{Type: m.typ, Offset: m.off, Len: len(m.bytes)}
			if m.typ == "xfs" && len(buf) >= 120 {
				sig.Label = cString(buf[108:120])
			}
			c.Signatures = append(c.Signatures, sig)
		}
	}
	if at(536, "LVM2 001") && (at(512, "LABELONE") || at(0, "LABELONE")) {
		c.Signatures = append(c.Signatures, Signature{Type: "LVM2_member", Offset: 512, Len: 8})
	}
	if sig, ok := probeBootSector(buf); ok {
		c.Signatures = append(c.Signatures, sig)
	}
	c.Zero = len(c.Signatures) == 0 && bytes.Count(buf, []byte{0}) == len(buf)
	return c, nil
}

// The ext superblock (libblkid's ext.c): at byte 1024, magic 0xEF53 at
// 0x38, features at 0x5c (compat), 0x60 (incompat), 0x64 (ro_compat),
// the volume name at 0x78.
const (
	extSB              = 1024
	extHasJournal      = 0x4 // compat
	extJournalDev      = 0x8 // incompat
	ext2IncompatSupp   = 0x2 | 0x10
	ext3IncompatSupp   = 0x2 | 0x4 | 0x10
	ext23RoCompatSupp  = 0x1 | 0x2 | 0x4
	extMagicOff        = extSB + 0x38
	extVolumeNameOff   = extSB + 0x78
	extFeatureCompat   = extSB + 0x5c
	extFeatureIncompat = extSB + 0x60
	extFeatureRoCompat = extSB + 0x64
)

// probeExt tells jbd, ext2, ext3 and ext4 apart as libblkid does: an
// external journal has JOURNAL_DEV; without a journal and with only
// ext2's features it is ext2; with a journal and only ext3's it is ext3;
// anything else is ext4.
func probeExt(buf []byte) (Signature, bool) {
	if len(buf) < extSB+0x100 || binary.LittleEndian.Uint16(buf[extMagicOff:]) != 0xEF53 {
		return Signature{}, false
	}
	le := binary.LittleEndian
	fc, fi, frc := le.Uint32(buf[extFeatureCompat:]), le.Uint32(buf[extFeatureIncompat:]), le.Uint32(buf[extFeatureRoCompat:])
	typ := "ext4"
	switch {
	case fi&extJournalDev != 0:
		typ = "jbd"
	case fc&extHasJournal == 0 && fi&^ext2IncompatSupp == 0 && frc&^ext23RoCompatSupp == 0:
		typ = "ext2"
	case fc&extHasJournal != 0 && fi&^ext3IncompatSupp == 0 && frc&^ext23RoCompatSupp == 0:
		typ = "ext3"
	}
	return Signature{Type: typ, Offset: extMagicOff, Len: 2, Label: cString(buf[extVolumeNameOff : extVolumeNameOff+16])}, true
}

// probeBootSector finds a FAT boot sector (its type string at 0x36 for
// FAT12/16 or 0x52 for FAT32, and the 0x55AA boot signature), or else a
// DOS partition table (the boot signature alone, with no GPT).
func probeBootSector(buf []byte) (Signature, bool) {
	if len(buf) < 512 || buf[510] != 0x55 || buf[511] != 0xAA {
		return Signature{}, false
	}
	for _, m := range []magic{{"vfat", 0x36, "FAT12   "}, {"vfat", 0x36, "FAT16   "}, {"vfat", 0x36, "FAT     "}, {"vfat", 0x52, "FAT32   "}} {
		if string(buf[m.off:m.off+int64(len(m.bytes))]) == m.bytes {
			label := cString(buf[0x2b : 0x2b+11])
			if m.off == 0x52 {
				label = cString(buf[0x47 : 0x47+11])
			}
			if strings.TrimSpace(label) == "NO NAME" {
				label = ""
			}
			return Signature{Type: "vfat", Offset: m.off, Len: len(m.bytes), Label: strings.TrimSpace(label)}, true
		}
	}
	if len(buf) >= 520 && string(buf[512:520]) == "EFI PART" {
		return Signature{}, false // the gpt magic already names it
	}
	if string(buf[3:11]) == "NTFS    " {
		return Signature{}, false
	}
	return Signature{Type: "dos", Offset: 510, Len: 2}, true
}

// cString is b up to its first NUL, trimmed of spaces.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}
