package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"

	"uswap/uffd"
)

// Client is a region of this process paged by a `uswap serve` daemon:
// the Go counterpart of clients/c/uswap.c. Unlike a region of
// realmem.Map, its pager runs in another process, which this program's
// garbage collector never stops: the program may touch it any way it
// likes, copy() and the runtime's assembly included.
type Client struct {
	mem  []byte
	conn *net.UnixConn
	// Region and BudgetPages are the daemon's answer to the register.
	Region      uint64
	BudgetPages uint64
}

// Map maps size bytes (whole pages) paged by the daemon at socket, with
// budget bytes resident at most (0: the daemon's default) and the
// eviction policy ("" for the default).
func Map(socket string, size, budget uint64, policy string) (*Client, error) {
	if size == 0 || size%4096 != 0 {
		return nil, fmt.Errorf("serve: a region of %d bytes is not whole pages", size)
	}
	memfd, err := unix.MemfdCreate("uswap-region", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("serve: memfd_create: %w", err)
	}
	defer unix.Close(memfd) // the mapping keeps the file; the daemon has its own
	if err := unix.Ftruncate(memfd, int64(size)); err != nil {
		return nil, fmt.Errorf("serve: sizing the memfd: %w", err)
	}
	mem, err := unix.Mmap(memfd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("serve: mmap: %w", err)
	}
	c, err := register(socket, mem, memfd, budget, policy)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	return c, nil
}

func register(socket string, mem []byte, memfd int, budget uint64, policy string) (*Client, error) {
	if err := unix.Madvise(mem, unix.MADV_DONTFORK); err != nil {
		return nil, fmt.Errorf("serve: MADV_DONTFORK: %w", err)
	}
	ufd, err := uffd.Open()
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	defer unix.Close(ufd)
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: socket, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	req, _ := json.Marshal(Request{Version: Version, Op: "register",
		Base: uint64(uintptr(unsafe.Pointer(&mem[0]))), Size: uint64(len(mem)), Budget: budget, Policy: policy})
	c := &Client{mem: mem, conn: conn}
	r, err := c.call(req, unix.UnixRights(ufd, memfd))
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.Region, c.BudgetPages = r.Region, r.BudgetPages
	return c, nil
}

// call sends a request and returns the daemon's reply, or its error.
func (c *Client) call(req, oob []byte) (Reply, error) {
	if _, _, err := c.conn.WriteMsgUnix(req, oob, nil); err != nil {
		return Reply{}, fmt.Errorf("serve: sending to the daemon: %w", err)
	}
	buf := make([]byte, MaxMessage)
	n, err := c.conn.Read(buf)
	if err != nil {
		return Reply{}, fmt.Errorf("serve: no reply from the daemon: %w", err)
	}
	var r Reply
	if err := json.Unmarshal(buf[:n], &r); err != nil {
		return Reply{}, fmt.Errorf("serve: the daemon's reply %q: %w", buf[:n], err)
	}
	if !r.OK {
		return r, fmt.Errorf("serve: the daemon refused: %s", r.Error)
	}
	return r, nil
}

// Bytes is the region's memory.
func (c *Client) Bytes() []byte { return c.mem }

// Stats asks the daemon for the region's counters.
func (c *Client) Stats() (Stats, error) {
	req, _ := json.Marshal(Request{Version: Version, Op: "stats"})
	r, err := c.call(req, nil)
	if err != nil || r.Stats == nil {
		return Stats{}, errors.Join(err, errors.New("serve: a stats reply without stats"))
	}
	return *r.Stats, nil
}

// Close asks the daemon to stop paging the region, then unmaps it (in
// that order: an unmap of a registered region waits for the daemon to
// read its UNMAP event) and closes the connection.
func (c *Client) Close() error {
	req, _ := json.Marshal(Request{Version: Version, Op: "close"})
	_, err := c.call(req, nil)
	err = errors.Join(err, unix.Munmap(c.mem), c.conn.Close())
	c.mem = nil
	return err
}
