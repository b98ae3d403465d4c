package swapdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// rawHeader builds a page by hand, field by field, in the given order, so
// that the parser is tested against the layout and not against Marshal.
func rawHeader(order binary.ByteOrder, version, lastPage, nrBad uint32, bad []uint32, magic string) []byte {
	p := make([]byte, PageSize)
	order.PutUint32(p[1024:], version)
	order.PutUint32(p[1028:], lastPage)
	order.PutUint32(p[1032:], nrBad)
	copy(p[1036:], "0123456789abcdef")
	copy(p[1052:], "label")
	for i, b := range bad {
		order.PutUint32(p[1536+4*i:], b)
	}
	copy(p[4086:], magic)
	return p
}

func TestParseHeaderErrors(t *testing.T) {
	le := binary.LittleEndian
	tooMany := rawHeader(le, 1, 1000, 638, nil, "SWAPSPACE2")
	for _, tc := range []struct {
		name    string
		page    []byte
		devPage uint64
		want    string // fragment of the error
	}{
		{"short page", make([]byte, 4000), 0, "short page: 4000 bytes"},
		{"empty page", nil, 0, "short page: 0 bytes"},
		{"no magic", make([]byte, PageSize), 0, "no swap signature at offset 4086; not a swap area, or made for a page size other than 4096"},
		{"v0 magic", rawHeader(le, 1, 100, 0, nil, "SWAP-SPACE"), 0, "old swap format (v0"},
		{"magic elsewhere", func() []byte { p := make([]byte, PageSize); copy(p[4000:], "SWAPSPACE2"); return p }(), 0, "no swap signature"},
		{"version 0", rawHeader(le, 0, 100, 0, nil, "SWAPSPACE2"), 0, "unsupported swap header version 0"},
		{"version 2", rawHeader(le, 2, 100, 0, nil, "SWAPSPACE2"), 0, "unsupported swap header version 2"},
		{"too many bad pages", tooMany, 0, "638 bad pages listed, at most 637"},
		{"last_page 0", rawHeader(le, 1, 0, 0, nil, "SWAPSPACE2"), 0, "last_page is 0"},
		{"last_page 8", rawHeader(le, 1, 8, 0, nil, "SWAPSPACE2"), 0, "swap area too small: last_page 8 is 9 pages, at least 10"},
		{"device too short", rawHeader(le, 1, 99, 0, nil, "SWAPSPACE2"), 50, "swap area shorter than signature indicates: the header says 100 pages (last_page 99), the device has 50 pages"},
		{"device one page short", rawHeader(le, 1, 99, 0, nil, "SWAPSPACE2"), 99, "the device has 99 pages"},
		{"bad page 0", rawHeader(le, 1, 99, 2, []uint32{5, 0}, "SWAPSPACE2"), 100, "bad page 1 is page 0, the header itself"},
		{"bad page beyond", rawHeader(le, 1, 99, 1, []uint32{100}, "SWAPSPACE2"), 100, "bad page 0 is page 100, beyond last_page 99"},
		{"all pages bad", rawHeader(le, 1, 9, 9, []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9}, "SWAPSPACE2"), 0, "empty swap area"},
		{"swapped too many bad", rawHeader(binary.BigEndian, 1, 1000, 638, nil, "SWAPSPACE2"), 0, "638 bad pages"},
		{"swapped last_page 0", rawHeader(binary.BigEndian, 1, 0, 0, nil, "SWAPSPACE2"), 0, "last_page is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(tc.page, tc.devPage)
			if err == nil {
				t.Fatalf("ParseHeader accepted %+v, want error %q", h, tc.want)
			}
			if !errors.Is(err, ErrBadHeader) {
				t.Errorf("error %v does not wrap ErrBadHeader", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseHeaderAccepts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		page    []byte
		devPage uint64
		want    Header
	}{
		{"minimal", rawHeader(binary.LittleEndian, 1, 9, 0, nil, "SWAPSPACE2"), 10,
			Header{Version: 1, LastPage: 9, UUID: [16]byte([]byte("0123456789abcdef")), Label: "label"}},
		{"device longer than area", rawHeader(binary.LittleEndian, 1, 99, 0, nil, "SWAPSPACE2"), 1 << 20,
			Header{Version: 1, LastPage: 99, UUID: [16]byte([]byte("0123456789abcdef")), Label: "label"}},
		{"size unknown", rawHeader(binary.LittleEndian, 1, 1<<30, 0, nil, "SWAPSPACE2"), 0,
			Header{Version: 1, LastPage: 1 << 30, UUID: [16]byte([]byte("0123456789abcdef")), Label: "label"}},
		{"bad pages", rawHeader(binary.LittleEndian, 1, 99, 3, []uint32{1, 50, 99}, "SWAPSPACE2"), 100,
			Header{Version: 1, LastPage: 99, BadPages: []uint32{1, 50, 99}, UUID: [16]byte([]byte("0123456789abcdef")), Label: "label"}},
		{"byte-swapped", rawHeader(binary.BigEndian, 1, 99, 2, []uint32{7, 8}, "SWAPSPACE2"), 100,
			Header{Version: 1, LastPage: 99, BadPages: []uint32{7, 8}, UUID: [16]byte([]byte("0123456789abcdef")), Label: "label", ByteSwapped: true}},
		{"longer buffer", append(rawHeader(binary.LittleEndian, 1, 9, 0, nil, "SWAPSPACE2"), 1, 2, 3), 10,
			Header{Version: 1, LastPage: 9, UUID: [16]byte([]byte("0123456789abcdef")), Label: "label"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHeader(tc.page, tc.devPage)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*h, tc.want) {
				t.Fatalf("got %+v, want %+v", *h, tc.want)
			}
			// Marshal reproduces the page byte for byte (the hand-built
			// pages have nothing outside the fields).
			if got := h.Marshal(); !bytes.Equal(got, tc.page[:PageSize]) {
				t.Errorf("Marshal differs from the parsed page")
			}
		})
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := &Header{Version: 1, LastPage: 262143, BadPages: []uint32{3, 1000}, UUID: uuid.New(), Label: "sixteen-bytes-xx"}
	for _, swapped := range []bool{false, true} {
		h.ByteSwapped = swapped
		got, err := ParseHeader(h.Marshal(), 262144)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, h) {
			t.Fatalf("swapped=%v: got %+v, want %+v", swapped, got, h)
		}
		if got.Pages() != 262144 || got.GoodPages() != 262141 {
			t.Errorf("Pages %d GoodPages %d, want 262144 and 262141", got.Pages(), got.GoodPages())
		}
	}
	if err := (&Header{Version: 1, LastPage: 99, Label: "seventeen-bytes-x"}).Validate(); err == nil || !strings.Contains(err.Error(), "at most 16") {
		t.Errorf("Validate of a 17-byte label: %v", err)
	}
	if got := (&Header{LastPage: 0xffffffff}).Pages(); got != 0xffffffff {
		t.Errorf("Pages at last_page UINT_MAX = %d, want UINT_MAX as the kernel's p->max", got)
	}
}

// TestUtilLinuxHeader parses a header that util-linux mkswap 2.38.1 wrote:
//
//	truncate -s 40K mkswap-40k.img
//	mkswap -L uswap-test -U 8c6e2b5e-5a1f-4d3c-9e2b-1f2a3b4c5d6e mkswap-40k.img
func TestUtilLinuxHeader(t *testing.T) {
	path := filepath.Join("testdata", "mkswap-40k.img")
	h, err := ReadHeaderFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkUtilLinux(t, h, 10)
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Marshal(), page[:PageSize]) {
		t.Error("Marshal does not reproduce mkswap's header page")
	}
}

func checkUtilLinux(t *testing.T, h *Header, pages uint64) {
	t.Helper()
	want := uuid.MustParse("8c6e2b5e-5a1f-4d3c-9e2b-1f2a3b4c5d6e")
	if h.Version != 1 || h.Pages() != pages || h.Label != "uswap-test" || h.UUID != want || len(h.BadPages) != 0 || h.ByteSwapped {
		t.Errorf("got %+v, want version 1, %d pages, label uswap-test, uuid %v", *h, pages, want)
	}
}

// TestUtilLinuxMkswapLive runs this machine's mkswap and opens the result.
func TestUtilLinuxMkswapLive(t *testing.T) {
	mk, err := exec.LookPath("mkswap")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mkswap"); serr != nil {
			t.Skip("mkswap is not on PATH nor in /usr/sbin: cannot test against util-linux")
		}
		mk = "/usr/sbin/mkswap"
	}
	path := filepath.Join(t.TempDir(), "swap")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(mk, "-L", "uswap-test", "-U", "8c6e2b5e-5a1f-4d3c-9e2b-1f2a3b4c5d6e", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", mk, err, out)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkUtilLinux(t, f.Header(), 256)
}

func FuzzParseHeader(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	f.Add(rawHeader(le, 1, 9, 0, nil, "SWAPSPACE2"), uint64(10))
	f.Add(rawHeader(le, 1, 99, 3, []uint32{1, 50, 99}, "SWAPSPACE2"), uint64(100))
	f.Add(rawHeader(be, 1, 99, 2, []uint32{7, 8}, "SWAPSPACE2"), uint64(0))
	f.Add(rawHeader(le, 1, 99, 0, nil, "SWAP-SPACE"), uint64(100))
	f.Add(rawHeader(le, 1, 0xffffffff, 637, nil, "SWAPSPACE2"), uint64(0))
	f.Add([]byte("short"), uint64(0))
	if page, err := os.ReadFile(filepath.Join("testdata", "mkswap-40k.img")); err == nil {
		f.Add(page[:PageSize], uint64(10))
	}
	f.Fuzz(func(t *testing.T, page []byte, devPages uint64) {
		h, err := ParseHeader(page, devPages)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("error %v does not wrap ErrBadHeader", err)
			}
			return
		}
		if devPages != 0 && h.Pages() > devPages {
			t.Fatalf("accepted an area of %d pages on a device of %d", h.Pages(), devPages)
		}
		for _, b := range h.BadPages {
			if b == 0 || b > h.LastPage {
				t.Fatalf("accepted bad page %d with last_page %d", b, h.LastPage)
			}
		}
		again, err := ParseHeader(h.Marshal(), devPages)
		if err != nil {
			t.Fatalf("re-marshalled header does not parse: %v", err)
		}
		if !reflect.DeepEqual(h, again) {
			t.Fatalf("round trip changed the header: %+v became %+v", h, again)
		}
	})
}
