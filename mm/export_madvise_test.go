package mm

import "uswap/ksync"

// PTEIsSwapForTest reports whether the PTE of addr holds a swap entry.
func (m *MM) PTEIsSwapForTest(t *ksync.Task, addr uint64) bool {
	pt, i := m.lookupPTE(t, addr)
	return pt != nil && pte(pt.ptes[i].Load(t)).isSwap()
}
