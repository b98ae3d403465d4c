// Package bench runs usemem's work (/work/shared/bench/README.md) on an
// engine: uswap's own swap (the embedded engine) or the Linux kernel's
// (anonymous memory in a memory cgroup with zram as swap), and reports it
// in the reference's format, with swap counters, device statistics and a
// fault-latency histogram.
//
// It is a tool outside the engine: it uses goroutines, clocks and the
// operating system freely.
package bench

import (
	"errors"
	"fmt"
	"slices"

	"uswap/design"
	"uswap/fixes"
	"uswap/swapdev"
	"uswap/workload"
)

// PageSize is the benchmark's page size.
const PageSize = workload.PageSize

// Device kinds.
const (
	DeviceRAM  = "ram"  // compressed RAM: zram for the kernel, swapdev.RAM for uswap
	DeviceFile = "file" // a swap file in the kernel's on-disk format
)

// Options is one benchmark's work and set-up: usemem's flags plus the
// limit, device and engine that kernel-baseline sets up around it.
type Options struct {
	SizeMiB     uint64 `json:"size_mib"`     // working set (usemem -s)
	LimitMiB    uint64 `json:"limit_mib"`    // memory cgroup limit (kernel-baseline -l)
	Passes      int    `json:"passes"`       // usemem -p
	Threads     int    `json:"threads"`      // usemem -t
	Random      bool   `json:"random"`       // usemem -r
	Write       bool   `json:"write"`        // usemem -w
	Pattern     string `json:"pattern"`      // usemem -P: mixed, zero or random
	Comp        string `json:"comp"`         // compressor of the RAM device (kernel-baseline -c)
	Device      string `json:"device"`       // DeviceRAM or DeviceFile
	DevicePath  string `json:"device_path"`  // the swap file for DeviceFile ("": one in a private temporary directory)
	PageCluster int    `json:"page_cluster"` // readahead: 2^n pages (vm.page-cluster); -1 leaves the default
	Engine      string `json:"engine"`       // "uswap", "kernel" or "realmem"
	// Design is the uswap engine's swap core design (the kernel engine
	// runs whatever the running kernel is).
	Design   design.Design `json:"design"`
	Progress bool          `json:"progress"` // draw a progress bar on standard error
	// MemcgBgReclaim runs uswap's background memcg reclaim
	// (mm.Config.MemcgBgReclaim), which the kernel does not have for a
	// hard limit: off, uswap reclaims as the kernel does, in the task
	// that charges. The kernel engine ignores it.
	MemcgBgReclaim bool `json:"memcg_bg_reclaim"`
	// BlockDevice lets DevicePath be a block device (holding zeros or a
	// swap area uswap made), written over.
	BlockDevice bool `json:"block_device,omitempty"`
	// ShareSwap lets the kernel engine run while other swap is active
	// (see checkOtherSwap); without it the engine refuses.
	ShareSwap bool `json:"share_swap,omitempty"`
	// Undo records what the run changes on the host, for a caller that
	// must undo it from another goroutine (a second Ctrl-C); Run undoes
	// it on its own way out. nil: Run keeps its own.
	Undo *Undo `json:"-"`
	// Fixes is the variant of every race fix the uswap engine runs (the
	// kernel engine runs the kernel's).
	Fixes fixes.Set `json:"fixes"`
}

// ErrOption marks an option that makes no sense (Validate's errors, a
// compressor the kernel's zram lacks): the caller's mistake, not the
// run's failure.
var ErrOption = errors.New("bad option")

// DefaultOptions are usemem's and kernel-baseline's defaults.
func DefaultOptions() Options {
	return Options{
		SizeMiB: 1024, LimitMiB: 256, Passes: 3, Threads: 1,
		Pattern: "mixed", Comp: "lz4", Device: DeviceRAM, PageCluster: -1,
		Engine: "uswap", MemcgBgReclaim: true,
	}
}

// Pages is the number of 4 KiB pages in the working set.
func (o Options) Pages() uint64 { return o.SizeMiB << 20 / PageSize }

// Access is "seq" or "random", as in the result line.
func (o Options) Access() string {
	if o.Random {
		return "random"
	}
	return "seq"
}

// Validate reports the first option that makes no sense, wrapping
// ErrOption.
func (o Options) Validate() error {
	if err := o.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOption, err)
	}
	return nil
}

func (o Options) validate() error {
	switch {
	case o.SizeMiB == 0:
		return fmt.Errorf("size must be at least 1 MiB")
	case o.SizeMiB > 1<<20:
		return fmt.Errorf("size %d MiB is more than 1 TiB", o.SizeMiB)
	case o.LimitMiB == 0:
		return fmt.Errorf("limit must be at least 1 MiB")
	case o.Passes < 1:
		return fmt.Errorf("passes must be at least 1, not %d", o.Passes)
	case o.Threads < 1 || o.Threads > 64:
		return fmt.Errorf("threads must be 1 to 64 (as in usemem), not %d", o.Threads)
	case o.PageCluster < -1 || o.PageCluster > 10:
		return fmt.Errorf("page cluster must be 0 to 10 (or -1 for the default), not %d", o.PageCluster)
	}
	if _, err := workload.ParsePattern(o.Pattern); err != nil {
		return fmt.Errorf("pattern %q: want mixed, zero or random", o.Pattern)
	}
	if err := o.validComp(); err != nil {
		return err
	}
	switch o.Device {
	case DeviceRAM, DeviceFile:
	default:
		return fmt.Errorf("device %q: want ram or file", o.Device)
	}
	switch o.Engine {
	case "uswap", "kernel", "realmem":
	default:
		return fmt.Errorf("engine %q: want uswap, kernel or realmem", o.Engine)
	}
	if !slices.Contains(design.All(), o.Design) {
		return fmt.Errorf("design %v: want one of %v", o.Design, design.All())
	}
	if o.Engine == "realmem" && o.Design != design.Classic {
		return fmt.Errorf("design %v: the realmem engine's pager runs the classic swap core only", o.Design)
	}
	if err := o.Fixes.CheckDesign(o.Design); err != nil {
		return fmt.Errorf("%s design: %w", o.Design, err)
	}
	return nil
}

// validComp checks the compressor against the engine: uswap's RAM device
// has swapdev.Compressors; the kernel's zram has what an existing zram
// device lists (checked again when the bench's own device is added).
func (o Options) validComp() error {
	if o.Device != DeviceRAM {
		return nil
	}
	if o.Engine == "kernel" {
		if have := KernelCompressors(); have != nil && !slices.Contains(have, o.Comp) {
			return fmt.Errorf("compressor %q: this kernel's zram offers %v", o.Comp, have)
		}
		return nil
	}
	if !slices.Contains(swapdev.Compressors, o.Comp) {
		return fmt.Errorf("compressor %q: uswap's RAM device offers %v", o.Comp, swapdev.Compressors)
	}
	return nil
}
