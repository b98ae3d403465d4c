package pager

import (
	"uswap/ksync"
	"uswap/uffd"
)

// Ops is what the pager needs of the kernel for its region: the
// userfaultfd (messages and range ioctls) and the region's memory. Pages
// are numbered from 0 at the region's start. Errors wrap uffd.ErrExist,
// uffd.ErrAgain and uffd.ErrGone with the meanings of package uffd.
//
// Package realmem implements it on a real userfaultfd and a memfd;
// package uffdsim simulates it, as fs/userfaultfd.c behaves, for the
// explorer.
type Ops interface {
	// Wait blocks until messages may be pending, or returns an error once
	// Interrupt was called.
	Wait(t *ksync.Task) error
	// Read reads pending messages, up to len(msgs), without waiting.
	Read(t *ksync.Task, msgs []uffd.Msg) (int, error)
	// Interrupt makes Wait return an error, now and from then on.
	Interrupt(t *ksync.Task)

	// Copy is UFFDIO_COPY of one page.
	Copy(t *ksync.Task, page uint64, src []byte, mode uffd.CopyMode) error
	// Continue is UFFDIO_CONTINUE of one page: map the page that the
	// region's page cache still holds (after a minor fault),
	// write-protected with wp, and wake.
	Continue(t *ksync.Task, page uint64, wp bool) error
	// WriteProtect is UFFDIO_WRITEPROTECT of n pages from first; lifting
	// the protection wakes the threads whose writes faulted there.
	WriteProtect(t *ksync.Task, first, n uint64, wp bool) error
	// Wake is UFFDIO_WAKE of n pages from first.
	Wake(t *ksync.Task, first, n uint64) error
	// Poison is UFFDIO_POISON of one missing page: touching it raises
	// SIGBUS, as a page whose swap-in failed does in the kernel.
	Poison(t *ksync.Task, page uint64) error

	// ReadPage reads the current content of a resident page, without
	// faulting (a page that is not there reads as zeros or fails).
	ReadPage(t *ksync.Task, page uint64, dst []byte) error
	// Drop discards n pages from first: the kernel frees them (a hole
	// punched in the region's memfd) and the next access faults as
	// missing. It sends the process no event.
	Drop(t *ksync.Task, first, n uint64) error

	// Page maps a page number to the address userfaultfd messages use,
	// and PageOf an address back (ok false outside the region).
	Page(page uint64) uint64
	PageOf(addr uint64) (page uint64, ok bool)
}
