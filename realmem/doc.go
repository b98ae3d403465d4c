// Package realmem puts real memory under uswap's pager: Map returns a
// region of memory of which at most a budget is resident, the rest
// swapped out to a uswap device (compressed RAM, or a swap file) by the
// pager of package pager, through a userfaultfd. Attach does the same for
// a region of another process, from its userfaultfd and memfd (what
// `uswap serve` receives over its socket).
//
// A region is a shared mapping of a memfd that only the pager and the
// process use, registered with a userfaultfd for missing, write-protect
// and minor faults and for the REMOVE and UNMAP events. The pager reads
// pages with pread(2) on the memfd, which never faults, and drops them
// with fallocate(2)'s FALLOC_FL_PUNCH_HOLE, which sends the process no
// event and touches no other mapping. (On anonymous memory the only way
// to drop a page is MADV_DONTNEED, which would send the pager its own
// REMOVE event and wait until it is read, and could not tell its own
// drops from the process's.) To the process the region behaves as
// anonymous memory: MADV_DONTNEED and MADV_REMOVE discard a range (it
// reads as zeros afterwards), munmap of part of it is followed, and the
// region is not inherited by fork (MADV_DONTFORK).
//
// Not supported: mremap of a region (its pages that are not resident
// would read as zeros at the new address), and a region in a child
// process.
//
// Go programs: a goroutine that touches a page that is not resident
// sleeps in the kernel until a worker goroutine resolves the fault. The
// runtime sees it running: it holds its P until it is preempted (within
// about 10 ms; Map raises GOMAXPROCS so that the workers find a P), and
// it can be preempted only where Go code faulted. Touch a region with Go
// code (indexing, encoding/binary), not with copy(), append or other
// runtime routines written in assembly: a goroutine that faults inside
// memmove cannot stop for a garbage collection, whose stop-the-world
// then waits for it while the workers that would resolve its fault are
// stopped. A program that cannot avoid them should have its region
// paged from another process: `uswap serve` (docs/serve.md), whose
// workers no collector of the program stops.
//
// This package is the pager's binding to the operating system: it uses
// goroutines, files and system calls freely; the pager's protocol runs
// on ksync tasks.
package realmem
