package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"uswap/swapdev"
)

const (
	zramControl = "/sys/class/zram-control"

	swapFlagPrefer   = 0x8000 // SWAP_FLAG_PREFER
	swapFlagPrioMask = 0x7fff
	// benchPriority puts the bench's swap device first: the kernel fills
	// the highest priority first, so the workload's pages go there.
	benchPriority = swapFlagPrefer | swapFlagPrioMask
)

// swapon is swapon(2).
func swapon(path string, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(p)), uintptr(flags), 0); errno != 0 {
		return fmt.Errorf("swapon %s: %w", path, errno)
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

// swapOn swaps path on at the bench's priority and records its swapoff.
func swapOn(path string, undo *Undo) error {
	_, err := undo.Change("swapon "+path, func() error { return swapon(path, benchPriority) }, func() error { return swapoff(path) })
	return err
}

// activeSwap is one line of /proc/swaps.
type activeSwap struct {
	Name, Type string
	KiB        uint64
	Priority   int
}

func (s activeSwap) String() string {
	return fmt.Sprintf("%s (%s, %d MiB, priority %d)", s.Name, s.Type, s.KiB>>10, s.Priority)
}

// activeSwaps are the swap areas in /proc/swaps.
func activeSwaps() ([]activeSwap, error) {
	s, err := readFile("/proc/swaps")
	if err != nil {
		return nil, err
	}
	var swaps []activeSwap
	for i, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 5 {
			continue
		}
		kib, _ := strconv.ParseUint(f[2], 10, 64)
		prio, _ := strconv.Atoi(f[4])
		swaps = append(swaps, activeSwap{Name: strings.ReplaceAll(f[0], `\040`, " "), Type: f[1], KiB: kib, Priority: prio})
	}
	return swaps, nil
}

// ErrOtherSwap is the kernel engine's refusal to run while other swap is
// active, unless Options.ShareSwap.
var ErrOtherSwap = errors.New("other swap is active")

// checkOtherSwap refuses to run beside active swap, saying what running
// would change, unless share.
func checkOtherSwap(share bool) error {
	swaps, err := activeSwaps()
	if err != nil || len(swaps) == 0 || share {
		return err
	}
	names := make([]string, len(swaps))
	for i, s := range swaps {
		names[i] = s.String()
	}
	return fmt.Errorf("%w: %s. The kernel would spread the benchmark's pages over it too, and the host's swapping would mix into the counters; the bench does not swap it off. Swap it off yourself, or pass --share-swap: the bench's device then goes first (priority %d), the host's own swap-outs during the run may land on it, and swapping it off at the end moves them back to RAM",
		ErrOtherSwap, strings.Join(names, ", "), swapFlagPrioMask)
}

// zramDevice is a zram device the bench added with hot_add.
type zramDevice struct {
	id    int
	dev   string // /dev/zramN
	sysfs string // /sys/block/zramN
}

// zramCompressors are the compressors this kernel's zram offers, read
// from any existing zram device (read-only), or nil when there is none or
// no zram at all.
func zramCompressors() []string {
	devs, _ := filepath.Glob("/sys/block/zram*/comp_algorithm")
	for _, p := range devs {
		if s, err := readFile(p); err == nil {
			return strings.Fields(strings.NewReplacer("[", "", "]", "").Replace(s))
		}
	}
	return nil
}

// zramAvailable reports why no zram device can be added.
func zramAvailable() error {
	if _, err := os.Stat(zramControl + "/hot_add"); err != nil {
		return fmt.Errorf("no %s/hot_add: the zram module is not loaded; the bench does not load modules (`modprobe zram num_devices=0` would)", zramControl)
	}
	return nil
}

// addZram adds a zram device of its own (hot_add), sets its compressor
// and disk size, writes a swap header and swaps it on, recording each
// step's undoing: swapoff, then hot_remove. It never touches a zram
// device it did not add.
func addZram(sizeBytes uint64, comp string, undo *Undo) (*zramDevice, error) {
	if err := zramAvailable(); err != nil {
		return nil, err
	}
	z := new(zramDevice)
	if _, err := undo.Change("a zram device", z.add, z.remove); err != nil {
		return nil, err
	}
	algs, err := readFile(z.sysfs + "/comp_algorithm")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(" "+strings.NewReplacer("[", "", "]", "").Replace(algs)+" ", " "+comp+" ") {
		return nil, fmt.Errorf("%w: compressor %q: this kernel's zram offers %s", ErrOption, comp, algs)
	}
	if err := writeFile(z.sysfs+"/comp_algorithm", comp); err != nil {
		return nil, fmt.Errorf("%s compressor %s: %w", z.dev, comp, err)
	}
	if err := writeFile(z.sysfs+"/disksize", fmt.Sprint(sizeBytes)); err != nil {
		return nil, fmt.Errorf("%s disksize: %w", z.dev, err)
	}
	mk := swapdev.MkswapOptions{Label: "uswap-bench", BlockDevice: true, Force: true}
	if err := swapdev.Mkswap(z.dev, 0, mk); err != nil {
		return nil, err
	}
	if err := swapOn(z.dev, undo); err != nil {
		return nil, err
	}
	return z, nil
}

// add is hot_add: reading it adds a device and returns its number.
func (z *zramDevice) add() error {
	s, err := readFile(zramControl + "/hot_add")
	if err != nil {
		return fmt.Errorf("zram hot_add: %w", err)
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("zram hot_add returned %q", s)
	}
	z.id, z.dev, z.sysfs = id, fmt.Sprintf("/dev/zram%d", id), fmt.Sprintf("/sys/block/zram%d", id)
	return nil
}

// remove is hot_remove, after a reset (hot_remove refuses an initialized
// device on some kernels, and frees its memory either way).
func (z *zramDevice) remove() error {
	_ = writeFile(z.sysfs+"/reset", "1")
	if err := writeFile(zramControl+"/hot_remove", fmt.Sprint(z.id)); err != nil {
		return fmt.Errorf("zram hot_remove %d: %w", z.id, err)
	}
	return nil
}

// stats reads the device's mm_stat.
func (z *zramDevice) stats() (DeviceStats, error) {
	d := DeviceStats{Kind: DeviceRAM, Name: z.dev}
	algs, err := readFile(z.sysfs + "/comp_algorithm")
	if err != nil {
		return d, err
	}
	d.Comp = selectedComp(algs)
	var disk uint64
	if s, err := readFile(z.sysfs + "/disksize"); err == nil {
		fmt.Sscan(s, &disk)
	}
	d.Pages = disk / PageSize
	s, err := readFile(z.sysfs + "/mm_stat")
	if err != nil {
		return d, err
	}
	return d, parseMMStat(s, &d)
}

// CheckOtherSwap is the kernel engine's refusal to run beside other
// active swap (unless share), for a caller that checks before starting.
func CheckOtherSwap(share bool) error { return checkOtherSwap(share) }
