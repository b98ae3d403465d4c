package swapdev

import (
	"fmt"

	"uswap/ksync"
)

// MMStat is /sys/block/zram<id>/mm_stat, plus PagesStored. Figures are
// sums of per-CPU counters read without a lock: exact at quiescence,
// approximate while I/O runs.
type MMStat struct {
	OrigDataSize   uint64 // bytes of pages stored, uncompressed (same-filled included)
	ComprDataSize  uint64 // bytes of compressed data (huge pages count PageSize)
	MemUsedTotal   uint64 // bytes of pool chunks allocated
	MemLimit       uint64 // always 0: no mem_limit
	MemUsedMax     uint64 // high-water mark of MemUsedTotal
	SamePages      uint64 // pages stored as a fill word
	PagesCompacted uint64 // always 0: the pool does not compact
	HugePages      uint64 // pages stored uncompressed
	HugePagesSince uint64 // pages ever stored uncompressed
	PagesStored    uint64 // slots holding a page (zram's pages_stored)
}

// String is mm_stat_show()'s line: the first nine fields in the kernel's
// order and widths.
func (m MMStat) String() string {
	return fmt.Sprintf("%8d %8d %8d %8d %8d %8d %8d %8d %8d",
		m.OrigDataSize, m.ComprDataSize, m.MemUsedTotal, m.MemLimit, m.MemUsedMax,
		m.SamePages, m.PagesCompacted, m.HugePages, m.HugePagesSince)
}

// IOStat is /sys/block/zram<id>/io_stat plus the read and write counts of
// /sys/block/zram<id>/stat and miss_free (debug_stat in older kernels).
type IOStat struct {
	NumReads     uint64
	NumWrites    uint64
	FailedReads  uint64
	FailedWrites uint64
	InvalidIO    uint64
	NotifyFree   uint64
	MissFree     uint64
}

// String is io_stat_show()'s line, then the counts it does not show.
func (s IOStat) String() string {
	return fmt.Sprintf("%8d %8d %8d %8d reads=%d writes=%d miss_free=%d",
		s.FailedReads, s.FailedWrites, s.InvalidIO, s.NotifyFree, s.NumReads, s.NumWrites, s.MissFree)
}

// MMStat is mm_stat_show().
func (z *RAM) MMStat() MMStat {
	stored := z.stats.pagesStored.Sum()
	return MMStat{
		OrigDataSize:   stored * PageSize,
		ComprDataSize:  z.stats.comprDataSize.Sum(),
		MemUsedTotal:   z.pool.memUsed(),
		MemUsedMax:     z.pool.maxUsed.Load(ksync.NewTask("mm_stat", 0)) * PageSize,
		SamePages:      z.stats.samePages.Sum(),
		HugePages:      z.stats.hugePages.Sum(),
		HugePagesSince: z.stats.hugePagesSince.Sum(),
		PagesStored:    stored,
	}
}

// IOStat is io_stat_show().
func (z *RAM) IOStat() IOStat {
	return IOStat{
		NumReads:     z.stats.numReads.Sum(),
		NumWrites:    z.stats.numWrites.Sum(),
		FailedReads:  z.stats.failedReads.Sum(),
		FailedWrites: z.stats.failedWrites.Sum(),
		InvalidIO:    z.stats.invalidIO.Sum(),
		NotifyFree:   z.stats.notifyFree.Sum(),
		MissFree:     z.stats.missFree.Sum(),
	}
}
