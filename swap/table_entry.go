package swap

import (
	"fmt"

	"uswap/mem"
)

// This file is mm/swap_table.h's entry encoding (after phase III), for the
// table design: one 64-bit word per slot.
//
//	NULL:     |---------------- 0 ---------------|  free slot
//	Shadow:   | SWAP_COUNT |---- SHADOW_VAL ---|1|  in use, not cached
//	PFN:      | SWAP_COUNT |------ PFN -------|10|  in use, cached: the swap cache folio
//	Pointer:  |----------- Pointer ----------|100|  reserved, unused
//	Bad:      |------------- 1 -------------|1000|  header page or bad slot
//
// SWAP_COUNT is the number of page table and shmem mapping entries that
// hold the slot's swap entry; the swap cache is not counted. A count of
// SwpTbCountMax means the count is in the cluster's extend table. A PFN
// entry may have count 0 (only the swap cache holds the slot); a shadow
// entry never has (the slot is freed when its count reaches 0 and no folio
// holds it). uswap keeps no workingset shadows: SHADOW_VAL is always 0.
const (
	swpTbNull          = uint64(0)
	swpTbShadowMark    = uint64(0b1)
	swpTbPFNMark       = uint64(0b10)
	swpTbPFNMarkBits   = 2
	swpTbPFNMarkMask   = uint64(1)<<swpTbPFNMarkBits - 1
	swpTbCountBits     = 4 // SWP_TB_COUNT_BITS: min(4, BITS_PER_LONG - SWP_TB_PFN_BITS)
	swpTbCountShift    = 64 - swpTbCountBits
	swpTbCountMask     = ^(^uint64(0) >> swpTbCountBits)
	swpTbBad           = ^uint64(0) &^ 0b111
	swpTbPFNMax        = ^swpTbCountMask >> swpTbPFNMarkBits
	swapTableEntrySize = 8 // atomic_long_t
)

// SwpTbCountMax is SWP_TB_COUNT_MAX: an entry holds counts up to
// SwpTbCountMax-1 by itself; SwpTbCountMax means "see the extend table".
const SwpTbCountMax = 1<<swpTbCountBits - 1

// countToSwpTb is __count_to_swp_tb().
func countToSwpTb(count int) uint64 {
	if count < 0 || count > SwpTbCountMax {
		panic(fmt.Sprintf("swap: table count %d out of 0..%d", count, SwpTbCountMax))
	}
	return uint64(count) << swpTbCountShift
}

// pfnToSwpTb is pfn_to_swp_tb(): a cached slot.
func pfnToSwpTb(pfn int, count int) uint64 {
	if pfn < 0 || uint64(pfn) > swpTbPFNMax {
		panic(fmt.Sprintf("swap: pfn %d does not fit a swap table entry", pfn))
	}
	return uint64(pfn)<<swpTbPFNMarkBits | swpTbPFNMark | countToSwpTb(count)
}

// folioToSwpTb is folio_to_swp_tb().
func folioToSwpTb(f *mem.Folio, count int) uint64 { return pfnToSwpTb(f.PFN(), count) }

// shadowToSwpTb is shadow_to_swp_tb() with an empty shadow: a slot in use
// and not cached, keeping its count.
func shadowToSwpTb(count int) uint64 { return swpTbShadowMark | countToSwpTb(count) }

func swpTbIsNull(tb uint64) bool   { return tb == swpTbNull }
func swpTbIsFolio(tb uint64) bool  { return tb&swpTbPFNMarkMask == swpTbPFNMark }
func swpTbIsShadow(tb uint64) bool { return tb&swpTbShadowMark != 0 }
func swpTbIsBad(tb uint64) bool    { return tb == swpTbBad }

// swpTbIsCountable is swp_tb_is_countable(): NULL, shadow or PFN.
func swpTbIsCountable(tb uint64) bool {
	return swpTbIsNull(tb) || swpTbIsShadow(tb) || swpTbIsFolio(tb)
}

// swpTbToPFN is the frame of a PFN entry (swp_tb_to_folio without the
// pool).
func swpTbToPFN(tb uint64) int { return int((tb &^ swpTbCountMask) >> swpTbPFNMarkBits) }

// swpTbGetCount is __swp_tb_get_count(): the entry's count field (which is
// SwpTbCountMax when the count is in the extend table).
func swpTbGetCount(tb uint64) int {
	if !swpTbIsCountable(tb) {
		panic(fmt.Sprintf("swap: count of an uncountable swap table entry %#x", tb))
	}
	return int(tb >> swpTbCountShift)
}

// swpTbSetCount keeps the entry's kind (PFN or shadow) with a new count.
func swpTbSetCount(tb uint64, count int) uint64 {
	return tb&^swpTbCountMask | countToSwpTb(count)
}

// swpTbString describes an entry for audits and bug reports.
func swpTbString(tb uint64) string {
	switch {
	case swpTbIsNull(tb):
		return "NULL"
	case swpTbIsBad(tb):
		return "bad"
	case swpTbIsFolio(tb):
		return fmt.Sprintf("PFN %d count %d", swpTbToPFN(tb), swpTbGetCount(tb))
	case swpTbIsShadow(tb):
		return fmt.Sprintf("shadow count %d", swpTbGetCount(tb))
	}
	return fmt.Sprintf("%#x (not an entry)", tb)
}
