package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"uswap/swapdev"
)

// mkswap and swapinfo: util-linux's mkswap(8), and a header dump (what
// `swaplabel` and `blkid` show) with the checks swapon would make.

func init() {
	addCommand(newMkswapCmd)
	addCommand(newSwapinfoCmd)
}

func newMkswapCmd() *cobra.Command {
	var (
		label, uuidStr, jsonOut string
		force, blockDevice      bool
	)
	cmd := &cobra.Command{
		Use:   "mkswap FILE [SIZE]",
		Short: "create a swap area in the kernel's on-disk format (like mkswap(8))",
		Long: `Create a swap area at FILE that the kernel's swapon accepts: a file of
SIZE (mode 0600, every block allocated, no holes) with a swap header in
its first page, or, with --block-device, a header on a block device.

SIZE counts 1 KiB blocks when it is a bare number, as mkswap(8)'s
block-count does (65536 is 64 MiB), or takes a unit: B, K, M, G, T (powers
of 1024), e.g. 64M, 1G. It must be a whole number of 4 KiB pages and at
least 10 pages. Without SIZE: the whole block device, or the size of the
existing file.

Nothing is lost on a failure: a file is written as a new file beside FILE
and renamed over it only when complete (a full filesystem leaves FILE as it
was). FILE is replaced only if it does not exist, is empty or already holds
a swap area; anything else (a filesystem, a LUKS volume, data) is refused
with what was found, unless --force. A symbolic link is never followed. A
block device is written only with --block-device (and needs root), opened
exclusively (never while mounted or swapped on); old signatures on it are
erased. Headers carry uswap's marker, which the bench checks before it
reuses a swap file.

Exit status: 0 made, 2 a bad argument or a refusal (nothing written),
3 any other error.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			opts := swapdev.MkswapOptions{Label: label, Force: force, BlockDevice: blockDevice}
			if len(label) > 16 {
				return usagef("--label %q is %d bytes, at most 16", label, len(label))
			}
			if uuidStr != "" {
				u, err := uuid.Parse(uuidStr)
				if err != nil {
					return usagef("--uuid %q: %v", uuidStr, err)
				}
				opts.UUID = u
			}
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			size, err := mkswapSize(path, args[1:], blockDevice)
			if err != nil {
				return err
			}
			if err := swapdev.Mkswap(path, size, opts); err != nil {
				if errors.Is(err, swapdev.ErrRefused) || errors.Is(err, swapdev.ErrInvalid) || errors.Is(err, fs.ErrExist) {
					return usageError{err}
				}
				return err
			}
			h, err := swapdev.ReadHeaderFile(path)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := emitJSON(out, jsonOut, "mkswap", headerJSON(path, h)); err != nil || jsonOnly(jsonOut) {
				return err
			}
			printHeader(out, path, h)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&label, "label", "", "volume label (at most 16 bytes)")
	fl.StringVar(&uuidStr, "uuid", "", "UUID (default: random)")
	fl.BoolVarP(&force, "force", "f", false, "overwrite what FILE holds even if it is not a swap area (a filesystem, data)")
	fl.BoolVar(&blockDevice, "block-device", false, "let FILE be a block device, written in place (needs root)")
	addJSONFlag(cmd, &jsonOut)
	return cmd
}

// mkswapSize is SIZE in bytes: 1 KiB blocks when bare, or the whole
// device (0), or the existing file's size when absent.
func mkswapSize(path string, arg []string, blockDevice bool) (int64, error) {
	if len(arg) == 1 {
		size, err := parseSize(arg[0], kib)
		if err != nil {
			return 0, usagef("SIZE: %v (a bare number counts 1 KiB blocks)", err)
		}
		if size%pageSize != 0 || size < 10*pageSize {
			return 0, usagef("SIZE %s: must be a whole number of 4 KiB pages, at least 10 pages (40K)", arg[0])
		}
		return size, nil
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode()&fs.ModeDevice != 0 && blockDevice:
		return 0, nil
	case err == nil && fi.Mode().IsRegular() && fi.Size() >= 10*pageSize:
		return fi.Size() / pageSize * pageSize, nil
	}
	return 0, usagef("SIZE is needed for %s (a new or small file)", path)
}

func newSwapinfoCmd() *cobra.Command {
	var jsonOut string
	cmd := &cobra.Command{
		Use:   "swapinfo FILE",
		Short: "print a swap area's header and what swapon would refuse or warn about",
		Long: `Read FILE (a swap file or block device; nothing is changed) and print its
swap header, then check it as util-linux's swapon(8) and the kernel's
swapon(2) would: the type of file; already in use as swap; permissions
other than 0600 (0660 for a device) or an owner other than root (swapon
warns); holes or shared extents in the area (found with FIEMAP; the kernel
refuses them); a header made for another page size (its signature is at
that page size's offset, which this kernel does not read); bad pages in a
file; an area longer than the file; too small. When there is no swap
header it says what is there (a filesystem, data).

Exit status: 0 swapon would accept it (warnings aside), 1 swapon would
refuse it, 2 a bad argument, 3 FILE cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkJSONFlag(jsonOut); err != nil {
				return err
			}
			c, err := swapdev.CheckSwapon(args[0])
			if err != nil {
				if isNotExist(err) {
					return usageError{err}
				}
				return err
			}
			out := cmd.OutOrStdout()
			if err := emitJSON(out, jsonOut, "swapinfo", swapinfoJSON(c)); err != nil {
				return err
			}
			if !jsonOnly(jsonOut) {
				printSwapinfo(out, c)
			}
			if c.Refused() {
				return failedf("swapinfo: swapon would refuse %s", args[0])
			}
			return nil
		},
	}
	addJSONFlag(cmd, &jsonOut)
	return cmd
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
	if h.MadeByUswap {
		fmt.Fprintf(w, "made by:   uswap mkswap\n")
	}
	if h.ByteSwapped {
		fmt.Fprintf(w, "byte order: swapped (written on a machine of the other endianness)\n")
	}
}

func printSwapinfo(w io.Writer, c *swapdev.SwaponCheck) {
	kind := "regular file"
	if c.Block {
		kind = "block device"
	} else if !c.Mode.IsRegular() {
		kind = c.Mode.Type().String()
	}
	if c.Header != nil {
		printHeader(w, c.Path, c.Header)
	} else {
		fmt.Fprintf(w, "file:      %s\n", c.Path)
	}
	fmt.Fprintf(w, "type:      %s, %d bytes, mode %04o, owner %d\n", kind, c.Size, c.Mode.Perm(), c.UID)
	fmt.Fprintf(w, "holds:     %s\n", c.Content)
	if c.Active {
		fmt.Fprintf(w, "in use:    swapped on (in /proc/swaps)\n")
	}
	verdict := "would accept it"
	if c.Refused() {
		verdict = "would refuse it"
	}
	fmt.Fprintf(w, "swapon:    %s\n", verdict)
	for _, f := range c.Findings {
		fmt.Fprintf(w, "  %s\n", f)
	}
}

// headerFields is a swap header in JSON.
type headerFields struct {
	Version     uint32   `json:"version"`
	Pages       uint64   `json:"pages"`
	LastPage    uint32   `json:"last_page"`
	UsablePages uint64   `json:"usable_pages"`
	UUID        string   `json:"uuid"`
	Label       string   `json:"label"`
	BadPages    []uint32 `json:"bad_pages"`
	MadeByUswap bool     `json:"made_by_uswap"`
	ByteSwapped bool     `json:"byte_swapped"`
}

func headerOf(h *swapdev.Header) *headerFields {
	if h == nil {
		return nil
	}
	return &headerFields{Version: h.Version, Pages: h.Pages(), LastPage: h.LastPage, UsablePages: h.GoodPages(),
		UUID: uuid.UUID(h.UUID).String(), Label: h.Label, BadPages: append([]uint32{}, h.BadPages...),
		MadeByUswap: h.MadeByUswap, ByteSwapped: h.ByteSwapped}
}

// headerJSON is mkswap's --json output.
func headerJSON(path string, h *swapdev.Header) any {
	return struct {
		Path   string        `json:"path"`
		Header *headerFields `json:"header"`
	}{path, headerOf(h)}
}

// finding is one of swapinfo's findings in JSON.
type finding struct {
	Refused bool   `json:"refused"`
	By      string `json:"by"`
	Text    string `json:"text"`
}

// swapinfoJSON is swapinfo's --json output.
func swapinfoJSON(c *swapdev.SwaponCheck) any {
	fs := []finding{}
	for _, f := range c.Findings {
		fs = append(fs, finding{f.Refused, f.By, f.Text})
	}
	return struct {
		Path     string        `json:"path"`
		Block    bool          `json:"block_device"`
		Size     int64         `json:"size"`
		Mode     string        `json:"mode"`
		Owner    uint32        `json:"owner"`
		Holds    string        `json:"holds"`
		Header   *headerFields `json:"header"`
		Active   bool          `json:"active"`
		Refused  bool          `json:"swapon_refuses"`
		Findings []finding     `json:"findings"`
	}{c.Path, c.Block, c.Size, fmt.Sprintf("%04o", c.Mode.Perm()), c.UID, c.Content.String(), headerOf(c.Header), c.Active, c.Refused(), fs}
}
