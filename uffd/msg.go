package uffd

import (
	"encoding/binary"
	"fmt"
)

// Event is uffd_msg.event.
type Event uint8

// The events, with the kernel's values (they start at 0x12 "to be more
// strict against bugs").
const (
	EventPagefault Event = 0x12 // UFFD_EVENT_PAGEFAULT
	EventFork      Event = 0x13 // UFFD_EVENT_FORK: Msg.UFD is the child's new userfaultfd
	EventRemap     Event = 0x14 // UFFD_EVENT_REMAP: mremap moved From to To, Len bytes
	EventRemove    Event = 0x15 // UFFD_EVENT_REMOVE: MADV_DONTNEED/MADV_REMOVE of Start..End
	EventUnmap     Event = 0x16 // UFFD_EVENT_UNMAP: munmap of Start..End
)

func (e Event) String() string {
	switch e {
	case EventPagefault:
		return "pagefault"
	case EventFork:
		return "fork"
	case EventRemap:
		return "remap"
	case EventRemove:
		return "remove"
	case EventUnmap:
		return "unmap"
	}
	return fmt.Sprintf("event(%#x)", uint8(e))
}

// Page fault flags (uffd_msg.arg.pagefault.flags).
const (
	FlagWrite uint64 = 1 << 0 // UFFD_PAGEFAULT_FLAG_WRITE: a write access
	FlagWP    uint64 = 1 << 1 // UFFD_PAGEFAULT_FLAG_WP: a write to a write-protected page
	FlagMinor uint64 = 1 << 2 // UFFD_PAGEFAULT_FLAG_MINOR
)

// Msg is one struct uffd_msg, decoded. Which fields mean something
// depends on Event.
type Msg struct {
	Event Event
	// Pagefault: the faulting address (page-aligned unless
	// FeatureExactAddress), the flags, and the thread id with
	// FeatureThreadID.
	Addr  uint64
	Flags uint64
	TID   uint32
	// Fork: the child's userfaultfd, already installed in this process.
	UFD uint32
	// Remap: from, to and length.
	From, To, Len uint64
	// Remove and Unmap: the range [Start, End).
	Start, End uint64
}

// Write reports a write fault; WP a write-protect fault.
func (m *Msg) Write() bool { return m.Flags&FlagWrite != 0 }

// Minor reports a minor fault: the page is in the page cache of the
// range's file, but the process's page table does not map it.
func (m *Msg) Minor() bool { return m.Flags&FlagMinor != 0 }

// WP reports a write-protect fault (a write to a page mapped
// write-protected), as opposed to a missing page.
func (m *Msg) WP() bool { return m.Flags&FlagWP != 0 }

func (m Msg) String() string {
	switch m.Event {
	case EventPagefault:
		kind := "missing"
		if m.WP() {
			kind = "wp"
		} else if m.Minor() {
			kind = "minor"
		}
		rw := "read"
		if m.Write() {
			rw = "write"
		}
		return fmt.Sprintf("pagefault %s %s @%#x tid %d", kind, rw, m.Addr, m.TID)
	case EventFork:
		return fmt.Sprintf("fork ufd %d", m.UFD)
	case EventRemap:
		return fmt.Sprintf("remap %#x -> %#x len %#x", m.From, m.To, m.Len)
	case EventRemove, EventUnmap:
		return fmt.Sprintf("%v %#x-%#x", m.Event, m.Start, m.End)
	}
	return m.Event.String()
}

// decodeMsg decodes the 32 bytes of one struct uffd_msg (packed, and
// in the machine's byte order).
func decodeMsg(b []byte) Msg {
	le := binary.NativeEndian
	m := Msg{Event: Event(b[0])}
	arg := b[8:32]
	switch m.Event {
	case EventPagefault:
		m.Flags = le.Uint64(arg[0:])
		m.Addr = le.Uint64(arg[8:])
		m.TID = le.Uint32(arg[16:])
	case EventFork:
		m.UFD = le.Uint32(arg[0:])
	case EventRemap:
		m.From, m.To, m.Len = le.Uint64(arg[0:]), le.Uint64(arg[8:]), le.Uint64(arg[16:])
	case EventRemove, EventUnmap:
		m.Start, m.End = le.Uint64(arg[0:]), le.Uint64(arg[8:])
	}
	return m
}

// encodeMsg is decodeMsg's inverse, for tests and simulators.
func encodeMsg(m Msg, b []byte) {
	le := binary.NativeEndian
	clear(b[:msgSize])
	b[0] = byte(m.Event)
	arg := b[8:32]
	switch m.Event {
	case EventPagefault:
		le.PutUint64(arg[0:], m.Flags)
		le.PutUint64(arg[8:], m.Addr)
		le.PutUint32(arg[16:], m.TID)
	case EventFork:
		le.PutUint32(arg[0:], m.UFD)
	case EventRemap:
		le.PutUint64(arg[0:], m.From)
		le.PutUint64(arg[8:], m.To)
		le.PutUint64(arg[16:], m.Len)
	case EventRemove, EventUnmap:
		le.PutUint64(arg[0:], m.Start)
		le.PutUint64(arg[8:], m.End)
	}
}
