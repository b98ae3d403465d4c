// Package snapshot copies an object graph whole, as often as asked, from
// one scan: the explorer builds a scenario's machine once and gives every
// schedule a copy of it instead of building it again.
//
// Take walks the graph from a root pointer once and records its shape:
// the blocks of memory it reaches (what pointers and slices point at,
// merged where they overlap, so that a pointer into the middle of a
// slice's array or of a struct stays a pointer into the same place of the
// copy) and the pointer words inside them. Copy then allocates new
// blocks, copies the bytes, and points every recorded word at the new
// blocks: no walk, no lookup.
//
// The rules of what a graph may hold, checked by Take, so that a copy can
// share nothing writable with the original:
//   - pointers, slices, maps, interfaces, strings and plain values; a
//     pointer held by sync/atomic.Pointer counts as a pointer;
//   - functions only when they are top-level functions: a closure or a
//     method value carries state the walk cannot see, so Take refuses it
//     and names where it is;
//   - no channels and no unsafe.Pointer (but atomic.Pointer's);
//   - targets of the Options.Shared pointer types are kept, not copied:
//     the caller promises they are immutable (a compiled script);
//   - the Options.Refused pointer types must not be reachable at all (a
//     scheduler's task: a machine at rest holds none);
//   - package-level variables (the program's data and bss) are kept, not
//     copied, as a fresh build would share them too; strings, the
//     boxes of interfaces that hold plain values, and errors (held as
//     error) are immutable and kept.
//
// The original must not change while copies are made: Check says whether
// it did, and Disjoint proves a copy and the original share no memory
// that either could write.
package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// Options say which pointer types a graph shares and which it must not
// hold.
type Options struct {
	// Shared pointer types point at immutable objects that copies share.
	Shared []reflect.Type
	// Refused pointer types must not be reachable: Take fails.
	Refused []reflect.Type
}

// Snapshot is the recorded shape of a graph, ready to be copied.
type Snapshot struct {
	opts     Options
	rootType reflect.Type // the root's pointer type
	root     loc          // where the root points
	blocks   []block      // by old address
	words    []word       // pointer words to retarget in a copy
	empties  []loc        // non-nil slices of capacity 0: pointed at a zero-size variable in a copy
	maps     []*mapCopy
	mapSlots []mapSlot
	sum      uint64 // hash of the original's blocks at Take
	seed     maphash.Seed
}

// loc is a place in a copy: a block and an offset in it.
type loc struct {
	block int
	off   uintptr
}

// block is one piece of memory of the original that a copy gets its own
// of.
type block struct {
	old  unsafe.Pointer
	size uintptr
	// typ is what the copy allocates: the type of a view that spans the
	// block, or, where overlapping pieces of one array were reached and
	// none spans them, an array of their element. Either way it covers
	// every byte: a block is the union of views that overlap, with no
	// gap.
	typ reflect.Type
	// pointers says whether typ holds pointer words; a block without
	// is copied as bytes, and its memory may be reused (Copier).
	pointers bool
}

// word is a pointer word at a place in a copy, to be pointed at another.
type word struct{ at, to loc }

// mapCopy is one map of the original: its entries, with where their
// pointers go in a copy.
type mapCopy struct {
	old     unsafe.Pointer // the original map
	typ     reflect.Type
	entries []mapEntry
}

type mapEntry struct{ key, val mapPart }

// mapPart is a key or a value of a map entry, and how a copy makes its
// own: as it is (plain values, strings, pointers the copy keeps), as a
// pointer into the copy, or as a struct whose pointer fields point into
// the copy.
type mapPart struct {
	v     reflect.Value
	ptr   reflect.Type // a pointer the copy retargets to at; nil if none
	at    loc
	fixes []fieldFix // a struct's pointer fields to retarget
}

type fieldFix struct {
	off uintptr
	to  loc
}

// make is the part in a copy whose blocks are news.
func (p *mapPart) make(news []unsafe.Pointer) reflect.Value {
	switch {
	case p.ptr != nil:
		return reflect.NewAt(p.ptr.Elem(), unsafe.Add(news[p.at.block], p.at.off))
	case p.fixes != nil:
		tmp := reflect.New(p.v.Type())
		tmp.Elem().Set(p.v)
		for _, f := range p.fixes {
			*(*unsafe.Pointer)(unsafe.Add(tmp.UnsafePointer(), f.off)) = unsafe.Add(news[f.to.block], f.to.off)
		}
		return tmp.Elem()
	}
	return p.v
}

// mapSlot is a map word at a place in a copy.
type mapSlot struct {
	at loc
	m  int // index in maps
}

// Take records the graph under root, a non-nil pointer. The graph must
// not change afterwards while copies are made from it.
func Take(root any, opts Options) (*Snapshot, error) {
	rv := reflect.ValueOf(root)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("snapshot: the root must be a non-nil pointer, not %T", root)
	}
	if len(static()) == 0 {
		// Without them a copy would copy package-level variables, and a
		// sentinel (an error compared by identity) would no longer be
		// itself.
		return nil, errors.New("snapshot: the program's data and bss are not found in /proc/self/maps")
	}
	sc := newScanner(opts)
	ri := sc.addView(rv.UnsafePointer(), rv.Type().Elem(), -1, 0, "root")
	if ri < 0 {
		return nil, fmt.Errorf("snapshot: the root %T points at nothing to copy (a package-level variable or a zero-size value)", root)
	}
	if err := sc.run(); err != nil {
		return nil, err
	}
	s, err := sc.build()
	if err != nil {
		return nil, err
	}
	s.rootType, s.opts = rv.Type(), opts
	s.root = s.locate(rv.UnsafePointer())
	s.seed = maphash.MakeSeed()
	s.sum = s.hash()
	return s, nil
}

// Blocks is the number of blocks a copy allocates, and Bytes their size.
func (s *Snapshot) Blocks() int { return len(s.blocks) }

// Bytes is the size of the memory a copy allocates.
func (s *Snapshot) Bytes() uintptr {
	var n uintptr
	for _, b := range s.blocks {
		n += b.size
	}
	return n
}

// Copy makes a new graph equal to the original and sharing none of its
// writable memory, and returns its root (of the root's type).
func (s *Snapshot) Copy() any { return s.copy(nil) }

// Copier makes copies of one Snapshot for one goroutine, and can reuse a
// dead copy's blocks for the next: allocating and clearing them cost as
// much as copying into them, and feed the collector.
type Copier struct {
	s     *Snapshot
	last  []unsafe.Pointer // the blocks of the last copy
	spare []unsafe.Pointer // by block: the block of a dead copy, or nil
}

// NewCopier makes a Copier of s.
func (s *Snapshot) NewCopier() *Copier {
	return &Copier{s: s, spare: make([]unsafe.Pointer, len(s.blocks))}
}

// Copy is Snapshot.Copy, on the blocks Recycle gave back if any.
func (c *Copier) Copy() any { return c.s.copy(c) }

// Recycle says that the last copy is dead: nothing uses it or any
// object it reaches any more, so the next Copy may write over its blocks.
// A block is reused for the same block of the original, so as a value of
// the type it was allocated with, and Copy writes all of it.
func (c *Copier) Recycle() {
	copy(c.spare, c.last)
	c.last = nil
}

func (s *Snapshot) copy(c *Copier) any {
	news := make([]unsafe.Pointer, len(s.blocks))
	for i := range s.blocks {
		b := &s.blocks[i]
		var nb unsafe.Pointer
		if c != nil && c.spare[i] != nil {
			nb, c.spare[i] = c.spare[i], nil
		} else {
			nb = reflect.New(b.typ).UnsafePointer()
		}
		news[i] = nb
		if b.pointers {
			typedCopy(b.typ, nb, b.old)
		} else {
			copy(unsafe.Slice((*byte)(nb), b.size), unsafe.Slice((*byte)(b.old), b.size))
		}
	}
	if c != nil {
		c.last = news
	}
	for _, w := range s.words {
		*(*unsafe.Pointer)(unsafe.Add(news[w.at.block], w.at.off)) = unsafe.Add(news[w.to.block], w.to.off)
	}
	for _, e := range s.empties {
		*(*unsafe.Pointer)(unsafe.Add(news[e.block], e.off)) = unsafe.Pointer(&zeroSized)
	}
	if len(s.maps) > 0 {
		made := make([]reflect.Value, len(s.maps))
		for i, m := range s.maps {
			made[i] = m.copy(news)
		}
		for _, ms := range s.mapSlots {
			reflect.NewAt(s.maps[ms.m].typ, unsafe.Add(news[ms.at.block], ms.at.off)).Elem().Set(made[ms.m])
		}
	}
	return reflect.NewAt(s.rootType.Elem(), unsafe.Add(news[s.root.block], s.root.off)).Interface()
}

var zeroSized [0]uint64

var errorType = reflect.TypeFor[error]()

// copy makes map m of a copy whose blocks are news.
func (m *mapCopy) copy(news []unsafe.Pointer) reflect.Value {
	nm := reflect.MakeMapWithSize(m.typ, len(m.entries))
	for i := range m.entries {
		e := &m.entries[i]
		nm.SetMapIndex(e.key.make(news), e.val.make(news))
	}
	return nm
}

// typedCopy copies a value of type t from src to dst, with the
// collector's write barriers.
func typedCopy(t reflect.Type, dst, src unsafe.Pointer) {
	reflect.NewAt(t, dst).Elem().Set(reflect.NewAt(t, src).Elem())
}

// Check reports an error if the original changed since Take: a copy
// shares nothing with it, so a change means that something outside the
// graph's rules (a closure, a package-level variable) reached it.
func (s *Snapshot) Check() error {
	if s.hash() != s.sum {
		return errors.New("snapshot: the original graph changed after it was taken: a copy is no longer what a fresh build would be")
	}
	return nil
}

// hash hashes the bytes of the original's blocks and the sizes of its
// maps.
func (s *Snapshot) hash() uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	for _, b := range s.blocks {
		h.Write(unsafe.Slice((*byte)(b.old), b.size))
	}
	for _, m := range s.maps {
		var n [8]byte
		*(*uint64)(unsafe.Pointer(&n)) = uint64(len(m.entries))
		h.Write(n[:])
	}
	return h.Sum64()
}

// Disjoint reports an error naming the first piece of memory that the
// graphs under a and b both reach (but the shared and the immutable, as
// Take keeps them), or a graph Take refuses.
func Disjoint(a, b any, opts Options) error {
	sa, err := Take(a, opts)
	if err != nil {
		return err
	}
	return sa.DisjointFrom(b)
}

// DisjointFrom is Disjoint of the original s was taken from, as it was
// then, and the graph under b (a copy, say), taken with s's Options.
func (s *Snapshot) DisjointFrom(b any) error {
	sa := s
	sb, err := Take(b, s.opts)
	if err != nil {
		return err
	}
	i, j := 0, 0
	for i < len(sa.blocks) && j < len(sb.blocks) {
		x, y := &sa.blocks[i], &sb.blocks[j]
		xs, ys := uintptr(x.old), uintptr(y.old)
		if xs < ys+y.size && ys < xs+x.size {
			return fmt.Errorf("snapshot: the graphs share memory: %v at %#x (%d bytes) and %v at %#x (%d bytes)", x.typ, xs, x.size, y.typ, ys, y.size)
		}
		if xs < ys {
			i++
		} else {
			j++
		}
	}
	for _, ma := range sa.maps {
		for _, mb := range sb.maps {
			if ma.old == mb.old {
				return fmt.Errorf("snapshot: the graphs share a %v", ma.typ)
			}
		}
	}
	return nil
}

// locate finds the block holding address p.
func (s *Snapshot) locate(ptr unsafe.Pointer) loc {
	p := uintptr(ptr)
	i, _ := slices.BinarySearchFunc(s.blocks, p, func(b block, p uintptr) int {
		switch {
		case uintptr(b.old)+b.size <= p:
			return -1
		case uintptr(b.old) > p:
			return 1
		}
		return 0
	})
	if i >= len(s.blocks) || uintptr(s.blocks[i].old) > p || uintptr(s.blocks[i].old)+s.blocks[i].size <= p {
		panic(fmt.Sprintf("snapshot: internal error: %#x is in no block", p))
	}
	return loc{i, p - uintptr(s.blocks[i].old)}
}

// view is a piece of memory the walk reached, as a value of typ.
type view struct {
	start unsafe.Pointer
	typ   reflect.Type
	elem  reflect.Type // the element type, for merging pieces of one array
	// how it was reached, for errors: the view it was found in (-1 for
	// the root), at which offset, as what.
	parent int
	off    uintptr
	what   string
}

func (v view) end() uintptr { return uintptr(v.start) + v.typ.Size() }

type viewKey struct {
	start unsafe.Pointer
	typ   reflect.Type
}

// slot kinds of a type's layout.
type slotKind uint8

const (
	kPtr slotKind = iota
	kSlice
	kMap
	kIface
	kFunc
	kBad // a channel or an unsafe.Pointer: refused unless nil
)

// slot is a word of a type that refers to other memory.
type slot struct {
	off  uintptr
	kind slotKind
	typ  reflect.Type // the pointer, slice, map, interface or func type
	elem reflect.Type // what a kPtr points at (atomic.Pointer's T)
	name string       // the field path, for errors
}

type rawWord struct {
	at, to unsafe.Pointer
}

type rawMap struct {
	at unsafe.Pointer
	m  unsafe.Pointer
}

type scanner struct {
	opts    Options
	shared  map[reflect.Type]bool
	refused map[reflect.Type]bool
	views   []view
	seen    map[viewKey]bool
	words   []rawWord
	empties []unsafe.Pointer
	maps    map[unsafe.Pointer]int
	mapList []reflect.Value
	mapAt   []rawMap
	err     error
}

func newScanner(opts Options) *scanner {
	sc := &scanner{opts: opts, shared: map[reflect.Type]bool{}, refused: map[reflect.Type]bool{}, seen: map[viewKey]bool{}, maps: map[unsafe.Pointer]int{}}
	for _, t := range opts.Shared {
		sc.shared[t] = true
	}
	for _, t := range opts.Refused {
		sc.refused[t] = true
	}
	return sc
}

// addView records that the walk reached a value of type t at p, unless it
// is kept as is; it returns the view's index or -1.
func (sc *scanner) addView(p unsafe.Pointer, t reflect.Type, parent int, off uintptr, what string) int {
	if p == nil || t.Size() == 0 || isStatic(p) {
		return -1
	}
	k := viewKey{p, t}
	if sc.seen[k] {
		return -1
	}
	sc.seen[k] = true
	el := t
	if t.Kind() == reflect.Array {
		el = t.Elem()
	}
	sc.views = append(sc.views, view{start: p, typ: t, elem: el, parent: parent, off: off, what: what})
	return len(sc.views) - 1
}

// run walks the views found, finding more, until there are no new ones.
func (sc *scanner) run() error {
	for i := 0; i < len(sc.views) && sc.err == nil; i++ {
		v := sc.views[i]
		for _, sl := range layoutOf(v.typ) {
			if sc.err = sc.slot(i, unsafe.Add(v.start, sl.off), sl); sc.err != nil {
				break
			}
		}
	}
	return sc.err
}

// fail makes an error naming where in the graph view i's offset off is.
func (sc *scanner) fail(i int, off uintptr, format string, args ...any) error {
	return fmt.Errorf("snapshot: %s: %s", sc.path(i, off), fmt.Sprintf(format, args...))
}

// path names the place off in view i by the fields from the root.
func (sc *scanner) path(i int, off uintptr) string {
	var parts []string
	for i >= 0 {
		v := sc.views[i]
		parts = append(parts, fieldPath(v.typ, off))
		parts = append(parts, v.what)
		i, off = v.parent, v.off
	}
	slices.Reverse(parts)
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "")
}

// slot handles one referring word of view i at address a.
func (sc *scanner) slot(i int, a unsafe.Pointer, sl slot) error {
	off := uintptr(a) - uintptr(sc.views[i].start)
	switch sl.kind {
	case kPtr:
		p := *(*unsafe.Pointer)(a)
		return sc.pointer(i, off, a, p, reflect.PointerTo(sl.elem), "->")
	case kSlice:
		h := (*sliceHeader)(a)
		if h.data == nil {
			return nil
		}
		if h.cap == 0 {
			if !isStatic(h.data) {
				sc.empties = append(sc.empties, a)
			}
			return nil
		}
		if sc.refused[sl.typ.Elem()] || sc.refused[reflect.PointerTo(sl.typ.Elem())] {
			return sc.fail(i, off, "a %v may not be in the graph", sl.typ)
		}
		at := reflect.ArrayOf(h.cap, sl.typ.Elem())
		sc.addView(h.data, at, i, off, "[:]")
		if !isStatic(h.data) {
			sc.words = append(sc.words, rawWord{a, h.data})
		}
	case kMap:
		mv := reflect.NewAt(sl.typ, a).Elem()
		if mv.IsNil() {
			return nil
		}
		mp := mv.UnsafePointer()
		k, ok := sc.maps[mp]
		if !ok {
			k = len(sc.mapList)
			sc.maps[mp] = k
			sc.mapList = append(sc.mapList, mv)
			for it := mv.MapRange(); it.Next(); {
				for _, e := range []reflect.Value{it.Key(), it.Value()} {
					if err := sc.mapValue(i, off, e); err != nil {
						return err
					}
				}
			}
		}
		sc.mapAt = append(sc.mapAt, rawMap{a, mp})
	case kIface:
		iv := reflect.NewAt(sl.typ, a).Elem()
		if iv.IsNil() || sl.typ == errorType {
			// An error is an immutable value, and one made at init may
			// be a sentinel compared by identity: kept.
			return nil
		}
		dyn := iv.Elem().Type()
		data := *(*unsafe.Pointer)(unsafe.Add(a, ptrSize))
		switch {
		case dyn.Kind() == reflect.Pointer:
			return sc.pointer(i, off, unsafe.Add(a, ptrSize), data, dyn, " ("+dyn.String()+")->")
		case dyn.Kind() == reflect.Func:
			return sc.function(i, off, iv.Elem())
		case directIface(dyn):
			// A struct or array of one pointer is held as the pointer.
			if leaf := directLeaf(dyn); leaf.Kind() == reflect.Pointer {
				return sc.pointer(i, off, unsafe.Add(a, ptrSize), data, leaf, " ("+dyn.String()+")->")
			}
			return sc.fail(i, off, "an interface holds a %v, which this package cannot copy", dyn)
		case !hasPointers(dyn):
			return nil // an immutable box of plain values: kept
		}
		sc.addView(data, dyn, i, off, " ("+dyn.String()+")")
		if !isStatic(data) {
			sc.words = append(sc.words, rawWord{unsafe.Add(a, ptrSize), data})
		}
	case kFunc:
		return sc.function(i, off, reflect.NewAt(sl.typ, a).Elem())
	case kBad:
		if *(*unsafe.Pointer)(a) != nil {
			return sc.fail(i, off, "holds a %v, which this package cannot copy", sl.typ)
		}
	}
	return nil
}

// pointer handles a pointer word at a, of type pt, holding p.
func (sc *scanner) pointer(i int, off uintptr, a, p unsafe.Pointer, pt reflect.Type, what string) error {
	copied, err := sc.target(i, off, p, pt, what, "a %v may not be in the graph")
	if copied {
		sc.words = append(sc.words, rawWord{a, p})
	}
	return err
}

// target handles a pointer p of type pt, found in view i at off (in a
// word, or in a map entry): a refused type fails with refusal (a format
// of the type); a pointer a copy retargets has its target walked, and
// target says so.
func (sc *scanner) target(i int, off uintptr, p unsafe.Pointer, pt reflect.Type, what, refusal string) (bool, error) {
	if p != nil && !sc.shared[pt] && sc.refused[pt] {
		return false, sc.fail(i, off, refusal, pt)
	}
	if !sc.retargets(pt, p) {
		return false, nil
	}
	sc.addView(p, pt.Elem(), i, off, what)
	return true, nil
}

// retargets says whether a copy points a pointer p of type pt into
// itself: not nil, not to a shared type, a zero-size value or a
// package-level variable.
func (sc *scanner) retargets(pt reflect.Type, p unsafe.Pointer) bool {
	return p != nil && !sc.shared[pt] && pt.Elem().Size() > 0 && !isStatic(p)
}

// mapValue checks a key or value of a map: plain, a string, a pointer,
// an interface holding a plain value or a pointer, or a struct whose
// only references are pointers.
func (sc *scanner) mapValue(i int, off uintptr, e reflect.Value) error {
	t := e.Type()
	if t.Kind() == reflect.Interface {
		if e.IsNil() {
			return nil
		}
		e = e.Elem()
		t = e.Type()
	}
	switch {
	case !hasPointers(t):
	case t.Kind() == reflect.String:
	case t.Kind() == reflect.Pointer:
		return sc.mapPointer(i, off, t, e.UnsafePointer())
	case t.Kind() == reflect.Struct:
		tmp := reflect.New(t)
		tmp.Elem().Set(e)
		for _, sl := range layoutOf(t) {
			if sl.kind != kPtr {
				return sc.fail(i, off, "a map holds a %v, whose %s is not a pointer: this package copies maps of plain values, strings, pointers and structs of those only", t, sl.name)
			}
			if err := sc.mapPointer(i, off, sl.typ, *(*unsafe.Pointer)(unsafe.Add(tmp.UnsafePointer(), sl.off))); err != nil {
				return err
			}
		}
	default:
		return sc.fail(i, off, "a map holds a %v: this package copies maps of plain values, strings, pointers and structs of those only", t)
	}
	return nil
}

// mapPointer handles a pointer of type t, p, in a map entry.
func (sc *scanner) mapPointer(i int, off uintptr, t reflect.Type, p unsafe.Pointer) error {
	_, err := sc.target(i, off, p, t, "[key or value]->", "a map holds a %v, which may not be in the graph")
	return err
}

// function accepts a top-level function and refuses a closure or a
// method value, whose captured state the walk cannot see.
func (sc *scanner) function(i int, off uintptr, f reflect.Value) error {
	if f.IsNil() {
		return nil
	}
	name := "?"
	if fn := runtime.FuncForPC(f.Pointer()); fn != nil {
		name = fn.Name()
	}
	if strings.HasSuffix(name, "-fm") || isClosureName(name) {
		return sc.fail(i, off, "holds %s, a closure or method value, whose state a copy would share", name)
	}
	return nil
}

// isClosureName says whether a function's name is a function literal's
// (pkg.F.func1, pkg.F.func1.2, pkg.init.func3).
func isClosureName(name string) bool {
	if j := strings.LastIndex(name, "]"); j >= 0 {
		name = name[j+1:] // a generic instantiation's type list may hold dots
	}
	for _, part := range strings.Split(name, ".") {
		if strings.HasPrefix(part, "func") && len(part) > 4 && strings.Trim(part[4:], "0123456789") == "" {
			return true
		}
		if part != "" && strings.Trim(part, "0123456789") == "" {
			return true
		}
	}
	return false
}

// build merges the views into blocks and places the words and maps.
func (sc *scanner) build() (*Snapshot, error) {
	vs := slices.Clone(sc.views)
	slices.SortStableFunc(vs, func(a, b view) int {
		if c := cmp.Compare(uintptr(a.start), uintptr(b.start)); c != 0 {
			return c
		}
		return cmp.Compare(b.typ.Size(), a.typ.Size()) // the larger first
	})
	s := &Snapshot{}
	for i := 0; i < len(vs); {
		start, end := vs[i].start, vs[i].end()
		j := i + 1
		for j < len(vs) && uintptr(vs[j].start) < end {
			end = max(end, vs[j].end())
			j++
		}
		b, err := sc.cover(vs[i:j], start, end)
		if err != nil {
			return nil, err
		}
		s.blocks = append(s.blocks, b)
		i = j
	}
	for _, w := range sc.words {
		s.words = append(s.words, word{at: s.locate(w.at), to: s.locate(w.to)})
	}
	for _, e := range sc.empties {
		s.empties = append(s.empties, s.locate(e))
	}
	for _, mv := range sc.mapList {
		m := &mapCopy{old: mv.UnsafePointer(), typ: mv.Type()}
		for it := mv.MapRange(); it.Next(); {
			m.entries = append(m.entries, mapEntry{key: s.mapPart(sc, it.Key()), val: s.mapPart(sc, it.Value())})
		}
		s.maps = append(s.maps, m)
	}
	for _, ma := range sc.mapAt {
		s.mapSlots = append(s.mapSlots, mapSlot{at: s.locate(ma.at), m: sc.maps[ma.m]})
	}
	return s, nil
}

// mapPart is how a copy makes a map key or value e (see mapValue).
func (s *Snapshot) mapPart(sc *scanner, e reflect.Value) mapPart {
	p := mapPart{v: e}
	if e.Kind() == reflect.Interface {
		if e.IsNil() {
			return p
		}
		e = e.Elem()
	}
	t := e.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if sc.retargets(t, e.UnsafePointer()) {
			p.ptr, p.at = t, s.locate(e.UnsafePointer())
		}
	case t.Kind() == reflect.Struct && hasPointers(t):
		p.v = e // the struct itself, not the interface holding it
		tmp := reflect.New(t)
		tmp.Elem().Set(e)
		for _, sl := range layoutOf(t) {
			q := *(*unsafe.Pointer)(unsafe.Add(tmp.UnsafePointer(), sl.off))
			if sc.retargets(sl.typ, q) {
				p.fixes = append(p.fixes, fieldFix{off: sl.off, to: s.locate(q)})
			}
		}
	}
	return p
}

// cover makes the block of the overlapping views vs, which span
// [start, end): the type of a view that spans it all, or an array of the
// element all of them are made of.
func (sc *scanner) cover(vs []view, start unsafe.Pointer, end uintptr) (block, error) {
	size := end - uintptr(start)
	for _, v := range vs {
		if v.start == start && v.typ.Size() == size {
			for _, w := range vs {
				if !fits(v.typ, uintptr(w.start)-uintptr(start), w.typ) {
					return block{}, sc.fail(sc.indexOf(w), 0, "a %v inside a %v at offset %d does not match its layout", w.typ, v.typ, uintptr(w.start)-uintptr(start))
				}
			}
			return block{old: start, size: size, typ: v.typ, pointers: hasPointers(v.typ)}, nil
		}
	}
	el := vs[0].elem
	for _, v := range vs {
		if v.elem != el || (uintptr(v.start)-uintptr(start))%el.Size() != 0 {
			return block{}, sc.fail(sc.indexOf(v), 0, "pieces of memory of types %v and %v overlap, and no value spans them", vs[0].typ, v.typ)
		}
	}
	if size%el.Size() != 0 {
		return block{}, sc.fail(sc.indexOf(vs[0]), 0, "pieces of an array of %v do not end on an element", el)
	}
	return block{old: start, size: size, typ: reflect.ArrayOf(int(size/el.Size()), el), pointers: hasPointers(el)}, nil
}

func (sc *scanner) indexOf(v view) int {
	for i, w := range sc.views {
		if w.start == v.start && w.typ == v.typ {
			return i
		}
	}
	return -1
}

// fits says whether a value of type w at offset off of a value of type t
// is one of t's parts: t itself, a field's (or element's) value, or a
// run of elements of an array.
func fits(t reflect.Type, off uintptr, w reflect.Type) bool {
	if off == 0 && t == w {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if off >= f.Offset && off+w.Size() <= f.Offset+f.Type.Size() && (w.Size() > 0 || off < f.Offset+f.Type.Size()) {
				if fits(f.Type, off-f.Offset, w) {
					return true
				}
			}
		}
	case reflect.Array:
		el := t.Elem()
		if el.Size() == 0 {
			return false
		}
		if w.Kind() == reflect.Array && w.Elem() == el && off%el.Size() == 0 {
			return true
		}
		return fits(el, off%el.Size(), w) && off%el.Size()+w.Size() <= el.Size()
	}
	return false
}

// fieldPath names offset off of a value of type t: ".a.b[3].c".
func fieldPath(t reflect.Type, off uintptr) string {
	var b strings.Builder
	for {
		switch t.Kind() {
		case reflect.Struct:
			found := false
			for i := range t.NumField() {
				f := t.Field(i)
				if off >= f.Offset && off < f.Offset+max(f.Type.Size(), 1) {
					b.WriteString("." + f.Name)
					t, off, found = f.Type, off-f.Offset, true
					break
				}
			}
			if !found {
				return b.String()
			}
		case reflect.Array:
			if t.Elem().Size() == 0 {
				return b.String()
			}
			fmt.Fprintf(&b, "[%d]", off/t.Elem().Size())
			t, off = t.Elem(), off%t.Elem().Size()
		default:
			return b.String()
		}
	}
}

type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

const ptrSize = unsafe.Sizeof(uintptr(0))

// directLeaf is the pointer-shaped type a direct interface type is made
// of.
func directLeaf(t reflect.Type) reflect.Type {
	for {
		switch t.Kind() {
		case reflect.Array:
			t = t.Elem()
		case reflect.Struct:
			t = t.Field(0).Type
		default:
			return t
		}
	}
}

// directIface says whether a value of type t is held in an interface's
// data word itself rather than in a box (the compiler's isdirectiface).
func directIface(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Chan, reflect.Map, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() == 1 && directIface(t.Elem())
	case reflect.Struct:
		return t.NumField() == 1 && directIface(t.Field(0).Type)
	}
	return false
}
