package swap

import (
	"unsafe"

	"uswap/ksync"
)

// This file measures what each design keeps per slot (Footprint), from the
// sizes of the real structures.

func (cl classicSlots) footprint(t *ksync.Task, si *SwapInfo, f *Footprint) {
	f.Static += uint64(len(si.swapMap)) + uint64(len(si.clusters))*uint64(unsafe.Sizeof(cluster{})) +
		uint64(len(si.cont))*uint64(unsafe.Sizeof(contHead{}))
	for i := range si.clusters {
		ci := &si.clusters[i]
		ci.lock.Lock(t)
		if ci.table != nil {
			f.Tables += uint64(unsafe.Sizeof(clusterTable{}))
			f.TableCount++
		}
		ci.lock.Unlock(t)
	}
	si.contLock.Lock(t)
	for i := range si.cont {
		f.Overflow += uint64(len(contDigits(t, &si.cont[i], 0))) * uint64(unsafe.Sizeof(contPage{}))
	}
	si.contLock.Unlock(t)
}

func (ts tableSlots) footprint(t *ksync.Task, si *SwapInfo, f *Footprint) {
	f.Static += uint64(len(si.clusters)) * uint64(unsafe.Sizeof(cluster{}))
	for i := range si.clusters {
		ci := &si.clusters[i]
		ci.lock.Lock(t)
		if ci.tb.Load(t) != nil {
			f.Tables += uint64(unsafe.Sizeof(swapTable{}))
			f.TableCount++
		}
		if ci.extend != nil {
			f.Overflow += uint64(unsafe.Sizeof(extendTable{}))
		}
		ci.lock.Unlock(t)
	}
}
