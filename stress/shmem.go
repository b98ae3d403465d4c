package stress

import (
	"errors"
	"fmt"

	"uswap/invariant"
	"uswap/mem"
	"uswap/mm"
	"uswap/workload"
)

// The shmem half of the mix. Each worker owns a few shmem files (made on
// demand, deleted sometimes); its procs map them shared. The reference
// model of a file is the bytes expected at every offset below
// filePages pages: zero at and past EOF and in holes, the last bytes
// written (by Write or by a store through a shared mapping) elsewhere.
//
// Bytes the model cannot know: a truncation or hole punch whose partial
// page could not be had (its swap-in read failed, or no memory) leaves
// that page's bytes unzeroed, as shmem_get_partial_folio() failing makes
// the kernel skip them; those bytes are unk until written again.
//
// A page whose swap-in read failed keeps its swap entry in the index,
// and the engine keeps the failed folio in the swap cache: every access
// to it fails with ErrBus again, until reclaim drops that folio and a
// later read succeeds, with the bytes the model holds. So a SIGBUS makes
// the model forget nothing; the page is counted "lost by the device"
// once per loss (bus), and a successful access clears the mark.

const maxFiles = 3

type sfile struct {
	f       *mm.ShmemFile
	size    int64
	data    []byte // expected bytes; zero at and past size unless unk
	unk     []bool // per byte: not checked (see above)
	bus     []bool // per page: the last access got SIGBUS
	deleted bool
}

// smapping is a MAP_SHARED mapping of file pages [pgoff, pgoff+pages).
type smapping struct {
	file  *sfile
	addr  uint64
	pgoff int
	pages int
}

const maxSharedMaps = 3

func (w *worker) fileBytes() int { return w.filePages * mem.PageSize }

// byteOff draws an offset in [0, limit): page aligned, on a 16-byte
// boundary, just below a page end, or anywhere.
func (w *worker) byteOff(limit int) int {
	if limit <= 1 {
		return 0
	}
	pg := w.rand((limit + mem.PageSize - 1) / mem.PageSize)
	var sub int
	switch w.rand(4) {
	case 0:
	case 1:
		sub = w.rand(256) * 16
	case 2:
		sub = mem.PageSize - 1 - w.rand(16)
	default:
		sub = w.rand(mem.PageSize)
	}
	return min(pg*mem.PageSize+sub, limit-1)
}

// byteLen draws a length in [1, limit].
func (w *worker) byteLen(limit int) int {
	var n int
	switch w.rand(4) {
	case 0:
		n = mem.PageSize * (1 + w.rand(4))
	case 1:
		n = 1 + w.rand(64)
	case 2:
		n = mem.PageSize - w.rand(16)
	default:
		n = 1 + w.rand(3*mem.PageSize)
	}
	return max(1, min(n, limit))
}

// sizeChoice draws a file size in [0, fileBytes].
func (w *worker) sizeChoice() int64 {
	switch w.rand(4) {
	case 0:
		return 0
	case 1:
		return int64(w.rand(w.filePages+1) * mem.PageSize)
	}
	return int64(w.byteOff(w.fileBytes() + 1))
}

func (w *worker) shmCreate() *sfile {
	if len(w.files) >= maxFiles {
		w.shmDelete(w.files[w.rand(len(w.files))])
	}
	w.r.ops[OpShmCreate].Add(1)
	size := w.sizeChoice()
	f, err := w.r.sys.ShmemCreate(w.t, size)
	if err != nil {
		w.outcome(err, "shmem create of %d bytes", size)
		return nil
	}
	sf := &sfile{f: f, size: size, data: make([]byte, w.fileBytes()), unk: make([]bool, w.fileBytes()), bus: make([]bool, w.filePages)}
	w.files = append(w.files, sf)
	return sf
}

// pickFile is one of the worker's files, made if it has none.
func (w *worker) pickFile() *sfile {
	if len(w.files) == 0 {
		return w.shmCreate()
	}
	return w.files[w.rand(len(w.files))]
}

// shmBus sorts an error of a shmem access to page pg of sf: SIGBUS (with
// read faults injected) marks the page lost, OOM is counted, anything
// else is a violation.
func (w *worker) shmBus(sf *sfile, pg int, err error, format string, args ...any) {
	r := w.r
	switch {
	case errors.Is(err, mm.ErrBus) && r.readFaults():
		r.bus.Add(1)
		if pg >= 0 && pg < len(sf.bus) && !sf.bus[pg] {
			sf.bus[pg] = true
			r.lost.Add(1)
			r.shmLost.Add(1)
		}
	case errors.Is(err, mm.ErrOOM):
		r.oom.Add(1)
	default:
		r.violate(invariant.NoUnexpectedError, w.object(), "%v: %s: %v", sf.f, fmt.Sprintf(format, args...), err)
	}
}

// setBytes records that [off, off+len(b)) now holds b.
func (sf *sfile) setBytes(off int, b []byte) {
	copy(sf.data[off:], b)
	for i := off; i < off+len(b); i++ {
		sf.unk[i] = false
	}
	for pg := off / mem.PageSize; pg <= (off+len(b)-1)/mem.PageSize && len(b) > 0; pg++ {
		sf.bus[pg] = false
	}
}

// zero records that [from, to) reads as zeros (clipped to the model).
func (sf *sfile) zero(from, to int) {
	to = min(to, len(sf.data))
	for i := from; i < to; i++ {
		sf.data[i], sf.unk[i] = 0, false
	}
}

func (sf *sfile) forget(from, to int) {
	to = min(to, len(sf.data))
	for i := from; i < to; i++ {
		sf.unk[i] = true
	}
}

// verify compares got, read at file offset off, with the model.
func (w *worker) verify(sf *sfile, off int, got []byte, what string) {
	for i, b := range got {
		o := off + i
		var want byte
		if o < len(sf.data) {
			if sf.unk[o] {
				continue
			}
			want = sf.data[o]
		}
		if int64(o) >= sf.size {
			want = 0
		}
		if b != want {
			w.r.corrupt.Add(1)
			w.r.violate(invariant.NoLostData, w.object(), "%v: %s: corrupted: file offset %d is %#x, want %#x (size %d)", sf.f, what, o, b, want, sf.size)
			return
		}
	}
}

func (w *worker) shmWrite(sf *sfile) {
	w.r.ops[OpShmWrite].Add(1)
	limit := w.fileBytes()
	off := w.byteOff(limit)
	n := w.byteLen(limit - off)
	buf := w.fbuf[:n]
	for i := 0; i < n; i += 8 {
		v := workload.SplitMix64(&w.rng)
		for j := i; j < min(n, i+8); j++ {
			buf[j] = byte(v >> (8 * (j - i)))
		}
	}
	done, err := sf.f.Write(w.t, int64(off), buf)
	if done > 0 {
		sf.setBytes(off, buf[:done])
	}
	if err == nil {
		if done != n {
			w.r.violate(invariant.NoUnexpectedError, w.object(), "%v: write of %d at %d wrote %d", sf.f, n, off, done)
		}
		sf.size = max(sf.size, int64(off+n))
		return
	}
	// Write extends i_size before it gets the page that failed.
	pos := off + done
	chunk := min(n-done, mem.PageSize-pos%mem.PageSize)
	sf.size = max(sf.size, int64(pos+chunk))
	w.shmBus(sf, pos/mem.PageSize, err, "write of %d at %d (%d done)", n, off, done)
}

func (w *worker) shmRead(sf *sfile) {
	w.r.ops[OpShmRead].Add(1)
	off := w.byteOff(w.fileBytes() + mem.PageSize)
	n := w.byteLen(3 * mem.PageSize)
	buf := w.fbuf[:n]
	got, err := sf.f.Read(w.t, int64(off), buf)
	want := int(max(0, min(int64(n), sf.size-int64(off))))
	w.verify(sf, off, buf[:got], "read")
	if err != nil {
		if got >= want {
			w.r.violate(invariant.NoUnexpectedError, w.object(), "%v: read of %d at %d: %d bytes and %v", sf.f, n, off, got, err)
		}
		w.shmBus(sf, (off+got)/mem.PageSize, err, "read of %d at %d (%d done)", n, off, got)
		return
	}
	if got != want {
		w.r.violate(invariant.NoLostData, w.object(), "%v: read of %d at %d (size %d): %d bytes, want %d", sf.f, n, off, sf.size, got, want)
	}
}

// pageEnd is the end of the page holding byte o.
func pageEnd(o int) int { return (o/mem.PageSize + 1) * mem.PageSize }

func (w *worker) shmTruncate(sf *sfile) {
	w.r.ops[OpShmTruncate].Add(1)
	size := w.sizeChoice()
	err := sf.f.Truncate(w.t, size)
	old := sf.size
	sf.size = size
	if size < old {
		s := int(size)
		first := (s + mem.PageSize - 1) / mem.PageSize
		if s%mem.PageSize != 0 {
			if err != nil {
				sf.forget(s, min(pageEnd(s), int(old)))
			} else {
				sf.zero(s, pageEnd(s))
			}
		}
		sf.zero(first*mem.PageSize, len(sf.data))
		for pg := first; pg < len(sf.bus); pg++ {
			sf.bus[pg] = false
		}
	}
	if err != nil {
		w.shmBus(sf, int(size)/mem.PageSize, err, "truncate from %d to %d", old, size)
	}
}

func (w *worker) shmPunch(sf *sfile) {
	w.r.ops[OpShmPunch].Add(1)
	off := w.byteOff(w.fileBytes())
	n := w.byteLen(2 * w.fileBytes())
	end := off + n
	err := sf.f.PunchHole(w.t, int64(off), int64(n))
	start := (off + mem.PageSize - 1) / mem.PageSize
	last := end / mem.PageSize // whole pages: [start, last)
	// The partial pages, zeroed only if below EOF (a hole past EOF is
	// not read in).
	partial := func(from, to int) {
		if int64(from/mem.PageSize*mem.PageSize) >= sf.size {
			return
		}
		if err != nil {
			sf.forget(from, to)
		} else {
			sf.zero(from, to)
		}
	}
	if off%mem.PageSize != 0 {
		partial(off, min(end, pageEnd(off)))
	}
	if end%mem.PageSize != 0 && last >= start {
		partial(last*mem.PageSize, end)
	}
	if start < last {
		sf.zero(start*mem.PageSize, last*mem.PageSize)
		for pg := start; pg < min(last, len(sf.bus)); pg++ {
			sf.bus[pg] = false
		}
	}
	if err != nil {
		w.shmBus(sf, -1, err, "punch hole (%d, %d)", off, n)
	}
}

func (w *worker) shmDelete(sf *sfile) {
	w.r.ops[OpShmDelete].Add(1)
	if err := sf.f.Delete(w.t); err != nil {
		w.r.violate(invariant.NoUnexpectedError, w.object(), "delete of %v: %v", sf.f, err)
	}
	sf.deleted = true
	for k, g := range w.files {
		if g == sf {
			w.files = append(w.files[:k], w.files[k+1:]...)
			break
		}
	}
}

func (w *worker) shmMmap(p *proc) {
	if len(p.smaps) >= maxSharedMaps {
		w.shmMunmap(p)
		return
	}
	sf := w.pickFile()
	if sf == nil {
		return
	}
	w.r.ops[OpShmMmap].Add(1)
	pgoff := w.rand(w.filePages)
	pages := 1 + w.rand(w.filePages-pgoff)
	addr, err := p.m.MmapShared(w.t, sf.f, uint64(pgoff)*mem.PageSize, uint64(pages)*mem.PageSize, mm.ProtRead|mm.ProtWrite)
	if err != nil {
		w.outcome(err, "mmap shared of %v in %v", sf.f, p.m)
		return
	}
	p.smaps = append(p.smaps, &smapping{file: sf, addr: addr, pgoff: pgoff, pages: pages})
}

func (w *worker) shmMunmap(p *proc) {
	w.r.ops[OpMunmap].Add(1)
	k := w.rand(len(p.smaps))
	sm := p.smaps[k]
	if err := p.m.Munmap(w.t, sm.addr, uint64(sm.pages)*mem.PageSize); err != nil {
		w.outcome(err, "munmap of shared %#x in %v", sm.addr, p.m)
		return
	}
	p.smaps = append(p.smaps[:k], p.smaps[k+1:]...)
}

// shmAccess loads from (or stores to) page i of sm: a range in the page
// (stores stay below EOF, where they are visible to Read).
func (w *worker) shmAccess(p *proc, sm *smapping, i int, store bool) {
	sf := sm.file
	pg := sm.pgoff + i
	base := pg * mem.PageSize
	addr := sm.addr + uint64(i)*mem.PageSize
	from, n := 0, mem.PageSize
	inEOF := !sf.deleted && int64(base) < sf.size
	if w.rand(2) == 0 {
		from = w.byteOff(mem.PageSize)
		n = w.byteLen(mem.PageSize - from)
	}
	if store && inEOF {
		from = min(from, int(sf.size)-base-1)
		n = min(n, int(sf.size)-base-from)
	}
	buf := w.fbuf[:n]
	var err error
	if store {
		for j := range buf {
			buf[j] = byte(workload.SplitMix64(&w.rng))
		}
		err = p.m.Store(w.t, addr+uint64(from), buf)
	} else {
		err = p.m.Load(w.t, addr+uint64(from), buf)
	}
	what := "load"
	if store {
		what = "store"
	}
	if !inEOF {
		if !errors.Is(err, mm.ErrBus) {
			w.r.violate(invariant.NoUnexpectedError, w.object(), "%s at %#x of %v: page %d of %v (size %d, deleted %v): %v, want SIGBUS", what, addr, p.m, pg, sf.f, sf.size, sf.deleted, err)
		} else {
			w.r.bus.Add(1)
			w.r.eofBus.Add(1)
		}
		return
	}
	if err != nil {
		w.shmBus(sf, pg, err, "%s at %#x of %v (page %d)", what, addr, p.m, pg)
		return
	}
	if store {
		sf.setBytes(base+from, buf)
		return
	}
	sf.bus[pg] = false
	w.verify(sf, base+from, buf, "load through a shared mapping")
}

func (w *worker) shmMapLoad(p *proc) {
	if len(p.smaps) == 0 {
		w.shmMmap(p)
		return
	}
	w.r.ops[OpShmLoad].Add(1)
	sm := p.smaps[w.rand(len(p.smaps))]
	w.shmAccess(p, sm, w.rand(sm.pages), false)
}

func (w *worker) shmMapStore(p *proc) {
	if len(p.smaps) == 0 {
		w.shmMmap(p)
		return
	}
	w.r.ops[OpShmStore].Add(1)
	sm := p.smaps[w.rand(len(p.smaps))]
	w.shmAccess(p, sm, w.rand(sm.pages), true)
}

// shmStep is one shmem operation of the stress mix; x is in [0, 300).
func (w *worker) shmStep(p *proc, x int) {
	switch {
	case x < 70:
		if sf := w.pickFile(); sf != nil {
			w.shmWrite(sf)
		}
	case x < 140:
		if sf := w.pickFile(); sf != nil {
			w.shmRead(sf)
		}
	case x < 195:
		w.shmMapLoad(p)
	case x < 250:
		w.shmMapStore(p)
	case x < 266:
		if sf := w.pickFile(); sf != nil {
			w.shmTruncate(sf)
		}
	case x < 282:
		if sf := w.pickFile(); sf != nil {
			w.shmPunch(sf)
		}
	case x < 292:
		w.shmMmap(p)
	case x < 296:
		w.shmCreate()
	default:
		if len(w.files) > 0 {
			w.shmDelete(w.files[w.rand(len(w.files))])
		}
	}
}

// shmCheckAll reads every file whole and loads every page of every
// shared mapping, against the model.
func (w *worker) shmCheckAll() {
	for _, sf := range w.files {
		buf := w.fbuf[:w.fileBytes()]
		got, err := sf.f.Read(w.t, 0, buf)
		w.verify(sf, 0, buf[:got], "final read")
		if err != nil {
			w.shmBus(sf, got/mem.PageSize, err, "final read (%d done)", got)
		} else if int64(got) != sf.size {
			w.r.violate(invariant.NoLostData, w.object(), "%v: final read: %d bytes, size %d", sf.f, got, sf.size)
		}
	}
	for _, p := range w.procs {
		for _, sm := range p.smaps {
			for i := range sm.pages {
				sf := sm.file
				pg := sm.pgoff + i
				buf := w.fbuf[:mem.PageSize]
				err := p.m.Load(w.t, sm.addr+uint64(i)*mem.PageSize, buf)
				switch {
				case sf.deleted || int64(pg*mem.PageSize) >= sf.size:
					if !errors.Is(err, mm.ErrBus) {
						w.r.violate(invariant.NoUnexpectedError, w.object(), "final load of page %d of %v past EOF: %v, want SIGBUS", pg, sf.f, err)
					}
				case err != nil:
					w.shmBus(sf, pg, err, "final load of page %d", pg)
				default:
					w.verify(sf, pg*mem.PageSize, buf, "final load through a shared mapping")
				}
			}
		}
	}
}

// shmDeleteAll deletes every file.
func (w *worker) shmDeleteAll() {
	for len(w.files) > 0 {
		w.shmDelete(w.files[0])
	}
}
