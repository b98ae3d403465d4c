package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"uswap/swapdev"
)

// mkswap and swapinfo: util-linux's mkswap(8) and a header dump (what
// `swaplabel` and `blkid` show), for swap files in the kernel's format.

func init() {
	var label, uuidStr string
	mk := &cobra.Command{
		Use:   "mkswap FILE SIZE",
		Short: "create a swap file in the kernel's on-disk format (like mkswap(8))",
		Long: `Create FILE (mode 0600, fully allocated, no holes) of SIZE bytes and write a
swap header into its first page. SIZE is a byte count with an optional
K, M, G or T suffix (powers of 1024), e.g. 65536, 64M, 1G; it must be a
multiple of 4096 and at least 10 pages. The kernel's swapon accepts the
result.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			size, err := parseSize(args[1])
			if err != nil {
				return usagef("mkswap: %v", err)
			}
			opts := swapdev.MkswapOptions{Label: label}
			if len(label) > 16 {
				return usagef("mkswap: label %q is %d bytes, at most 16", label, len(label))
			}
			if uuidStr != "" {
				u, err := uuid.Parse(uuidStr)
				if err != nil {
					return usagef("mkswap: --uuid %q: %v", uuidStr, err)
				}
				opts.UUID = u
			}
			if size%swapdev.PageSize != 0 || size < 10*swapdev.PageSize {
				return usagef("mkswap: size %d bytes is not a multiple of %d of at least 10 pages", size, swapdev.PageSize)
			}
			if err := swapdev.Mkswap(args[0], size, opts); err != nil {
				return err
			}
			h, err := swapdev.ReadHeaderFile(args[0])
			if err != nil {
				return err
			}
			printHeader(cmd.OutOrStdout(), args[0], h)
			return nil
		},
	}
	mk.Flags().StringVar(&label, "label", "", "volume label (at most 16 bytes)")
	mk.Flags().StringVar(&uuidStr, "uuid", "", "UUID (default: random)")

	info := &cobra.Command{
		Use:   "swapinfo FILE",
		Short: "print the swap header of a swap file or device, or why it is not one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := swapdev.ReadHeaderFile(args[0])
			if err != nil {
				return err
			}
			printHeader(cmd.OutOrStdout(), args[0], h)
			return nil
		},
	}
	rootCmd.AddCommand(mk, info)
}

func printHeader(w io.Writer, path string, h *swapdev.Header) {
	fmt.Fprintf(w, "file:      %s\n", path)
	fmt.Fprintf(w, "version:   %d\n", h.Version)
	fmt.Fprintf(w, "pages:     %d (last_page %d, %d usable)\n", h.Pages(), h.LastPage, h.GoodPages())
	fmt.Fprintf(w, "size:      %d bytes (%d KiB usable)\n", h.Pages()*swapdev.PageSize, h.GoodPages()*swapdev.PageSize/1024)
	fmt.Fprintf(w, "uuid:      %s\n", uuid.UUID(h.UUID))
	fmt.Fprintf(w, "label:     %q\n", h.Label)
	bad := make([]string, len(h.BadPages))
	for i, b := range h.BadPages {
		bad[i] = strconv.FormatUint(uint64(b), 10)
	}
	fmt.Fprintf(w, "bad pages: %d [%s]\n", len(h.BadPages), strings.Join(bad, " "))
	if h.ByteSwapped {
		fmt.Fprintf(w, "byte order: swapped (written on a machine of the other endianness)\n")
	}
}

// parseSize parses 65536, 64K, 64M, 1G, 1T (also with KiB/MiB/... or
// KB/MB suffixes, all powers of 1024).
func parseSize(s string) (int64, error) {
	num := strings.ToUpper(s)
	if n, ok := strings.CutSuffix(num, "IB"); ok {
		num = n
	} else {
		num = strings.TrimSuffix(num, "B")
	}
	shift := 0
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift != 0 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad size %q: want a positive byte count with an optional K, M, G or T suffix", s)
	}
	if v > (1<<62)>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return v << shift, nil
}
