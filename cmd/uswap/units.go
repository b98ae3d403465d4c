package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Sizes on the command line: a whole number with an optional unit B, K,
// M, G or T (also KB/KiB and so on: always powers of 1024). A bare number
// is MiB in every command and flag; mkswap's SIZE argument alone follows
// mkswap(8) and counts 1 KiB blocks.
const (
	mib          = 1 << 20
	kib          = 1 << 10
	pageSize     = 4096
	sizeHelpNote = "; K, M, G, T suffixes, a bare number is MiB"
)

// parseSize parses s, a bare number counting bare bytes.
func parseSize(s string, bare int64) (int64, error) {
	num := strings.ToUpper(strings.TrimSpace(s))
	unit := bare
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"KIB", 10}, {"MIB", 20}, {"GIB", 30}, {"TIB", 40}, {"KB", 10}, {"MB", 20}, {"GB", 30}, {"TB", 40}, {"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}, {"B", 0}} {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, unit = n, 1<<u.shift
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q: want a whole number with an optional unit B, K, M, G or T (powers of 1024)", s)
	}
	if v > (1<<62)/unit {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return v * unit, nil
}

// formatSize writes n bytes in the largest unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// sizeValue is a size flag (pflag.Value), in bytes; a bare number is MiB.
type sizeValue struct{ p *int64 }

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s, mib)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

func (v sizeValue) String() string { return formatSize(*v.p) }
func (v sizeValue) Type() string   { return "size" }

// sizeFlag registers a size flag of def bytes; its help says the units.
func sizeFlag(fs *pflag.FlagSet, p *int64, name, short string, def int64, usage string) {
	*p = def
	fs.VarP(sizeValue{p}, name, short, usage+sizeHelpNote)
}

// pagesOf is a size flag's value in 4 KiB pages; it must be a whole
// number of pages.
func pagesOf(flag string, bytes int64) (int64, error) {
	if bytes%pageSize != 0 {
		return 0, usagef("--%s %s: must be a whole number of 4 KiB pages", flag, formatSize(bytes))
	}
	return bytes / pageSize, nil
}
