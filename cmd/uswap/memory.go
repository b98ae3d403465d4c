package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// memAvailable is MemAvailable from /proc/meminfo, in bytes: what the
// kernel estimates can be allocated without swapping.
func memAvailable() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * kib, err
		}
	}
	return 0, fmt.Errorf("no MemAvailable in /proc/meminfo")
}

// checkRAM is a usage error naming flag when need bytes (what) do not fit
// in the machine's available memory. It passes when /proc/meminfo cannot
// be read.
func checkRAM(flag, value string, need int64, what string) error {
	avail, err := memAvailable()
	if err != nil || need <= avail {
		return nil
	}
	return usagef("--%s %s: %s needs about %s of RAM, and this machine has %s available (MemAvailable); lower it so that the total fits",
		flag, value, what, formatSize(roundMiB(need)), formatSize(roundMiB(avail)))
}

// checkDisk is a usage error naming flag when dir's filesystem has less
// than need bytes free.
func checkDisk(flag, value, dir string, need int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil
	}
	if free := int64(st.Bavail) * st.Bsize; free < need {
		return usagef("--%s %s: the swap file needs %s, and %s has %s free", flag, value, formatSize(roundMiB(need)), dir, formatSize(roundMiB(free)))
	}
	return nil
}

// roundMiB rounds n bytes up to a whole MiB.
func roundMiB(n int64) int64 { return (n + mib - 1) / mib * mib }
