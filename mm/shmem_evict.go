package mm

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"uswap/fixes"
	"uswap/ksync"
)

// This file is the lifetime of a shmem inode and of the tmpfs superblock
// its files live on: the inode's reference count (i_count: igrab, iput),
// its eviction at the last iput (shmem_evict_inode), and the unmount that
// evicts every inode and frees the superblock (generic_shutdown_super).
// Swapoff's shmem_unuse() must keep the inode it works on from being
// freed without holding shmem_swaplist_mutex across the work: how it
// does so is the stop-eviction fix.

// ErrUnmounted is returned by ShmemCreate once the tmpfs is unmounted.
var ErrUnmounted = errors.New("shmem: tmpfs unmounted")

// errMountBusy is umount's -EBUSY: a file of the tmpfs is mapped.
var errMountBusy = errors.New("shmem: umount: a file is mapped (EBUSY)")

// shmemSB is the tmpfs superblock (struct super_block) the node's files
// live on.
type shmemSB struct {
	// umount is s_umount: an unmount holds it for writing.
	umount ksync.RWSem
	// info is s_fs_info, the shmem_sb_info: put_super frees it (nil
	// here). shmem_free_inode() uses it at every eviction: an eviction
	// after the unmount is a use after free (a nil pointer here).
	info ksync.Pointer[shmemSBInfo]
	// mounted is the shmem_sb_info the mount made, kept (immutable) only
	// to name its lock in traces after the unmount freed it.
	mounted *shmemSBInfo
}

// shmemSBInfo is struct shmem_sb_info, for its inode accounting.
type shmemSBInfo struct {
	statLock ksync.SpinLock // stat_lock: guards inodes
	inodes   int            // inodes in use (shmem_reserve_inode, shmem_free_inode)
}

// newShmemSB is shmem_fill_super(): the tmpfs is mounted.
func newShmemSB() *shmemSB {
	sb := &shmemSB{}
	sb.umount.Init(ksync.RankSUmount)
	info := &shmemSBInfo{}
	info.statLock.Init(ksync.RankShmemStat)
	sb.info.Init(info)
	sb.mounted = info
	return sb
}

// reserveInode is shmem_reserve_inode(): a new inode on the superblock;
// false once it is unmounted.
func (sb *shmemSB) reserveInode(t *ksync.Task) bool {
	info := sb.info.Load(t)
	if info == nil {
		return false
	}
	info.statLock.Lock(t)
	info.inodes++
	info.statLock.Unlock(t)
	return true
}

// freeInode is shmem_free_inode(): sbinfo = SHMEM_SB(sb), then its
// accounting. After the unmount sbinfo is gone: the kernel dereferences
// freed memory ("Self-destruct in 5 seconds"), uswap a nil pointer.
func (sb *shmemSB) freeInode(t *ksync.Task) {
	info := sb.info.Load(t)
	info.statLock.Lock(t)
	info.inodes--
	info.statLock.Unlock(t)
}

// igrab is igrab(): one more reference on the inode, unless it is already
// on its way to being freed (I_FREEING: its count reached zero).
func (f *ShmemFile) igrab(t *ksync.Task) bool { return f.count.AddUnless(t, 1, 0) }

// iput is iput(): drop a reference; the last one evicts the inode.
func (f *ShmemFile) iput(t *ksync.Task) error {
	if f.count.Add(t, -1) == 0 {
		return f.evict(t)
	}
	return nil
}

// evict is shmem_evict_inode() and the freeing of the inode: truncate
// every page and swap entry, take the inode off the swaplist, and free
// it on its superblock.
//
// Taking it off the swaplist waits while shmem_unuse() works on it
// (info->stop_eviction, commit af53d3e9e040): swapoff has dropped
// shmem_swaplist_mutex and still uses the inode. With the fix reverted
// or in its s-umount variant nothing raises the count, and the wait is
// never taken.
func (f *ShmemFile) evict(t *ksync.Task) error {
	n := f.node
	f.inodeLock.Lock(t)
	f.iPages.Lock(t)
	f.deleted = true
	f.size.Store(t, 0)
	f.iPages.Unlock(t)
	err := f.undoRange(t, 0, math.MaxInt64)
	f.inodeLock.Unlock(t)
	for {
		// wait_var_event(&info->stop_eviction, !stop_eviction)
		n.shmem.evictWQ.Wait(t, func() bool { return f.stopEviction.Load(t) == 0 })
		n.shmem.lock.Lock(t)
		// ...but beware of the race if we peeked too early.
		if f.stopEviction.Load(t) == 0 {
			n.shmem.files = without(n.shmem.files, f)
			n.shmem.lock.Unlock(t)
			break
		}
		n.shmem.lock.Unlock(t)
	}
	f.sb.freeInode(t)
	return err
}

// ShmemUmount is the unmount of the tmpfs the node's files live on
// (kill_litter_super, generic_shutdown_super), with s_umount held for
// writing: every file loses its name (the dentries are shrunk: iput),
// which evicts every inode that nothing else holds; an inode something
// still holds is busy ("VFS: Busy inodes after unmount"), and the
// superblock is freed under it all the same. A mapped file makes it fail
// with EBUSY. Afterwards ShmemCreate fails.
func (n *Node) ShmemUmount(t *ksync.Task) error {
	sb := n.shmem.sb
	sb.umount.Lock(t)
	defer sb.umount.Unlock(t)
	if sb.info.Load(t) == nil {
		return ErrUnmounted
	}
	files := n.shmemFiles(t)
	for _, f := range files {
		f.iMmapLock.Lock(t)
		mapped := len(f.iMmap) != 0
		f.iMmapLock.Unlock(t)
		if mapped {
			return fmt.Errorf("%w: %v", errMountBusy, f)
		}
	}
	var errs []error
	for _, f := range files {
		if err := f.unlink(t); err != nil && !errors.Is(err, ErrShmemDeleted) {
			errs = append(errs, err)
		}
	}
	// put_super: shmem_put_super() frees the shmem_sb_info, busy inodes
	// or not.
	sb.info.Store(t, nil)
	return errors.Join(errs...)
}

// shmemUnuseHold keeps f from being freed while shmem_unuse() works on it
// without shmem_swaplist_mutex, if f is still on the swaplist; it
// reports whether f is to be worked on, and what to release after.
//
// As commit af53d3e9e040 has it, shmem_unuse() raises f's stop_eviction
// under the mutex: an eviction (unlink, unmount) waits for it. With the
// stop-eviction fix reverted it takes igrab(), as from b56a2d8af914: an
// unlink's iput() then leaves the eviction to swapoff's iput(), but an
// unmount frees the superblock under the busy inode, and swapoff's iput()
// evicts it into freed memory: the race of scenario swapoff-umount
// (drawn in explore/testdata/scenarios/swapoff-umount.txt). In the
// s-umount variant it first trylocks s_umount for reading, which an
// unmount holds for writing: an inode of a filesystem being unmounted is
// skipped (the unmount frees its swap), and the unmount waits for
// swapoff to be done with the inode. (The kernel from v2.6.39 to v5.0
// held the mutex across the work, commit 778dd893ae78, which an
// eviction needs to take the inode off the list; uswap's lock order
// makes shmem_swaplist_mutex a leaf, so that form is not a variant.)
func (n *Node) shmemUnuseHold(t *ksync.Task, f *ShmemFile) (ok bool, release func()) {
	n.shmem.lock.Lock(t)
	if !slices.Contains(n.shmem.files, f) {
		n.shmem.lock.Unlock(t)
		return false, nil
	}
	switch n.cfg.Fixes.Get(fixes.StopEviction) {
	case fixes.StopEvictionCount:
		f.stopEviction.Add(t, 1)
		n.shmem.lock.Unlock(t)
		return true, func() {
			n.shmem.lock.Lock(t)
			if f.stopEviction.Add(t, -1) == 0 {
				n.shmem.evictWQ.WakeAll(t) // wake_up_var()
			}
			n.shmem.lock.Unlock(t)
		}
	case fixes.StopEvictionSUmount:
		if !f.sb.umount.TryRLock(t) { // trylock_super()
			n.shmem.lock.Unlock(t)
			return false, nil
		}
		if !f.igrab(t) {
			f.sb.umount.RUnlock(t)
			n.shmem.lock.Unlock(t)
			return false, nil
		}
		n.shmem.lock.Unlock(t)
		return true, func() {
			f.iput(t)
			f.sb.umount.RUnlock(t)
		}
	}
	grabbed := f.igrab(t)
	n.shmem.lock.Unlock(t)
	if !grabbed {
		return false, nil
	}
	return true, func() { f.iput(t) }
}
