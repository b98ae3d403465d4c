package explore

import (
	"uswap/ksync"
	"uswap/mem"
)

// pageTable is the smallest page table a swap-core scenario needs, until
// the mm layer's address spaces can stand in: PTEs guarded by one page
// table lock (the kernel's split PTL). A PTE value is 0 (pte_none), a
// swap entry, or, with ptePresent set, the frame number of a mapped
// folio.
type pageTable struct {
	ptl  ksync.SpinLock // pte_offset_map_lock()
	ptes []ksync.Uint64 // guarded by ptl for writes; read under ptl too
}

const ptePresent = 1 << 63

func presentPTE(f *mem.Folio) uint64 { return ptePresent | uint64(f.PFN()) }

func pteIsSwap(v uint64) bool { return v != 0 && v&ptePresent == 0 }

func pteSwap(v uint64) mem.SwpEntry { return mem.SwpEntry(v) }

func ptePFN(v uint64) int { return int(v &^ ptePresent) }

func newPageTable(n int) *pageTable { return &pageTable{ptes: make([]ksync.Uint64, n)} }

// names registers the table's objects for traces.
func (pt *pageTable) names(m map[any]string) {
	m[&pt.ptl] = "PTL"
	for i := range pt.ptes {
		m[&pt.ptes[i]] = "pte"
		if len(pt.ptes) > 1 {
			m[&pt.ptes[i]] = "pte" + string(rune('0'+i%10))
		}
	}
}
