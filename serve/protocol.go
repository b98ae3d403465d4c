// Package serve is `uswap serve`: a daemon that pages the memory of
// other processes, in any language. A process maps a memfd, opens a
// userfaultfd, and hands both to the daemon over a Unix socket with the
// region's description; the daemon registers the region and pages it
// with realmem.Attach until the process asks it to stop or goes away.
//
// The protocol (docs/serve.md) is a SOCK_SEQPACKET socket, one JSON
// object per message, version 1:
//
//	client -> daemon   {"version":1,"op":"register","base":ADDR,"size":BYTES,
//	                    "budget":BYTES,"policy":"workingset"}
//	                   with SCM_RIGHTS: the userfaultfd, then the memfd
//	daemon -> client   {"version":1,"ok":true,"region":ID,"pages":N,"budget_pages":B}
//	                   or {"version":1,"ok":false,"error":"..."}
//	client -> daemon   {"version":1,"op":"stats"}    -> {"ok":true,"stats":{...}}
//	client -> daemon   {"version":1,"op":"close"}    -> {"ok":true}: the region
//	                   is unregistered; the client may unmap it
//
// A connection carries one region. It stays open while the region is
// paged; when it closes (the client exits, or dies) the daemon
// unregisters the region and frees its slots, frames and descriptors. A
// request the daemon cannot take gets an error reply naming the problem,
// and the connection is closed; nothing else is affected.
//
// This package is a tool around the engine: it uses goroutines, sockets
// and locks of its own freely.
package serve

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the protocol version this daemon speaks.
const Version = 1

// MaxMessage is the largest message either side sends.
const MaxMessage = 4096

// Request is a client's message.
type Request struct {
	Version int    `json:"version"`
	Op      string `json:"op"` // "register", "stats" or "close"
	// register: the region [Base, Base+Size) of the client's address
	// space, a shared mapping of the memfd sent with it from offset 0.
	Base uint64 `json:"base,omitempty"`
	Size uint64 `json:"size,omitempty"`
	// Budget is how many bytes may be resident (0: the daemon's
	// default, a quarter of the region); Policy the eviction policy
	// ("workingset" or "fifo", "" the default); Readahead the pages a
	// sequential fault brings in (0: the default, -1 none).
	Budget    uint64 `json:"budget,omitempty"`
	Policy    string `json:"policy,omitempty"`
	Readahead int    `json:"readahead,omitempty"`
}

// Reply is the daemon's answer.
type Reply struct {
	Version     int    `json:"version"`
	OK          bool   `json:"ok"`
	Error       string `json:"error,omitempty"`
	Region      uint64 `json:"region,omitempty"`
	Pages       uint64 `json:"pages,omitempty"`
	BudgetPages uint64 `json:"budget_pages,omitempty"`
	Stats       *Stats `json:"stats,omitempty"`
}

// Stats is a region's counters, in a stats reply.
type Stats struct {
	Resident      int64  `json:"resident_pages"`
	MissingFaults uint64 `json:"missing_faults"`
	WPFaults      uint64 `json:"wp_faults"`
	MinorFaults   uint64 `json:"minor_faults"`
	SwapIns       uint64 `json:"swap_ins"`
	Written       uint64 `json:"pages_written"`
	Evicted       uint64 `json:"pages_evicted"`
	Removed       uint64 `json:"pages_removed"`
}

// parseRequest reads one message: strictly (unknown fields, trailing
// data and a wrong version are errors that say so).
func parseRequest(b []byte) (Request, error) {
	var r Request
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("the request is not a JSON object of this protocol: %v", err)
	}
	if dec.More() {
		return r, fmt.Errorf("the request has data after its JSON object")
	}
	if r.Version != Version {
		return r, fmt.Errorf("protocol version %d; this daemon speaks version %d", r.Version, Version)
	}
	switch r.Op {
	case "register", "stats", "close":
	case "":
		return r, fmt.Errorf(`the request has no "op" (register, stats or close)`)
	default:
		return r, fmt.Errorf("unknown op %q (register, stats or close)", r.Op)
	}
	return r, nil
}
