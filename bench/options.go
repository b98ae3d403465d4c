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
	"fmt"

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
	DevicePath  string `json:"device_path"`  // the swap file for DeviceFile
	PageCluster int    `json:"page_cluster"` // readahead: 2^n pages (vm.page-cluster); -1 leaves the default
	Engine      string `json:"engine"`       // "uswap" or "kernel"
	Progress    bool   `json:"progress"`     // draw a progress bar on standard error
}

// DefaultOptions are usemem's and kernel-baseline's defaults.
func DefaultOptions() Options {
	return Options{
		SizeMiB: 1024, LimitMiB: 256, Passes: 3, Threads: 1,
		Pattern: "mixed", Comp: "lz4", Device: DeviceRAM, PageCluster: -1,
		Engine: "uswap",
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

// Validate reports the first option that makes no sense.
func (o Options) Validate() error {
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
	switch o.Comp {
	case "lz4", "zstd", "lzo", "lzo-rle":
	default:
		return fmt.Errorf("compressor %q: want lz4 or zstd", o.Comp)
	}
	switch o.Device {
	case DeviceRAM:
	case DeviceFile:
		if o.DevicePath == "" {
			return fmt.Errorf("device file needs a path (--swapfile)")
		}
	default:
		return fmt.Errorf("device %q: want ram or file", o.Device)
	}
	switch o.Engine {
	case "uswap", "kernel":
	default:
		return fmt.Errorf("engine %q: want uswap or kernel", o.Engine)
	}
	return nil
}
