package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readFile is os.ReadFile trimmed of surrounding space.
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(bytes.TrimSpace(b)), err
}

// writeFile writes s to a sysfs, procfs or cgroupfs file.
func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return fmt.Errorf("write %q to %s: %w", s, path, err)
	}
	return f.Close()
}

// readKeyed parses "name value" lines (/proc/vmstat, memory.stat).
func readKeyed(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := make(map[string]uint64)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			m[k] = n
		}
	}
	return m, sc.Err()
}

// readVMStat reads the swap counters from /proc/vmstat.
func readVMStat() (Counters, error) {
	m, err := readKeyed("/proc/vmstat")
	if err != nil {
		return Counters{}, err
	}
	return Counters{
		Pswpin: m["pswpin"], Pswpout: m["pswpout"],
		SwapRa: m["swap_ra"], SwapRaHit: m["swap_ra_hit"],
		Pgfault: m["pgfault"], Pgmajfault: m["pgmajfault"],
	}, nil
}

// parseMMStat parses /sys/block/zram<id>/mm_stat into d.
func parseMMStat(s string, d *DeviceStats) error {
	f := strings.Fields(s)
	if len(f) < 8 {
		return fmt.Errorf("mm_stat %q: want at least 8 fields", s)
	}
	var v [8]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return fmt.Errorf("mm_stat %q: %w", s, err)
		}
		v[i] = n
	}
	d.OrigDataSize, d.ComprDataSize, d.MemUsedTotal, d.MemLimit = v[0], v[1], v[2], v[3]
	d.MemUsedMax, d.SamePages, d.PagesCompacted, d.HugePages = v[4], v[5], v[6], v[7]
	return nil
}

// selectedComp is the bracketed name in a comp_algorithm line
// ("lzo-rle [lz4] zstd" is lz4).
func selectedComp(line string) string {
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "[") && strings.HasSuffix(f, "]") {
			return strings.Trim(f, "[]")
		}
	}
	return ""
}
