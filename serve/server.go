package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"uswap/pager"
	"uswap/realmem"
)

// Config is a daemon's set-up.
type Config struct {
	// Socket is the path of the listening socket; it must not exist.
	Socket string
	// Device is "ram" (default) or "file"; a file device's swap files
	// are made in SwapDir, one per region, and removed with it.
	Device  string
	Comp    string
	SwapDir string
	// MaxRegionBytes bounds one region (0: 1 TiB); MaxRegions the
	// regions paged at once (0: 64).
	MaxRegionBytes uint64
	MaxRegions     int
	// Workers per region (0: 2).
	Workers int
	// Log receives one line per connection event; nil discards them.
	Log *log.Logger
}

// Server is a running daemon.
type Server struct {
	cfg Config
	ln  *net.UnixListener

	mu      sync.Mutex
	regions map[uint64]*region // guarded by mu
	nextID  uint64             // guarded by mu: also the regions registered so far
	refused int                // guarded by mu: requests refused
	conns   sync.WaitGroup
}

// Totals are what a daemon did: the regions it registered, and the
// requests it refused.
type Totals struct {
	Registered uint64 `json:"regions_registered"`
	Refused    int    `json:"requests_refused"`
}

// Totals counts what the server did so far.
func (s *Server) Totals() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Totals{Registered: s.nextID, Refused: s.refused}
}

type region struct {
	id   uint64
	r    *realmem.Region
	pid  int32
	conn *net.UnixConn
}

// Listen creates the socket and returns the server; Serve runs it.
func Listen(cfg Config) (*Server, error) {
	if cfg.Socket == "" {
		return nil, errors.New("serve: no socket path")
	}
	switch cfg.Device {
	case "", "ram":
	case "file":
		if cfg.SwapDir == "" {
			return nil, errors.New("serve: a file device needs a swap directory")
		}
	default:
		return nil, fmt.Errorf("serve: device %q: want ram or file", cfg.Device)
	}
	if cfg.MaxRegionBytes == 0 {
		cfg.MaxRegionBytes = 1 << 40
	}
	if cfg.MaxRegions == 0 {
		cfg.MaxRegions = 64
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: cfg.Socket, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return &Server{cfg: cfg, ln: ln, regions: map[uint64]*region{}}, nil
}

// Serve accepts clients until ctx is done, then closes every region and
// the socket (removing its file) and returns.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	var err error
	for {
		c, aerr := s.ln.AcceptUnix()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("serve: accept: %w", aerr)
			}
			break
		}
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			s.handle(ctx, c)
		}()
	}
	s.ln.Close()
	// Close every region's connection: each handler then closes its
	// region.
	s.mu.Lock()
	for _, rg := range s.regions {
		rg.conn.Close()
	}
	s.mu.Unlock()
	s.conns.Wait()
	return err
}

// Regions is the number of regions paged now.
func (s *Server) Regions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.regions)
}

// handle serves one connection: a register request first, then stats
// and close requests, until the client closes it.
func (s *Server) handle(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	pid := peerPID(c)
	var rg *region
	defer func() {
		if rg != nil {
			s.drop(rg, "connection closed")
		}
	}()
	buf := make([]byte, MaxMessage)
	oob := make([]byte, unix.CmsgSpace(2*4))
	for {
		n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		fds, ferr := receivedFDs(oob[:oobn], flags)
		req, perr := parseRequest(buf[:n])
		if flags&unix.MSG_TRUNC != 0 {
			perr = fmt.Errorf("the request is longer than %d bytes", MaxMessage)
		}
		var reply Reply
		switch {
		case ferr != nil:
			reply = fail(ferr)
		case perr != nil:
			reply = fail(perr)
		case req.Op == "register" && rg != nil:
			reply = fail(errors.New("this connection has a region already: one region per connection"))
		case req.Op == "register":
			var err error
			if rg, err = s.register(req, fds, pid, c); err != nil {
				reply = fail(err)
			} else {
				fds = nil // the region owns them
				reply = Reply{Version: Version, OK: true, Region: rg.id, Pages: rg.r.Pages(), BudgetPages: uint64(budgetPages(rg.r))}
			}
		case rg == nil:
			reply = fail(fmt.Errorf("%q before register", req.Op))
		case len(fds) > 0:
			reply = fail(fmt.Errorf("%q takes no descriptors; %d came", req.Op, len(fds)))
		case req.Op == "stats":
			reply = Reply{Version: Version, OK: true, Region: rg.id, Stats: statsOf(rg.r)}
		case req.Op == "close":
			err := s.drop(rg, "closed by the client")
			rg = nil
			if err != nil {
				reply = fail(err)
			} else {
				reply = Reply{Version: Version, OK: true}
			}
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		b, _ := json.Marshal(reply)
		if _, err := c.Write(b); err != nil {
			return
		}
		if !reply.OK {
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
			s.cfg.Log.Printf("pid %d: refused: %s", pid, reply.Error)
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func fail(err error) Reply { return Reply{Version: Version, Error: err.Error()} }

// receivedFDs takes the descriptors a message carried.
func receivedFDs(oob []byte, flags int) ([]int, error) {
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("the request's ancillary data: %v", err)
	}
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	if flags&unix.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("the request carried more descriptors than 2 (the kernel closed the rest)")
	}
	return fds, nil
}

// register checks a register request and attaches its region.
func (s *Server) register(req Request, fds []int, pid int32, c *net.UnixConn) (*region, error) {
	switch {
	case len(fds) != 2:
		return nil, fmt.Errorf("register takes 2 descriptors (the userfaultfd, then the memfd); %d came", len(fds))
	case req.Size == 0 || req.Size%pager.PageSize != 0:
		return nil, fmt.Errorf("size %d is not a positive number of %d-byte pages", req.Size, pager.PageSize)
	case req.Base == 0 || req.Base%pager.PageSize != 0:
		return nil, fmt.Errorf("base %#x is not a page-aligned address", req.Base)
	case req.Size > s.cfg.MaxRegionBytes:
		return nil, fmt.Errorf("size %d is more than this daemon's limit of %d bytes", req.Size, s.cfg.MaxRegionBytes)
	case req.Budget > req.Size:
		return nil, fmt.Errorf("budget %d is more than the region's size %d", req.Budget, req.Size)
	case req.Readahead < -1 || req.Readahead > 256:
		return nil, fmt.Errorf("readahead %d: want -1 (none), 0 (the default) to 256 pages", req.Readahead)
	}
	if _, err := pager.ParsePolicy(req.Policy); err != nil {
		return nil, err
	}
	if err := isMemfd(fds[1]); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.regions) >= s.cfg.MaxRegions {
		s.mu.Unlock()
		return nil, fmt.Errorf("this daemon pages %d regions already, its limit", s.cfg.MaxRegions)
	}
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	opts := realmem.Options{
		Budget: int64(req.Budget), Device: s.cfg.Device, Comp: s.cfg.Comp,
		Policy: req.Policy, Readahead: req.Readahead, Workers: s.cfg.Workers,
	}
	if s.cfg.Device == "file" {
		opts.SwapFile = fmt.Sprintf("%s/uswap-serve-%d-%d.swap", s.cfg.SwapDir, os.Getpid(), id)
	}
	r, err := realmem.Attach(fds[0], fds[1], req.Base, req.Size, opts)
	if err != nil {
		return nil, err
	}
	rg := &region{id: id, r: r, pid: pid, conn: c}
	s.mu.Lock()
	s.regions[id] = rg
	s.mu.Unlock()
	s.cfg.Log.Printf("pid %d: region %d: %#x+%d, budget %d pages", pid, id, req.Base, req.Size, budgetPages(r))
	return rg, nil
}

// drop closes a region and forgets it.
func (s *Server) drop(rg *region, why string) error {
	s.mu.Lock()
	delete(s.regions, rg.id)
	s.mu.Unlock()
	st := rg.r.Stats()
	err := rg.r.Close()
	s.cfg.Log.Printf("pid %d: region %d: %s (swap-ins %d, written %d); %v", rg.pid, rg.id, why, st.SwapIns, st.Written, err)
	return err
}

// isMemfd checks that fd is a memfd, or another regular file of shmem:
// a file the region can punch holes in and register for minor faults.
func isMemfd(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("the second descriptor: %v", err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("the second descriptor: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || fs.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("the second descriptor is not a memfd (mode %#o, filesystem type %#x; want a regular file of tmpfs/shmem)", st.Mode, fs.Type)
	}
	return nil
}

func budgetPages(r *realmem.Region) int { return r.Budget() }

func statsOf(r *realmem.Region) *Stats {
	s := r.Stats()
	return &Stats{
		Resident: r.Resident(), MissingFaults: s.MissingFaults, WPFaults: s.WPFaults, MinorFaults: s.MinorFaults,
		SwapIns: s.SwapIns, Written: s.Written, Evicted: s.Evicted, Removed: s.Removed,
	}
}

// peerPID is the connecting process's pid (SO_PEERCRED), for the log.
func peerPID(c *net.UnixConn) int32 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var pid int32
	rc.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = cred.Pid
		}
	})
	return pid
}
