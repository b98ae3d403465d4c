// Package uffd is the Linux userfaultfd(2) interface on
// golang.org/x/sys/unix: open a userfaultfd, agree on the API and its
// features, register ranges for missing and write-protect faults, read
// the fault and event messages, and resolve faults with the range
// ioctls (UFFDIO_COPY, UFFDIO_ZEROPAGE, UFFDIO_WRITEPROTECT,
// UFFDIO_WAKE), each ioctl's errors reported as ioctl_userfaultfd(2) and
// fs/userfaultfd.c define them.
//
// Go types and their kernel counterparts (include/uapi/linux/userfaultfd.h):
//
//	FD          a userfaultfd file (struct userfaultfd_ctx behind it)
//	Msg         struct uffd_msg, the 32 bytes read(2) returns per message
//	Features    uffdio_api.features (UFFD_FEATURE_*)
//	Mode        uffdio_register.mode (UFFDIO_REGISTER_MODE_*)
//	CopyMode    uffdio_copy.mode (UFFDIO_COPY_MODE_*)
//
// What the errors mean, and what a fault handler must do about them:
//
//	ErrExist  (EEXIST) the destination is already mapped. The thread that
//	          faulted may still sleep (the page came from a copy made with
//	          DONTWAKE, or from another handler): wake the range.
//	ErrAgain  (EAGAIN) the address space is changing (a non-cooperative
//	          event, REMOVE, UNMAP, REMAP or FORK, is queued and not yet
//	          read: ctx->mmap_changing), or a copy stopped part way
//	          (Copied says how far). Read the pending events, then retry
//	          what is still missing, or drop the fault if an event
//	          removed the page.
//	ErrGone   (ENOENT or ESRCH) the range is no longer registered with
//	          this userfaultfd (unmapped, or registered elsewhere), or the
//	          process whose memory it is has exited. Nothing to resolve.
//
// A message is only a notification: the faulting thread sleeps until a
// range ioctl that covers its address wakes it (COPY, ZEROPAGE, and
// WRITEPROTECT clearing protection, unless asked not to; WAKE always),
// then retries its access, and faults again if the page is still not
// there. Two threads that fault on one page send two messages.
//
// An FD is safe for use from several goroutines. Its file descriptor is
// non-blocking and waits go through the Go runtime's poller (Wait), so a
// goroutine waiting for messages holds no thread.
//
// This is a tool package of uswap: it calls the operating system and
// takes no ksync task; the pager's engine reaches it through an interface.
package uffd
