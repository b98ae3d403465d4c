package realmem

import (
	"fmt"

	"golang.org/x/sys/unix"

	"uswap/ksync"
	"uswap/pager"
	"uswap/uffd"
)

// kernelOps is pager.Ops on a real userfaultfd and the region's memfd:
// the region's page n is at address base+n*PageSize in the process the
// userfaultfd belongs to, and at offset n*PageSize in the memfd.
type kernelOps struct {
	u     *uffd.FD
	memfd int
	base  uint64
	pages uint64
}

var _ pager.Ops = (*kernelOps)(nil)

const pageSize = pager.PageSize

func (o *kernelOps) Wait(t *ksync.Task) error { return o.u.Wait() }

func (o *kernelOps) Read(t *ksync.Task, msgs []uffd.Msg) (int, error) { return o.u.ReadMsgs(msgs) }

func (o *kernelOps) Interrupt(t *ksync.Task) { o.u.Interrupt() }

func (o *kernelOps) Copy(t *ksync.Task, page uint64, src []byte, mode uffd.CopyMode) error {
	_, err := o.u.Copy(o.Page(page), src, mode)
	return err
}

func (o *kernelOps) Continue(t *ksync.Task, page uint64, wp bool) error {
	_, err := o.u.Continue(o.Page(page), pageSize, wp, false)
	return err
}

func (o *kernelOps) WriteProtect(t *ksync.Task, first, n uint64, wp bool) error {
	return o.u.WriteProtect(o.Page(first), n*pageSize, wp, false)
}

func (o *kernelOps) Wake(t *ksync.Task, first, n uint64) error {
	return o.u.Wake(o.Page(first), n*pageSize)
}

func (o *kernelOps) Poison(t *ksync.Task, page uint64) error {
	_, err := o.u.Poison(o.Page(page), pageSize)
	return err
}

// ReadPage reads the page from the memfd: pread never faults, and reads
// a hole as zeros.
func (o *kernelOps) ReadPage(t *ksync.Task, page uint64, dst []byte) error {
	for done := 0; done < len(dst); {
		n, err := unix.Pread(o.memfd, dst[done:], int64(page*pageSize)+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("pread of page %d: %w", page, err)
		}
		if n == 0 {
			clear(dst[done:])
			break
		}
		done += n
	}
	return nil
}

// Drop punches the pages out of the memfd: their page cache pages and
// every mapping of them go, and no event is sent.
func (o *kernelOps) Drop(t *ksync.Task, first, n uint64) error {
	for {
		err := unix.Fallocate(o.memfd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(first*pageSize), int64(n*pageSize))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("punching pages %d+%d: %w", first, n, err)
		}
		return nil
	}
}

func (o *kernelOps) Page(n uint64) uint64 { return o.base + n*pageSize }

func (o *kernelOps) PageOf(addr uint64) (uint64, bool) {
	if addr < o.base || addr >= o.base+o.pages*pageSize {
		return 0, false
	}
	return (addr - o.base) / pageSize, true
}
