package mm_test

import (
	"fmt"

	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/system"
	"uswap/workload"
)

// usemem is a usemem-like load: fill pages with their pattern, then for
// rounds, read each page back (checking it) and rewrite some of them with
// a new generation. It returns the first error or wrong byte.
func usemem(t *ksync.Task, m *mm.MM, addr uint64, pages int, base uint64, rounds int) error {
	buf := make([]byte, mem.PageSize)
	gen := make([]uint64, pages)
	rng := base | 1
	for i := range pages {
		gen[i] = base + uint64(i)
		workload.FillPage(buf, gen[i], workload.Mixed)
		if err := m.Store(t, addr+uint64(i)*mem.PageSize, buf); err != nil {
			return fmt.Errorf("store page %d: %w", i, err)
		}
	}
	for r := range rounds {
		for k := range pages {
			i := k
			if r%2 == 1 {
				i = int(workload.SplitMix64(&rng) % uint64(pages))
			}
			a := addr + uint64(i)*mem.PageSize
			if err := m.Load(t, a, buf); err != nil {
				return fmt.Errorf("round %d: load page %d: %w", r, i, err)
			}
			if err := system.CheckPage(buf, gen[i], workload.Mixed); err != nil {
				return fmt.Errorf("round %d: %w", r, err)
			}
			if workload.SplitMix64(&rng)%4 == 0 {
				gen[i] += uint64(pages) * 1000
				workload.FillPage(buf, gen[i], workload.Mixed)
				if err := m.Store(t, a, buf); err != nil {
					return fmt.Errorf("round %d: store page %d: %w", r, i, err)
				}
			}
		}
	}
	return nil
}
