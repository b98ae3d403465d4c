package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"uswap/swapdev"
)

const (
	zramName  = "zram0"
	zramDev   = "/dev/zram0"
	zramSysfs = "/sys/block/zram0"

	swapFlagPrefer   = 0x8000 // SWAP_FLAG_PREFER
	swapFlagPrioMask = 0x7fff
)

// swapon is swapon(2), falling back to swapon(8).
func swapon(path string, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(p)), uintptr(flags), 0); errno == 0 {
		return nil
	} else if out, cerr := exec.Command("swapon", path).CombinedOutput(); cerr != nil {
		return fmt.Errorf("swapon %s: %v (swapon(8): %v %s)", path, errno, cerr, strings.TrimSpace(string(out)))
	}
	return nil
}

// swapoff is swapoff(2).
func swapoff(path string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_SWAPOFF, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return fmt.Errorf("swapoff %s: %w", path, errno)
	}
	return nil
}

// mkswapBlock writes a swap header for a whole block device of size
// bytes with our own swapdev.Header, falling back to mkswap(8).
func mkswapBlock(dev string, size uint64) error {
	h := &swapdev.Header{Version: 1, LastPage: uint32(size/PageSize - 1), UUID: uuid.New()}
	err := h.Validate()
	if err == nil {
		err = writeHeader(dev, h.Marshal())
	}
	if err == nil {
		return nil
	}
	if out, cerr := exec.Command("mkswap", dev).CombinedOutput(); cerr != nil {
		return fmt.Errorf("mkswap %s: %v; mkswap(8): %v %s", dev, err, cerr, strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(os.Stderr, "uswap bench: writing the swap header on %s failed (%v); used mkswap(8)\n", dev, err)
	return nil
}

func writeHeader(dev string, page []byte) error {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(page, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ensureZram makes /dev/zram0 swap with compressor comp and at least
// sizeMiB of disk, as kernel-baseline does: it keeps a zram0 already set
// up that way, and otherwise swaps it off, resets it, and sets it up with
// 2*sizeMiB.
func ensureZram(sizeMiB uint64, comp string) error {
	if _, err := os.Stat(zramSysfs); err != nil {
		if out, merr := exec.Command("modprobe", "zram", "num_devices=1").CombinedOutput(); merr != nil {
			return fmt.Errorf("no zram device: %s is missing and `modprobe zram` failed: %v %s", zramSysfs, merr, strings.TrimSpace(string(out)))
		}
		if _, err := os.Stat(zramSysfs); err != nil {
			return fmt.Errorf("no zram device: %s is missing after `modprobe zram`", zramSysfs)
		}
	}
	swaps, err := activeSwaps()
	if err != nil {
		return err
	}
	algs, err := readFile(zramSysfs + "/comp_algorithm")
	if err != nil {
		return err
	}
	disk, _ := readFile(zramSysfs + "/disksize")
	var diskBytes uint64
	fmt.Sscan(disk, &diskBytes)
	if swaps[zramDev] && selectedComp(algs) == comp && diskBytes >= sizeMiB<<20 {
		return nil
	}
	if !strings.Contains(" "+strings.NewReplacer("[", "", "]", "").Replace(algs)+" ", " "+comp+" ") {
		return fmt.Errorf("zram has no compressor %q (it offers: %s)", comp, algs)
	}
	if swaps[zramDev] {
		if err := swapoff(zramDev); err != nil {
			return fmt.Errorf("zram0 is swap with compressor %s and %d bytes; cannot swap it off to set it up again: %w", selectedComp(algs), diskBytes, err)
		}
	}
	want := 2 * sizeMiB << 20
	if err := writeFile(zramSysfs+"/reset", "1"); err != nil {
		return fmt.Errorf("zram0 reset (busy?): %w", err)
	}
	if err := writeFile(zramSysfs+"/comp_algorithm", comp); err != nil {
		return fmt.Errorf("zram0 compressor %s: %w", comp, err)
	}
	if err := writeFile(zramSysfs+"/disksize", fmt.Sprint(want)); err != nil {
		return fmt.Errorf("zram0 disksize: %w", err)
	}
	if err := mkswapBlock(zramDev, want); err != nil {
		return err
	}
	return swapon(zramDev, 0)
}

// zramStats reads zram0's mm_stat.
func zramStats() (DeviceStats, error) {
	d := DeviceStats{Kind: DeviceRAM, Name: zramDev}
	algs, err := readFile(zramSysfs + "/comp_algorithm")
	if err != nil {
		return d, err
	}
	d.Comp = selectedComp(algs)
	var disk uint64
	if s, err := readFile(zramSysfs + "/disksize"); err == nil {
		fmt.Sscan(s, &disk)
	}
	d.Pages = disk / PageSize
	s, err := readFile(zramSysfs + "/mm_stat")
	if err != nil {
		return d, err
	}
	return d, parseMMStat(s, &d)
}

// swapFile is a swap file the kernel engine made and swapped on, at the
// highest priority so that the kernel prefers it to zram.
type swapFile struct {
	path  string
	pages uint64
}

func newSwapFile(path string, sizeMiB uint64) (*swapFile, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	size := int64(sizeMiB+16) << 20
	if err := swapdev.Mkswap(abs, size, swapdev.MkswapOptions{}); err != nil {
		return nil, err
	}
	if err := swapon(abs, swapFlagPrefer|swapFlagPrioMask); err != nil {
		os.Remove(abs)
		return nil, fmt.Errorf("swap file %s (a file system that supports swap files is needed): %w", abs, err)
	}
	return &swapFile{path: abs, pages: uint64(size) / PageSize}, nil
}

func (f *swapFile) stats() DeviceStats {
	return DeviceStats{Kind: DeviceFile, Name: f.path, Pages: f.pages}
}

func (f *swapFile) remove() error {
	err := swapoff(f.path)
	return errors.Join(err, os.Remove(f.path))
}
