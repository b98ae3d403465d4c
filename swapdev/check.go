package swapdev

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Finding is one thing swapon would refuse or warn about.
type Finding struct {
	// Refused is set when swapon fails on it; otherwise it warns.
	Refused bool
	// By is who says so: "kernel" (swapon(2), mm/swapfile.c) or
	// "swapon(8)" (util-linux's checks before the call).
	By   string
	Text string
}

func (f Finding) String() string {
	what := "warns"
	if f.Refused {
		what = "refuses"
	}
	return fmt.Sprintf("%s %s: %s", f.By, what, f.Text)
}

// SwaponCheck is what CheckSwapon found.
type SwaponCheck struct {
	Path  string
	Mode  fs.FileMode // after following links, as swapon does
	UID   uint32
	Size  int64 // bytes: the file's size or the device's
	Block bool  // a block device
	// Content is what Probe found at the start.
	Content Content
	// Header is the parsed swap header (nil when there is none usable).
	Header *Header
	// Active is set when the kernel lists path in /proc/swaps.
	Active   bool
	Findings []Finding
}

// Refused reports whether swapon would fail.
func (c *SwaponCheck) Refused() bool {
	for _, f := range c.Findings {
		if f.Refused {
			return true
		}
	}
	return false
}

func (c *SwaponCheck) refuse(by, format string, args ...any) {
	c.Findings = append(c.Findings, Finding{Refused: true, By: by, Text: fmt.Sprintf(format, args...)})
}

func (c *SwaponCheck) warn(by, format string, args ...any) {
	c.Findings = append(c.Findings, Finding{By: by, Text: fmt.Sprintf(format, args...)})
}

// CheckSwapon reads path as util-linux's swapon(8) (swapon_checks) and
// then the kernel's swapon(2) (claim_swapfile, read_swap_header,
// setup_swap_map, setup_swap_extents) would, without changing anything,
// and reports every condition that would make them refuse it or warn:
//
//   - not a regular file or a block device (claim_swapfile: -EINVAL);
//   - already swap (IS_SWAPFILE or an exclusive open: -EBUSY);
//   - permissions other than 0600 for a file or 0660 for a device, or a
//     file not owned by root (swapon(8) warns);
//   - holes: fewer blocks allocated than the size (swapon(8) skips the
//     file), or a hole inside the swap area found with SEEK_HOLE (the
//     filesystem's swap_activate refuses: "file has unallocated
//     extents", "swapfile has holes");
//   - no SWAPSPACE2 at PAGE_SIZE-10, with what is there instead: a header
//     made for another page size (its magic at that page size's offset;
//     swapon(8) says the pagesize does not match), a hibernation image,
//     a filesystem, data ("Unable to find swap-space signature");
//   - a header the kernel refuses (version, last_page 0, an area longer
//     than the file, too many bad pages, bad pages beyond the area or
//     any bad page in a regular file, no usable page), see ParseHeader,
//     or one smaller than mkswap's minimum of 10 pages, which the kernel
//     takes but uswap does not.
//
// The error is for a path that cannot be read at all.
func CheckSwapon(path string) (*SwaponCheck, error) {
	c := &SwaponCheck{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("swapdev: %w", err)
	}
	c.Mode = fi.Mode()
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		c.UID = st.Uid
	}
	c.Block = c.Mode&fs.ModeDevice != 0 && c.Mode&fs.ModeCharDevice == 0
	if !c.Mode.IsRegular() && !c.Block {
		c.refuse("kernel", "%s is a %v, not a regular file or a block device (EINVAL)", path, c.Mode.Type())
		return c, nil
	}
	c.Active = activeSwap(path)
	if c.Active {
		c.refuse("kernel", "%s is already swap (it is in /proc/swaps): EBUSY", path)
	}
	c.checkOwner(fi)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("swapdev: %w", err)
	}
	defer f.Close()
	if c.Size, err = f.Seek(0, io.SeekEnd); err != nil {
		return nil, fmt.Errorf("swapdev: %s: size: %w", path, err)
	}
	if c.Content, err = Probe(f, c.Size); err != nil {
		return nil, err
	}
	c.checkHeader(f)
	if !c.Block {
		c.checkHoles(f, fi)
	}
	return c, nil
}

// checkOwner is swapon_checks' permission and owner test: any bit of
// 07077 on a file (07007 on a device) is insecure.
func (c *SwaponCheck) checkOwner(fi fs.FileInfo) {
	perm := uint32(fi.Mode().Perm())
	if fi.Mode()&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	mask, suggest := uint32(0o7077), uint32(0o600)
	if c.Block {
		mask, suggest = 0o7007, 0o660
	}
	if perm&mask != 0 {
		c.warn("swapon(8)", "insecure permissions %04o, %04o suggested (others could read swapped-out memory)", perm, suggest)
	}
	if !c.Block && c.UID != 0 {
		c.warn("swapon(8)", "insecure file owner %d, 0 (root) suggested", c.UID)
	}
}

// checkHeader looks for the header where the kernel does (SWAPSPACE2 at
// PageSize-10) and parses it as read_swap_header does.
func (c *SwaponCheck) checkHeader(f *os.File) {
	sig, isSwap := c.Content.Swap()
	switch {
	case c.Size < PageSize:
		c.refuse("kernel", "%d bytes is shorter than the header page (%d bytes): Unable to find swap-space signature", c.Size, PageSize)
		return
	case isSwap && sig.PageSize != PageSize:
		c.refuse("kernel", "the swap header was made for %d KiB pages (its signature is at byte %d); this kernel's pages are %d KiB and it looks at byte %d: Unable to find swap-space signature (swapon(8): swap format pagesize does not match; mkswap again)",
			sig.PageSize>>10, sig.Offset, PageSize>>10, PageSize-10)
		return
	case !isSwap:
		c.refuse("kernel", "no swap signature at byte %d (Unable to find swap-space signature): it holds %s", PageSize-10, c.Content)
		for _, s := range c.Content.Signatures {
			if s.Type == "swsuspend" {
				c.warn("swapon(8)", "swapon(8) rewrites the swap signature over the hibernation image before calling the kernel, and the image is lost")
			}
		}
		return
	}
	page := make([]byte, PageSize)
	if _, err := f.ReadAt(page, 0); err != nil {
		c.refuse("kernel", "reading the header page: %v", err)
		return
	}
	if string(page[hdrMagicOff:]) == swapMagicV0 {
		c.refuse("kernel", "old v0 swap area (SWAP-SPACE): Unable to find swap-space signature; mkswap again")
		return
	}
	pages := uint64(c.Size) / PageSize
	h, err := ParseHeader(page, pages)
	if err != nil {
		if lp, nrBad, ok := rawCounts(page); ok && lp >= 1 && lp < minSwapPages-1 {
			// Too small for mkswap and for uswap, not for the kernel.
			c.warn("uswap", "swap area of %d pages (last_page %d) is below mkswap's minimum of %d pages: the kernel takes it, uswap's devices refuse it", lp+1, lp, minSwapPages)
			if nrBad == 0 && (pages == 0 || uint64(lp)+1 <= pages) {
				return
			}
		}
		c.refuse("kernel", "%s", strings.TrimPrefix(err.Error(), ErrBadHeader.Error()+": "))
		return
	}
	c.Header = h
	if len(h.BadPages) > 0 && !c.Block {
		c.refuse("kernel", "the header lists %d bad pages; the kernel takes bad pages only on a block device, not in a swap file (EINVAL)", len(h.BadPages))
	}
	if h.ByteSwapped {
		c.warn("kernel", "the header was written in the other byte order; the kernel swaps it in memory (and the area may hold the other machine's data)")
	}
}

// rawCounts reads last_page and nr_badpages in whichever byte order gives
// version 1.
func rawCounts(page []byte) (lastPage, nrBad uint32, ok bool) {
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if o.Uint32(page[hdrVersionOff:]) == swapVersion {
			return o.Uint32(page[hdrLastPageOff:]), o.Uint32(page[hdrNrBadOff:]), true
		}
	}
	return 0, 0, false
}

// checkHoles is swapon(8)'s test (fewer 512-byte blocks than the size)
// and the filesystem's swap_activate (iomap_swapfile_activate,
// generic_swapfile_activate), which refuses a hole, a shared (reflinked)
// extent or inline data in the pages the header describes. Extents come
// from FIEMAP: SEEK_HOLE cannot tell a hole from an allocated but
// unwritten extent (what fallocate makes), which the kernel accepts.
func (c *SwaponCheck) checkHoles(f *os.File, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*unix.Stat_t); ok && st.Blocks*512 < c.Size {
		c.refuse("swapon(8)", "it appears to have holes: %d bytes allocated for %d bytes of file (swapon(8) skips it)", st.Blocks*512, c.Size)
	}
	end := c.Size / PageSize * PageSize
	if c.Header != nil {
		end = min(end, int64(c.Header.Pages())*PageSize)
	}
	m, err := mapExtents(f, end)
	if err != nil {
		c.warn("uswap", "could not map the file's extents (FIEMAP): %v; holes inside it are not checked", err)
		return
	}
	if m.hole >= 0 {
		c.refuse("kernel", "hole at byte %d, inside the swap area (which ends at byte %d): swapon: file has unallocated extents (swapfile has holes)", m.hole, end)
	}
	if m.shared >= 0 {
		c.refuse("kernel", "extent at byte %d is shared with another file (reflinked): swapon: file has shared extents", m.shared)
	}
	if m.inline >= 0 {
		c.refuse("kernel", "data at byte %d is stored inline: swapon: file is inline", m.inline)
	}
}

// extentMap is where the first hole, shared extent and inline extent
// start, or -1.
type extentMap struct{ hole, shared, inline int64 }

// FIEMAP (include/uapi/linux/fiemap.h).
const (
	fsIocFiemap          = 0xC020660B // _IOWR('f', 11, struct fiemap)
	fiemapFlagSync       = 0x1
	fiemapExtentLast     = 0x1
	fiemapExtentInline   = 0x200
	fiemapExtentShared   = 0x2000
	fiemapHeaderSize     = 32 // struct fiemap
	fiemapExtentSize     = 56 // struct fiemap_extent
	fiemapExtentsPerCall = 128
)

// mapExtents walks f's extents over [0, end) with FS_IOC_FIEMAP (synced
// first, as swapon syncs before mapping).
func mapExtents(f *os.File, end int64) (extentMap, error) {
	m := extentMap{hole: -1, shared: -1, inline: -1}
	buf := make([]byte, fiemapHeaderSize+fiemapExtentsPerCall*fiemapExtentSize)
	ne := binary.NativeEndian
	next := int64(0) // the first byte not yet covered by an extent
	for next < end {
		clear(buf)
		ne.PutUint64(buf[0:], uint64(next))          // fm_start
		ne.PutUint64(buf[8:], uint64(end-next))      // fm_length
		ne.PutUint32(buf[16:], fiemapFlagSync)       // fm_flags
		ne.PutUint32(buf[24:], fiemapExtentsPerCall) // fm_extent_count
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
			return m, errno
		}
		n := int(ne.Uint32(buf[20:])) // fm_mapped_extents
		if n == 0 {
			break
		}
		last := false
		for i := range n {
			e := buf[fiemapHeaderSize+i*fiemapExtentSize:]
			logical, length, flags := int64(ne.Uint64(e[0:])), int64(ne.Uint64(e[16:])), ne.Uint32(e[40:])
			if logical > next && m.hole < 0 {
				m.hole = next
			}
			if flags&fiemapExtentShared != 0 && m.shared < 0 {
				m.shared = logical
			}
			if flags&fiemapExtentInline != 0 && m.inline < 0 {
				m.inline = logical
			}
			next = max(next, logical+length)
			last = flags&fiemapExtentLast != 0
		}
		if last {
			break
		}
	}
	if next < end && m.hole < 0 {
		m.hole = next
	}
	return m, nil
}

// activeSwap reports whether path is listed in /proc/swaps.
func activeSwap(path string) bool {
	b, err := os.ReadFile("/proc/swaps")
	if err != nil {
		return false
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) == 0 {
			continue
		}
		name := strings.ReplaceAll(f[0], `\040`, " ")
		if other, err := os.Stat(name); err == nil && os.SameFile(fi, other) {
			return true
		}
	}
	return false
}
