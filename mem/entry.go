package mem

import "fmt"

// SwpEntry is swp_entry_t: a swap device's type (its index in swap_info[])
// and a slot offset on it. The zero value means "no entry": offset 0 of
// every device is its header page, which is never allocated.
type SwpEntry uint64

const (
	swpTypeShift = 58
	// MaxSwapfiles is MAX_SWAPFILES: the number of swap device types.
	MaxSwapfiles = 32
	// MaxSwapOffset is the largest slot offset an entry can carry.
	MaxSwapOffset = 1<<swpTypeShift - 1
)

// SwpEntryOf is swp_entry(type, offset).
func SwpEntryOf(typ int, offset uint64) SwpEntry {
	if typ < 0 || typ >= MaxSwapfiles || offset > MaxSwapOffset {
		panic(fmt.Sprintf("mem: swap entry out of range: type %d offset %d", typ, offset))
	}
	return SwpEntry(uint64(typ)<<swpTypeShift | offset)
}

// Type is swp_type().
func (e SwpEntry) Type() int { return int(e >> swpTypeShift) }

// Offset is swp_offset().
func (e SwpEntry) Offset() uint64 { return uint64(e) & MaxSwapOffset }

func (e SwpEntry) String() string {
	if e == 0 {
		return "swp(none)"
	}
	return fmt.Sprintf("swp(%d:%d)", e.Type(), e.Offset())
}
