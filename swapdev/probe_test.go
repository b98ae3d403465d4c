package swapdev

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// image is a 128 KiB image with the given bytes written at their offsets.
func image(parts ...any) []byte {
	b := make([]byte, 128<<10)
	for i := 0; i < len(parts); i += 2 {
		copy(b[parts[i].(int):], parts[i+1].(string))
	}
	return b
}

// extImage is an ext superblock with the given feature words.
func extImage(compat, incompat, roCompat uint32) []byte {
	b := image(extVolumeNameOff, "root")
	binary.LittleEndian.PutUint16(b[extMagicOff:], 0xEF53)
	binary.LittleEndian.PutUint32(b[extFeatureCompat:], compat)
	binary.LittleEndian.PutUint32(b[extFeatureIncompat:], incompat)
	binary.LittleEndian.PutUint32(b[extFeatureRoCompat:], roCompat)
	return b
}

func TestProbe(t *testing.T) {
	uswapSwap := (&Header{Version: 1, LastPage: 31, Label: "mine", MadeByUswap: true}).Marshal()
	otherSwap := (&Header{Version: 1, LastPage: 31}).Marshal()
	fat32 := image(0x52, "FAT32   ", 0x47, "BOOT       ", 510, "\x55\xaa")
	for _, tc := range []struct {
		name string
		img  []byte
		want string // Content.String() fragment
		typ  string // the first signature's type, "" for none
		repl bool   // Replaceable
	}{
		{"empty", nil, "nothing (0 bytes)", "", true},
		{"zeros", make([]byte, 8192), "first 8192 bytes are zeros", "", false},
		{"data", []byte("dear diary"), "data with no known signature", "", false},
		{"uswap swap", append(uswapSwap, make([]byte, 4096)...), `a swap area made by uswap (label "mine") (magic at byte 4086)`, "swap", true},
		{"mkswap(8) swap", otherSwap, "a swap area (magic at byte 4086)", "swap", true},
		{"swap for 64 KiB pages", image(65526, "SWAPSPACE2"), "a swap area made for 64 KiB pages (magic at byte 65526)", "swap", true},
		{"hibernation", image(4086, "S1SUSPEND"), "hibernation image", "swsuspend", false},
		{"ext2", extImage(0, 0x2, 0x1), `an ext2 filesystem (label "root") (magic at byte 1080)`, "ext2", false},
		{"ext3", extImage(extHasJournal, 0x2, 0x1), "ext3 filesystem", "ext3", false},
		{"ext4", extImage(extHasJournal, 0x2|0x40|0x200, 0x1), "ext4 filesystem", "ext4", false},
		{"jbd", extImage(0, extJournalDev, 0), "external journal", "jbd", false},
		{"xfs", image(0, "XFSB", 108, "data"), `an xfs filesystem (label "data")`, "xfs", false},
		{"btrfs", image(65600, "_BHRfS_M"), "a btrfs filesystem (magic at byte 65600)", "btrfs", false},
		{"luks", image(0, "LUKS\xba\xbe"), "a LUKS encrypted volume", "crypto_LUKS", false},
		{"vfat", fat32, `a vfat filesystem (label "BOOT")`, "vfat", false},
		{"mbr", image(510, "\x55\xaa"), "a dos partition table", "dos", false},
		{"gpt", image(510, "\x55\xaa", 512, "EFI PART"), "a gpt partition table", "gpt", false},
		{"lvm", image(512, "LABELONE", 536, "LVM2 001"), "LVM2 physical volume", "LVM2_member", false},
		{"swap over ext4", append(extImage(extHasJournal, 0x40, 0)[:4086], "SWAPSPACE2"...), "a swap area (magic at byte 4086), an ext4 filesystem", "swap", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Probe(bytes.NewReader(tc.img), int64(len(tc.img)))
			if err != nil {
				t.Fatal(err)
			}
			typ := ""
			if len(c.Signatures) > 0 {
				typ = c.Signatures[0].Type
			}
			if !strings.Contains(c.String(), tc.want) || typ != tc.typ || c.Replaceable() != tc.repl {
				t.Errorf("got %q (type %q, replaceable %v), want %q (type %q, replaceable %v)", c, typ, c.Replaceable(), tc.want, tc.typ, tc.repl)
			}
		})
	}
}

// TestProbeAgainstBlkid formats files with this machine's mkfs and
// compares Probe's type with blkid's.
func TestProbeAgainstBlkid(t *testing.T) {
	blkid, err := lookSbin("blkid")
	if err != nil {
		t.Skip("blkid not found: cannot compare with libblkid")
	}
	ran := 0
	for _, mk := range [][]string{{"mkfs.ext4", "-q", "-F", "-L", "e4"}, {"mkfs.ext2", "-q", "-F"}, {"mkswap", "-L", "sw"}, {"mkfs.vfat"}, {"mkfs.xfs", "-q"}, {"mkfs.btrfs", "-q"}} {
		bin, err := lookSbin(mk[0])
		if err != nil {
			continue
		}
		path := filepath.Join(t.TempDir(), "img")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 128<<20); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, append(mk[1:], path)...).CombinedOutput(); err != nil {
			t.Logf("%s: %v %s (skipped)", mk[0], err, out)
			continue
		}
		want, err := exec.Command(blkid, "-p", "-o", "value", "-s", "TYPE", path).Output()
		if err != nil {
			t.Fatalf("blkid %s: %v", mk[0], err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Probe(f, 128<<20)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Signatures) == 0 || c.Signatures[0].Type != strings.TrimSpace(string(want)) {
			t.Errorf("%s: Probe found %q, blkid %q", mk[0], c, want)
		}
		t.Logf("%s: %s", mk[0], c)
		ran++
	}
	if ran == 0 {
		t.Skip("no mkfs tool on this machine")
	}
}
