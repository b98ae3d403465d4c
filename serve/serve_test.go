package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"uswap/realmem"
	"uswap/uffd"
)

func available(t *testing.T) {
	t.Helper()
	if err := uffd.Available(realmem.Features); err != nil {
		t.Skipf("userfaultfd is not available here: %v", err)
	}
}

// startServer runs a daemon on a socket in a temporary directory until
// the test ends.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	available(t)
	cfg.Socket = filepath.Join(t.TempDir(), "uswap.sock")
	cfg.Log = log.New(testWriter{t}, "serve: ", 0)
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if n := s.Regions(); n != 0 {
			t.Errorf("%d regions left after the daemon stopped", n)
		}
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// buildC builds the C client's usemem program, or skips without gcc.
func buildC(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc: the C client is not built")
	}
	bin := filepath.Join(t.TempDir(), "usemem")
	dir := filepath.Join("..", "clients", "c")
	out, err := exec.Command(gcc, "-Wall", "-Wextra", "-Werror", "-O2", "-o", bin,
		filepath.Join(dir, "uswap.c"), filepath.Join(dir, "usemem.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("building the C client: %v\n%s", err, out)
	}
	return bin
}

// The C client runs usemem's work, with discards, on memory the daemon
// pages, and checks every page.
func TestCClientUsemem(t *testing.T) {
	s := startServer(t, Config{})
	bin := buildC(t)
	for _, args := range [][]string{
		{"-s", "32", "-l", "8", "-p", "2", "-w"},
		{"-s", "32", "-l", "8", "-p", "2", "-r", "-D"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, append([]string{"-S", s.cfg.Socket}, args...)...).CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("usemem: %v", err)
			}
			if !strings.Contains(string(out), "corrupt=0") {
				t.Fatal("no corrupt=0 in the result")
			}
			var swapIns uint64
			for _, f := range strings.Fields(string(out)) {
				fmt.Sscanf(f, "swap_ins=%d", &swapIns)
			}
			if swapIns == 0 {
				t.Fatal("the daemon swapped nothing in: the region was not paged")
			}
		})
	}
	waitRegions(t, s, 0)
}

// A client killed with its region registered: the daemon frees the
// region and goes on serving others.
func TestClientDies(t *testing.T) {
	s := startServer(t, Config{})
	bin := buildC(t)
	cmd := exec.Command(bin, "-S", s.cfg.Socket, "-s", "64", "-l", "8", "-p", "50")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitRegions(t, s, 1)
	time.Sleep(100 * time.Millisecond) // let it page
	cmd.Process.Kill()
	cmd.Wait()
	waitRegions(t, s, 0)
	out, err := exec.Command(bin, "-S", s.cfg.Socket, "-s", "16", "-l", "4", "-p", "1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "corrupt=0") {
		t.Fatalf("the next client: %v\n%s", err, out)
	}
}

func waitRegions(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.Regions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d regions, want %d", s.Regions(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client is a Go client of the protocol, for the tests.
type client struct {
	c *net.UnixConn
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: s.cfg.Socket, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c}
}

// send sends a raw message with fds and returns the reply (an empty
// Reply with ok false if the daemon closed the connection).
func (cl *client) send(t *testing.T, msg string, fds ...int) (Reply, error) {
	t.Helper()
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := cl.c.WriteMsgUnix([]byte(msg), oob, nil); err != nil {
		return Reply{}, err
	}
	buf := make([]byte, MaxMessage)
	cl.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := cl.c.Read(buf)
	if err != nil {
		return Reply{}, err
	}
	var r Reply
	if err := json.Unmarshal(buf[:n], &r); err != nil {
		return Reply{}, fmt.Errorf("reply %q: %v", buf[:n], err)
	}
	return r, nil
}

// memRegion is a memfd mapped shared and a fresh userfaultfd, as the C
// client makes them.
type memRegion struct {
	mem         []byte
	memfd, ufd  int
	base, bytes uint64
}

func newMemRegion(t *testing.T, size int) *memRegion {
	t.Helper()
	memfd, err := unix.MemfdCreate("test-region", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Ftruncate(memfd, int64(size)); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(memfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	ufd, err := uffd.Open()
	if err != nil {
		t.Fatal(err)
	}
	m := &memRegion{mem: mem, memfd: memfd, ufd: ufd, base: uint64(uintptr(unsafe.Pointer(&mem[0]))), bytes: uint64(size)}
	t.Cleanup(func() {
		unix.Close(m.ufd)
		unix.Close(m.memfd)
		unix.Munmap(m.mem)
	})
	return m
}

func (m *memRegion) register(extra string) string {
	return fmt.Sprintf(`{"version":1,"op":"register","base":%d,"size":%d%s}`, m.base, m.bytes, extra)
}

// Bad requests get an error reply that names the problem and a closed
// connection; the daemon goes on serving, and a good region next to
// them keeps its data.
func TestBadRequests(t *testing.T) {
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 6))
	s := startServer(t, Config{})
	good := newMemRegion(t, 64*4096)
	gc := dial(t, s)
	if r, err := gc.send(t, good.register(`,"budget":65536`), good.ufd, good.memfd); err != nil || !r.OK {
		t.Fatalf("a good register: %+v, %v", r, err)
	}
	for i := range good.mem {
		good.mem[i] = byte(i / 4096)
	}
	m := newMemRegion(t, 16*4096)
	notMemfd, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer notMemfd.Close()
	for _, c := range []struct {
		name, msg string
		fds       []int
		want      string
	}{
		{"not JSON", "hello", nil, "not a JSON object"},
		{"trailing data", `{"version":1,"op":"stats"} x`, nil, "after its JSON object"},
		{"unknown field", `{"version":1,"op":"stats","colour":1}`, nil, "unknown field"},
		{"old version", `{"version":0,"op":"register"}`, nil, "protocol version 0"},
		{"no op", `{"version":1}`, nil, `no "op"`},
		{"unknown op", `{"version":1,"op":"fly"}`, nil, `unknown op "fly"`},
		{"stats first", `{"version":1,"op":"stats"}`, nil, `"stats" before register`},
		{"no descriptors", m.register(""), nil, "takes 2 descriptors"},
		{"one descriptor", m.register(""), []int{m.ufd}, "takes 2 descriptors"},
		{"three descriptors", m.register(""), []int{m.ufd, m.memfd, m.memfd}, "more descriptors than 2"},
		{"not a memfd", m.register(""), []int{m.ufd, int(notMemfd.Fd())}, "not a memfd"},
		{"unaligned base", strings.Replace(m.register(""), fmt.Sprint(m.base), fmt.Sprint(m.base+1), 1), []int{m.ufd, m.memfd}, "page-aligned"},
		{"zero size", fmt.Sprintf(`{"version":1,"op":"register","base":%d,"size":0}`, m.base), []int{m.ufd, m.memfd}, "positive number"},
		{"budget over size", m.register(`,"budget":1073741824`), []int{m.ufd, m.memfd}, "more than the region's size"},
		{"bad policy", m.register(`,"policy":"lru"`), []int{m.ufd, m.memfd}, `eviction policy "lru"`},
		{"memfd too small", fmt.Sprintf(`{"version":1,"op":"register","base":%d,"size":%d}`, m.base, 1<<20), []int{m.ufd, m.memfd}, "the memfd holds"},
		{"not a userfaultfd", m.register(""), []int{m.memfd, m.memfd}, "UFFDIO_API"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := dial(t, s)
			r, err := cl.send(t, c.msg, c.fds...)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK || !strings.Contains(r.Error, c.want) {
				t.Fatalf("reply %+v, want an error with %q", r, c.want)
			}
			// The daemon closed the connection.
			if _, err := cl.c.Read(make([]byte, 16)); err == nil {
				t.Fatal("the connection is still open after a refused request")
			}
		})
	}
	// The good region is paged still, and its data is intact.
	for i := 0; i < len(good.mem); i += 4096 {
		if good.mem[i] != byte(i/4096) || good.mem[i+4095] != byte(i/4096) {
			t.Fatalf("page %d lost its data", i/4096)
		}
	}
	r, err := gc.send(t, `{"version":1,"op":"stats"}`)
	if err != nil || !r.OK || r.Stats == nil || r.Stats.SwapIns == 0 {
		t.Fatalf("stats of the good region: %+v, %v", r, err)
	}
	if r, err := gc.send(t, `{"version":1,"op":"close"}`); err != nil || !r.OK {
		t.Fatalf("close: %+v, %v", r, err)
	}
	waitRegions(t, s, 0)
	if errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
}

// TestMain runs a daemon instead of the tests when a test re-executes
// the binary as one (USWAP_SERVE_TEST_SOCKET names its socket): the
// other process that TestGoClient needs.
func TestMain(m *testing.M) {
	if sock := os.Getenv("USWAP_SERVE_TEST_SOCKET"); sock != "" {
		s, err := Listen(Config{Socket: sock})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := s.Serve(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A Go program's region paged by a daemon in another process may be
// touched with copy() while the garbage collector stops the world: the
// pager is not among the goroutines stopped.
func TestGoClient(t *testing.T) {
	available(t)
	sock := filepath.Join(t.TempDir(), "uswap.sock")
	daemon := exec.Command(os.Args[0], "-test.run", "^$")
	daemon.Env = append(os.Environ(), "USWAP_SERVE_TEST_SOCKET="+sock)
	daemon.Stderr = os.Stderr
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		daemon.Process.Signal(syscall.SIGTERM)
		if err := daemon.Wait(); err != nil {
			t.Errorf("the daemon: %v", err)
		}
	}()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 2000 {
			t.Fatal("the daemon did not listen in 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const pages = 1024
	c, err := Map(sock, pages*4096, pages/4*4096, "fifo")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	gcs := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				gcs <- n
				return
			default:
				runtime.GC()
				n++
			}
		}
	}()
	mem := c.Bytes()
	page := make([]byte, 4096)
	for round := range 2 {
		for i := 0; i < pages; i++ {
			for k := range page {
				page[k] = byte(i + k + round)
			}
			copy(mem[i*4096:], page)
		}
		for i := 0; i < pages; i++ {
			copy(page, mem[i*4096:(i+1)*4096])
			for k := range page {
				if page[k] != byte(i+k+round) {
					t.Fatalf("round %d: page %d byte %d is %d", round, i, k, page[k])
				}
			}
		}
	}
	close(stop)
	t.Logf("%d garbage collections during the copies", <-gcs)
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.SwapIns == 0 || st.Resident > int64(c.BudgetPages) {
		t.Fatalf("stats %+v with a budget of %d pages", st, c.BudgetPages)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
