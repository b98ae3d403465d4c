package fixes

// StopEviction is commit af53d3e9e040: swapoff's shmem_unuse() drops
// shmem_swaplist_mutex while it swaps an inode's pages in, and since
// commit b56a2d8af914 (mm: rid swapoff of quadratic complexity, v5.1-rc1)
// held the inode with igrab() meanwhile, which keeps an unlink from
// freeing it but not an unmount: generic_shutdown_super() frees the
// superblock with the inode still busy, and swapoff's iput() evicts it
// into the freed superblock.
var StopEviction = Register(Info{
	Name:   "stop-eviction",
	Commit: "af53d3e9e040 (mm: swapoff: shmem_unuse() stop eviction without igrab())",
	Race: "shmem_unuse() holds the inode it works on with igrab(), which does not stop an unmount: the " +
		"superblock is freed under the busy inode, and swapoff's iput() evicts it into freed memory",
	Variants: []VariantInfo{
		StopEvictionNone: {
			Status: StatusBefore,
			Name:   "none",
			Source: "the code between commit b56a2d8af914 (mm: rid swapoff of quadratic complexity, " +
				"v5.1-rc1) and af53d3e9e040 (v5.1-rc5)",
			Doc: "shmem_unuse() takes igrab() on each inode before it drops the swaplist mutex, and " +
				"iput() after; an unmount meanwhile frees the superblock under it",
		},
		StopEvictionCount: {
			Status: StatusCurrent,
			Name:   "stop-eviction",
			Source: "commit af53d3e9e040 (Hugh Dickins, Apr 2019), the kernel's form since",
			Doc: "shmem_unuse() raises info->stop_eviction instead; shmem_evict_inode() waits for it to " +
				"fall to zero before it takes the inode off the swaplist and frees it, so an unmount " +
				"waits for swapoff to be done with the inode",
		},
		StopEvictionSUmount: {
			Status: StatusProposed,
			Name:   "s-umount",
			Source: "Konstantin Khlebnikov's patch in the thread (Apr 5 2019, 'shmem: fix race between " +
				"shmem_unuse and umount'), with Hugh Dickins' correction (release after the iput)",
			Doc: "shmem_unuse() trylocks the superblock's s_umount for reading before igrab(), skipping " +
				"an inode whose filesystem is being unmounted, and releases it only after its iput()",
		},
	},
	Unfixed: StopEvictionNone,
	Merged:  StopEvictionCount,
})

// The variants of StopEviction.
const (
	StopEvictionNone Variant = iota
	StopEvictionCount
	StopEvictionSUmount
)
