// Package swapdev holds uswap's swap devices and the on-disk swap format:
// the kernel's block layer as the swap core sees it, zram, and the
// `union swap_header` that mkswap writes and swapon reads.
//
// Go types and their Linux counterparts:
//
//	Device        a swap_info_struct's bdev/swap_file as swap_read_folio and
//	              swap_writepage use it, plus SWP_SYNCHRONOUS_IO
//	Header        union swap_header (include/linux/swap.h)
//	ParseHeader   read_swap_header() (mm/swapfile.c)
//	RAM           struct zram (drivers/block/zram/zram_drv.c)
//	zramSlot      struct zram_table_entry, with ZRAM_LOCK as a bit lock
//	zcompStrm     struct zcomp_strm: one per CPU, behind a mutex
//	zsPool        struct zs_pool (mm/zsmalloc.c): size classes of objects
//	              carved out of 64 KiB chunks (zspages)
//	File          a swap file on a filesystem, read and written in place
//	Mkswap        util-linux mkswap(8)
//
// What it owns: every byte of swapped-out data (the RAM device's pool, the
// file device's file), the per-slot metadata of the RAM device, and the
// devices' statistics. The swap core above decides which slots are in use;
// a device only stores what it is given.
//
// Lock order (outermost first), RAM device:
//
//	zramSlot ZRAM_LOCK bit (per slot)
//	  zcompStrm.mu (per CPU)
//	    sizeClass.lock (per size class, a spinlock)
//
// The write path takes the stream, allocates from the pool, drops the
// stream and only then takes the slot lock to install the object (as
// zram_write_page does), so it never holds a slot lock and a stream at
// once; the read path holds the slot lock across decompression, which
// keeps a concurrent write or discard from freeing the object under it.
// The File device takes no lock: pread/pwrite are atomic enough for the
// swap core, which never issues two writes to one slot at a time.
package swapdev
