package snapshot

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"
)

type node struct {
	val  int
	next *node // a cycle back to the start
}

type item struct {
	n    int
	name string
	peer *item
}

type frozen struct{ text string }

type worker struct{ id int }

type graph struct {
	items  []item // a pointer into it below
	third  *item  // &items[2]
	window []item // items[1:3], the same array
	count  *int   // &inner.count: a pointer to a field
	inner  struct{ count, other int }
	ring   *node // a cycle of two nodes
	byPtr  map[*item]string
	byAny  map[any]int
	refs   map[int]boxedRef // struct values with a pointer
	boxed  any              // a struct value that holds a pointer: boxed
	plain  any              // a plain value: an immutable box, kept
	asPtr  any              // a pointer in an interface
	direct any              // a struct of one pointer, held as the pointer
	atom   atomic.Pointer[item]
	frozen *frozen // shared
	global *int    // a package-level variable: kept
	empty  []int   // non-nil, capacity 0
	fn     func(int) int
	bytes  []byte
	frames [][]byte // pieces of bytes, as a pool's frames
}

var globalInt = 7

func double(x int) int { return 2 * x }

type oneRef struct{ to *item }

type boxedRef struct {
	to   *item
	note string
}

func newGraph() *graph {
	g := &graph{items: make([]item, 4), frozen: &frozen{"immutable"}, global: &globalInt, empty: make([]int, 0), fn: double}
	for i := range g.items {
		g.items[i].n = i + 1
		g.items[i].peer = &g.items[(i+1)%len(g.items)]
	}
	g.third = &g.items[2]
	g.window = g.items[1:3]
	g.count = &g.inner.count
	a, b := &node{val: 1}, &node{val: 2}
	a.next, b.next = b, a
	g.ring = a
	g.byPtr = map[*item]string{&g.items[0]: "zero", g.third: "two"}
	g.byAny = map[any]int{g.third: 3, "key": 4}
	g.refs = map[int]boxedRef{1: {to: &g.items[1], note: "one"}, 2: {note: "nil"}}
	g.boxed = boxedRef{to: &g.items[3], note: "boxed"}
	g.plain = [2]int{5, 6}
	g.asPtr = &g.items[1]
	g.direct = oneRef{&g.items[3]}
	g.atom.Store(&g.items[0])
	g.bytes = make([]byte, 3*8)
	for i := range 3 {
		g.frames = append(g.frames, g.bytes[i*8:(i+1)*8:(i+1)*8])
	}
	return g
}

var opts = Options{Shared: []reflect.Type{reflect.TypeFor[*frozen]()}, Refused: []reflect.Type{reflect.TypeFor[*worker]()}}

func TestCopyKeepsShapeAndSharesNothing(t *testing.T) {
	g := newGraph()
	s, err := Take(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Copy().(*graph)
	if err := Disjoint(g, c, opts); err != nil {
		t.Fatal(err)
	}
	// Values.
	if c.items[2].n != 3 || c.inner.count != 0 || c.ring.val != 1 || c.ring.next.val != 2 || c.fn(4) != 8 {
		t.Fatalf("copied values differ: %+v", c)
	}
	// Interior pointers point into the copy's own array.
	if c.third != &c.items[2] || &c.window[0] != &c.items[1] || c.items[3].peer != &c.items[0] || c.atom.Load() != &c.items[0] {
		t.Fatal("a pointer into the items array does not point into the copy's array")
	}
	if c.count != &c.inner.count {
		t.Fatal("a pointer to a field does not point at the copy's field")
	}
	if c.ring.next.next != c.ring || c.ring == g.ring {
		t.Fatal("the cycle is not the copy's own")
	}
	// Maps: new maps whose pointer keys are the copy's.
	if c.byPtr[&c.items[0]] != "zero" || c.byPtr[c.third] != "two" || len(c.byPtr) != 2 {
		t.Fatalf("byPtr = %v", c.byPtr)
	}
	if c.byAny[c.third] != 3 || c.byAny["key"] != 4 {
		t.Fatalf("byAny = %v", c.byAny)
	}
	if c.refs[1].to != &c.items[1] || c.refs[1].note != "one" || c.refs[2].to != nil || len(c.refs) != 2 {
		t.Fatalf("refs = %v", c.refs)
	}
	if reflect.ValueOf(c.byPtr).UnsafePointer() == reflect.ValueOf(g.byPtr).UnsafePointer() {
		t.Fatal("the copy shares a map")
	}
	// Interfaces.
	if br := c.boxed.(boxedRef); br.to != &c.items[3] || br.note != "boxed" {
		t.Fatal("a boxed struct's pointer is not retargeted")
	}
	if c.direct.(oneRef).to != &c.items[3] {
		t.Fatal("a one-pointer struct in an interface is not retargeted")
	}
	if c.asPtr.(*item) != &c.items[1] || c.plain.([2]int) != [2]int{5, 6} {
		t.Fatal("interfaces not copied")
	}
	// Kept: the shared, the global.
	if c.frozen != g.frozen || c.global != &globalInt {
		t.Fatal("a shared or package-level target was copied")
	}
	if c.empty == nil || len(c.empty) != 0 {
		t.Fatal("a non-nil empty slice lost its non-nil-ness")
	}
	// Frames are views of the copy's bytes.
	c.frames[1][0] = 42
	if c.bytes[8] != 42 || g.bytes[8] != 0 {
		t.Fatal("the frames are not views of the copy's own bytes")
	}
	// Writes to the copy do not reach the original, and the other way.
	c.third.n = 100
	*c.count = 9
	c.ring.next.val = 20
	c.atom.Load().n = 50
	if g.items[2].n != 3 || g.inner.count != 0 || g.ring.next.val != 2 || g.items[0].n != 1 {
		t.Fatal("a write to the copy reached the original")
	}
	if c.window[1].n != 100 || c.items[0].n != 50 {
		t.Fatal("a write through one pointer of the copy is not seen through another")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// Two copies are independent of each other.
	d := s.Copy().(*graph)
	if d.items[2].n != 3 || d.third == c.third {
		t.Fatal("the second copy is not fresh")
	}
}

func TestCheckSeesAChangedOriginal(t *testing.T) {
	g := newGraph()
	s, err := Take(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	g.items[1].n = 77
	if err := s.Check(); err == nil {
		t.Fatal("Check missed a write to the original")
	}
}

func TestDisjointSeesSharing(t *testing.T) {
	g := newGraph()
	h := newGraph()
	if err := Disjoint(g, h, opts); err != nil {
		t.Fatalf("two fresh graphs: %v", err)
	}
	h.third = g.third
	if err := Disjoint(g, h, opts); err == nil || !strings.Contains(err.Error(), "share") {
		t.Fatalf("Disjoint = %v, want the shared item named", err)
	}
	k := newGraph()
	k.byAny = g.byAny
	if err := Disjoint(g, k, opts); err == nil {
		t.Fatal("Disjoint missed a shared map")
	}
}

type holder struct {
	name string
	f    func() int
	m    func(int) int
	c    chan int
	u    unsafe.Pointer
	w    *worker
	in   struct{ deeper []*worker }
}

type counter struct{ n int }

func (c *counter) add(x int) int { c.n += x; return c.n }

func TestTakeRefuses(t *testing.T) {
	n := 3
	for _, tc := range []struct {
		name string
		h    *holder
		want string
	}{
		{"closure", &holder{f: func() int { return n }}, "root.f"},
		{"method value", &holder{m: (&counter{}).add}, "-fm"},
		{"channel", &holder{c: make(chan int)}, "chan int"},
		{"unsafe pointer", &holder{u: unsafe.Pointer(&n)}, "unsafe.Pointer"},
		{"refused type", &holder{w: &worker{}}, "*snapshot.worker"},
		{"refused, deeper", &holder{in: struct{ deeper []*worker }{[]*worker{{}}}}, "deeper"},
	} {
		_, err := Take(tc.h, opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Take = %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := Take(&holder{name: "plain", m: double}, opts); err != nil {
		t.Errorf("a top-level function refused: %v", err)
	}
	if _, err := Take(holder{}, opts); err == nil {
		t.Error("a non-pointer root accepted")
	}
}

func TestClosureNames(t *testing.T) {
	for name, want := range map[string]bool{
		"uswap/mm.(*Node).releaseFolio-fm": false, // caught by the -fm test
		"uswap/explore.compileOp.func1":    true,
		"uswap/x.F.func1.2":                true,
		"uswap/x.init.0.func3":             true,
		"uswap/swapdev.newLZ4GoCtx":        false,
		"uswap/x.G[go.shape.int].func1":    true,
		"uswap/x.G[...]":                   false,
		"uswap/x.functional":               false,
	} {
		if got := isClosureName(name); got != want {
			t.Errorf("isClosureName(%q) = %v, want %v", name, got, want)
		}
	}
}

func BenchmarkCopy(b *testing.B) {
	g := newGraph()
	g.bytes = make([]byte, 64*4096)
	g.frames = nil
	for i := range 64 {
		g.frames = append(g.frames, g.bytes[i*4096:(i+1)*4096:(i+1)*4096])
	}
	s, err := Take(g, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Copy()
		}
	})
	b.Run("recycled", func(b *testing.B) {
		c := s.NewCopier()
		b.ReportAllocs()
		for b.Loop() {
			c.Copy()
			c.Recycle()
		}
	})
}

func TestCopierRecycles(t *testing.T) {
	g := newGraph()
	s, err := Take(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := s.NewCopier()
	a := c.Copy().(*graph)
	a.bytes[3] = 99
	a.items[2].peer = nil
	a.ring.next.val = 20
	c.Recycle()
	b := c.Copy().(*graph)
	if &b.bytes[0] != &a.bytes[0] {
		t.Fatal("the dead copy's bytes were not reused")
	}
	if &b.items[0] != &a.items[0] {
		t.Fatal("the dead copy's items were not reused")
	}
	if b.bytes[3] != 0 || b.items[2].peer != &b.items[3] || b.ring.next.val != 2 {
		t.Fatal("a recycled block was not written afresh")
	}
	b2 := c.Copy().(*graph) // without Recycle: fresh blocks
	if &b2.items[0] == &b.items[0] {
		t.Fatal("a live copy's block was reused")
	}
	if err := Disjoint(g, b, opts); err != nil {
		t.Fatal(err)
	}
}

var errSentinel = errors.New("a sentinel")

var errMadeAtInit = fmt.Errorf("made at init: %w", errSentinel) // on the heap

type withErr struct {
	err, made, init error
}

// TestErrorsStayThemselves checks that errors, immutable values that may
// be sentinels compared by identity, are kept.
func TestErrorsStayThemselves(t *testing.T) {
	if isStatic(reflect.ValueOf(errMadeAtInit).UnsafePointer()) {
		t.Fatal("errMadeAtInit is in static data: the test shows nothing")
	}
	g := &withErr{err: errSentinel, made: fmt.Errorf("made: %w", errSentinel), init: errMadeAtInit}
	s, err := Take(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Copy().(*withErr)
	if c.err != errSentinel || !errors.Is(c.made, errSentinel) || c.init != errMadeAtInit {
		t.Fatalf("copy: %v, %v: the sentinel is not itself", c.err, c.made)
	}
}

type pieces struct {
	frames [][]byte // pieces of one array whose whole no slice holds
	a, b   *item    // elements of an array no slice holds
	ab     []item   // a[0:2] overlapping a and b's array
}

// TestPiecesOfOneArray checks a block made of overlapping pieces that no
// value spans: the copy holds the pieces' bytes and pointers, as one
// array of the copy, and shares nothing.
func TestPiecesOfOneArray(t *testing.T) {
	whole := make([]byte, 32)
	for i := range whole {
		whole[i] = byte(i)
	}
	items := make([]item, 4)
	for i := range items {
		items[i].n = i + 1
		items[i].peer = &items[(i+1)%4]
	}
	g := &pieces{frames: [][]byte{whole[0:16:16], whole[8:24:24]}, a: &items[1], b: &items[3], ab: items[1:3:3]}
	s, err := Take(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Copy().(*pieces)
	if err := Disjoint(g, c, opts); err != nil {
		t.Fatal(err)
	}
	if c.frames[0][9] != 9 || c.frames[1][7] != 15 || &c.frames[0][8] != &c.frames[1][0] {
		t.Fatalf("frames %v: not the overlapping pieces of one copied array", c.frames)
	}
	if c.a != &c.ab[0] || c.a.n != 2 || c.ab[1].n != 3 || c.b.n != 4 || c.a.peer != &c.ab[1] || c.b.peer == &items[0] {
		t.Fatal("the items are not the pieces of one copied array")
	}
	c.ab[1].n = 30
	whole[9] = 99
	if items[2].n != 3 || c.frames[0][9] != 9 {
		t.Fatal("the copy shares a piece with the original")
	}
	whole[9] = 9
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	whole[20] = 1
	if s.Check() == nil {
		t.Fatal("Check missed a write to a piece")
	}
}
