package swapdev

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// The layout of union swap_header (include/linux/swap.h) for a 4 KiB page:
//
//	struct {
//		char reserved[PAGE_SIZE - 10];
//		char magic[10];                 /* SWAP-SPACE or SWAPSPACE2 */
//	} magic;
//	struct {
//		char         bootbits[1024];    /* Space for disklabel etc. */
//		__u32        version;
//		__u32        last_page;
//		__u32        nr_badpages;
//		unsigned char sws_uuid[16];
//		unsigned char sws_volume[16];
//		__u32        padding[117];
//		__u32        badpages[1];
//	} info;
const (
	hdrVersionOff  = 1024
	hdrLastPageOff = 1028
	hdrNrBadOff    = 1032
	hdrUUIDOff     = 1036
	hdrVolumeOff   = 1052
	hdrBadPagesOff = 1536
	hdrMagicOff    = PageSize - 10 // 4086
	hdrVolumeLen   = 16
	hdrMarkerOff   = 992 // uswapMarker, then a copy of the UUID, at the end of bootbits
	swapMagic      = "SWAPSPACE2"
	swapMagicV0    = "SWAP-SPACE"
	swapVersion    = 1
	minSwapPages   = 10 // mkswap's minimum: the header and 9 slots
	uintMax        = math.MaxUint32
)

// uswapMarker is what Marshal writes at the end of bootbits (bytes
// 992..1007, then a copy of sws_uuid in 1008..1023) for a header with
// MadeByUswap: the kernel and mkswap(8) ignore bootbits (mkswap zeroes
// them), so the pair identifies a swap area that uswap's mkswap wrote,
// which the bench may reuse and remove, where an area made by anything
// else is the user's.
const uswapMarker = "uswap-mkswap-v1\x00"

// MaxSwapBadPages is MAX_SWAP_BADPAGES: the bad-page list runs from
// byte 1536 up to the magic, (4086-1536)/4 = 637 entries.
const MaxSwapBadPages = (hdrMagicOff - hdrBadPagesOff) / 4

// Header is the info half of union swap_header, parsed.
type Header struct {
	// Version is info.version; ParseHeader accepts only 1.
	Version uint32
	// LastPage is info.last_page: the index of the last usable page. The
	// swap area is pages 0..LastPage; page 0 is this header.
	LastPage uint32
	// BadPages is info.badpages[0:nr_badpages]: page indexes never used.
	BadPages []uint32
	// UUID is info.sws_uuid.
	UUID [16]byte
	// Label is info.sws_volume up to its first NUL (at most 16 bytes).
	Label string
	// MadeByUswap records that uswap's Mkswap wrote the header: bootbits
	// end with uswapMarker and a copy of UUID. Marshal writes the marker
	// when it is set.
	MadeByUswap bool
	// ByteSwapped records that the header was written with the other byte
	// order (the kernel's "swap partition endianess hack"); Marshal keeps
	// that order so that a header round-trips byte for byte.
	ByteSwapped bool
}

// Pages is the swap area's size in pages, header page included: the
// kernel's maxpages, last_page + 1. Like swap_info_struct.max, an unsigned
// int, it is capped at UINT_MAX when last_page is UINT_MAX.
func (h *Header) Pages() uint64 {
	if h.LastPage == uintMax {
		return uintMax
	}
	return uint64(h.LastPage) + 1
}

// GoodPages is the number of pages the swap core may allocate: the area
// minus the header page and the distinct bad pages (si->pages).
func (h *Header) GoodPages() uint64 {
	seen := make(map[uint32]bool, len(h.BadPages))
	for _, b := range h.BadPages {
		seen[b] = true
	}
	return h.Pages() - 1 - uint64(len(seen))
}

func (h *Header) String() string {
	return fmt.Sprintf("swap header v%d: %d pages (last_page %d), %d bad, label %q", h.Version, h.Pages(), h.LastPage, len(h.BadPages), h.Label)
}

// headerError wraps ErrBadHeader.
func headerError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadHeader, fmt.Sprintf(format, args...))
}

// ParseHeader is read_swap_header() (mm/swapfile.c) plus the bad-page
// checks of setup_swap_map(): it parses page 0 of a swap area and checks it
// against a device of devicePages pages (0: size unknown, not checked, as
// the kernel skips the check when i_size is 0).
//
// Errors, each wrapping ErrBadHeader and saying what is wrong: a page
// shorter than PageSize; the old v0 "SWAP-SPACE" magic (unsupported since
// Linux 2.5); no "SWAPSPACE2" at byte 4086; a version other than 1 (after
// the byte-swap test); more than 637 bad pages; last_page 0 or below 9 (an
// area of fewer than 10 pages: the kernel would find it empty, mkswap
// refuses it); a swap area longer than the device ("swap area shorter
// than signature indicates"); a bad page 0 or beyond last_page.
//
// Not errors, as in the kernel: bytes of the page outside the fields
// (bootbits, padding) and a device longer than the area (the tail is
// unused). The kernel also truncates an area beyond the largest swap
// offset a PTE can encode; on x86-64 that is far above the 2^32 pages a
// 32-bit last_page can name, so it never applies here.
func ParseHeader(page []byte, devicePages uint64) (*Header, error) {
	if len(page) < PageSize {
		return nil, headerError("short page: %d bytes, a swap header is %d", len(page), PageSize)
	}
	page = page[:PageSize]
	magic := page[hdrMagicOff:]
	switch string(magic) {
	case swapMagic:
	case swapMagicV0:
		return nil, headerError("old swap format (v0 %q signature) is not supported; run mkswap again", swapMagicV0)
	default:
		return nil, headerError("no swap signature at offset %d; not a swap area, or made for a page size other than %d", hdrMagicOff, PageSize)
	}
	var order binary.ByteOrder = binary.LittleEndian
	h := &Header{}
	if v := binary.LittleEndian.Uint32(page[hdrVersionOff:]); v != swapVersion && binary.BigEndian.Uint32(page[hdrVersionOff:]) == swapVersion {
		order = binary.BigEndian
		h.ByteSwapped = true
	}
	h.Version = order.Uint32(page[hdrVersionOff:])
	if h.Version != swapVersion {
		return nil, headerError("unsupported swap header version %d (want %d)", h.Version, swapVersion)
	}
	h.LastPage = order.Uint32(page[hdrLastPageOff:])
	nrBad := order.Uint32(page[hdrNrBadOff:])
	copy(h.UUID[:], page[hdrUUIDOff:hdrUUIDOff+16])
	vol := page[hdrVolumeOff : hdrVolumeOff+hdrVolumeLen]
	if i := bytes.IndexByte(vol, 0); i >= 0 {
		vol = vol[:i]
	}
	h.Label = string(vol)
	h.MadeByUswap = string(page[hdrMarkerOff:hdrMarkerOff+16]) == uswapMarker &&
		bytes.Equal(page[hdrMarkerOff+16:hdrVersionOff], h.UUID[:])

	if nrBad > MaxSwapBadPages {
		return nil, headerError("%d bad pages listed, at most %d fit in a header", nrBad, MaxSwapBadPages)
	}
	if h.LastPage == 0 {
		return nil, headerError("last_page is 0: the swap area has no page besides its header")
	}
	if h.LastPage < minSwapPages-1 {
		return nil, headerError("swap area too small: last_page %d is %d pages, at least %d are needed (mkswap's minimum)", h.LastPage, h.Pages(), minSwapPages)
	}
	if devicePages != 0 && h.Pages() > devicePages {
		return nil, headerError("swap area shorter than signature indicates: the header says %d pages (last_page %d), the device has %d pages", h.Pages(), h.LastPage, devicePages)
	}
	if nrBad > 0 {
		h.BadPages = make([]uint32, nrBad)
	}
	for i := range h.BadPages {
		b := order.Uint32(page[hdrBadPagesOff+4*i:])
		if b == 0 {
			return nil, headerError("bad page %d is page 0, the header itself", i)
		}
		if b > h.LastPage {
			return nil, headerError("bad page %d is page %d, beyond last_page %d", i, b, h.LastPage)
		}
		h.BadPages[i] = b
	}
	if h.GoodPages() == 0 {
		return nil, headerError("empty swap area: every page but the header is bad")
	}
	return h, nil
}

// Marshal returns the header as a PageSize page: zero bootbits (but for
// the uswap marker of MadeByUswap) and padding, the fields in the
// header's byte order, and the SWAPSPACE2
// magic. It writes at most 16 bytes of Label and at most MaxSwapBadPages
// bad pages; Validate reports a header that would not fit.
func (h *Header) Marshal() []byte {
	page := make([]byte, PageSize)
	var order binary.ByteOrder = binary.LittleEndian
	if h.ByteSwapped {
		order = binary.BigEndian
	}
	bad := h.BadPages
	if len(bad) > MaxSwapBadPages {
		bad = bad[:MaxSwapBadPages]
	}
	order.PutUint32(page[hdrVersionOff:], h.Version)
	order.PutUint32(page[hdrLastPageOff:], h.LastPage)
	order.PutUint32(page[hdrNrBadOff:], uint32(len(bad)))
	copy(page[hdrUUIDOff:hdrUUIDOff+16], h.UUID[:])
	copy(page[hdrVolumeOff:hdrVolumeOff+hdrVolumeLen], h.Label)
	for i, b := range bad {
		order.PutUint32(page[hdrBadPagesOff+4*i:], b)
	}
	copy(page[hdrMagicOff:], swapMagic)
	if h.MadeByUswap {
		copy(page[hdrMarkerOff:], uswapMarker)
		copy(page[hdrMarkerOff+16:hdrVersionOff], h.UUID[:])
	}
	return page
}

// Validate reports what Marshal would have to drop or what ParseHeader
// would refuse, for a header about to be written.
func (h *Header) Validate() error {
	if len(h.Label) > hdrVolumeLen {
		return fmt.Errorf("%w: label %q is %d bytes, at most %d fit", ErrInvalid, h.Label, len(h.Label), hdrVolumeLen)
	}
	if len(h.BadPages) > MaxSwapBadPages {
		return fmt.Errorf("%w: %d bad pages, at most %d fit", ErrInvalid, len(h.BadPages), MaxSwapBadPages)
	}
	_, err := ParseHeader(h.Marshal(), 0)
	return err
}
