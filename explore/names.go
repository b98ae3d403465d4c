package explore

import (
	"uswap/ksync"
	"uswap/mem"
	"uswap/mm"
	"uswap/swap"
	"uswap/system"
)

// objectNamer is what the engine's packages implement to name their
// objects in traces (swap.Core, mem.Pool, mm.Node, mm.MM,
// memcg.Hierarchy, the swapdev devices).
type objectNamer interface{ ObjectName(obj any) string }

// namers names an object with the first of ns that knows it.
func namers(ns ...objectNamer) func(obj any) string {
	return func(obj any) string {
		for _, n := range ns {
			if s := n.ObjectName(obj); s != "" {
				return s
			}
		}
		return ""
	}
}

// systemNamer names a system's objects in traces with the kernel's
// names: the swap core's ("si0->lock", "ci0[0]->lock", "si0->users",
// "si0->swap_map[5]"), the frame pool's ("folio(pfn 7)->flags"), the
// node's ("lruvec1->lru_lock", "shmem0->i_pages[0]"), the memory
// cgroups' ("memcg(/workload)->memory.usage"), the devices' ("zram0->
// table[3].flags ZRAM_LOCK") and those of the given address spaces
// ("mm1->mmap_lock", "pte@0x100008000").
func systemNamer(s *system.System, mms ...*mm.MM) func(obj any) string {
	ns := []objectNamer{s.Core(), s.Pool(), s.Node(), s.Root().Hierarchy(), s}
	for _, d := range s.Devices() {
		if n, ok := d.(objectNamer); ok {
			ns = append(ns, n)
		}
	}
	for _, m := range mms {
		ns = append(ns, m)
	}
	return namers(ns...)
}

// coreNamer names the objects of a swap core, its frame pool and its
// devices, for scenarios that run the swap core alone.
func coreNamer(c *swap.Core, p *mem.Pool, devs ...any) func(obj any) string {
	ns := []objectNamer{c, p}
	for _, d := range devs {
		if n, ok := d.(objectNamer); ok {
			ns = append(ns, n)
		}
	}
	return namers(ns...)
}

// waitQueueOwner is a primitive whose sleepers wait on an inner queue
// (ksync.Completion, ksync.LiveRef).
type waitQueueOwner interface{ WaitQueue() *ksync.WaitQueue }
