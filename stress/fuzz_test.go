package stress

import (
	"fmt"
	"strings"
	"testing"
	"uswap/design"

	"uswap/fixes"
	"uswap/ksync"
	"uswap/mem"
	"uswap/swapdev"
	"uswap/system"
)

// FuzzOps is model-based fuzzing: the input is an operation sequence
// (one byte an operation, then a byte for each choice it makes) applied
// to a small machine by one worker, whose reference model (the bytes
// expected at every address) checks every load; the audit runs after
// every operation and AuditEmpty at the end. The first byte picks the
// devices and the injected faults. Every input runs on both designs of
// the swap core, each against the same model.
//
// An operation byte below 162 is one of the nine address-space and
// machine operations (byte % 9, as before shmem ops were added, so the
// older corpus keeps its meaning); from 162 up, (byte-162) % 9 is a shmem
// operation: 0 create, 1 write, 2 read, 3 truncate, 4 punch hole,
// 5 delete, 6 map shared, 7 load and 8 store through a shared mapping,
// checked against the worker's per-file model (shmem.go).
func FuzzOps(f *testing.F) {
	// store 8 pages, reclaim, load them back.
	f.Add([]byte{0, 2, 0, 0, 2, 0, 1, 2, 0, 2, 2, 0, 3, 2, 0, 4, 6, 20, 1, 0, 0, 1, 0, 1, 1, 0, 2, 1, 0, 3})
	// fork, both write, reclaim, swapoff/swapon, exit, read.
	f.Add([]byte{1, 2, 0, 0, 2, 0, 1, 4, 0, 2, 0, 0, 6, 30, 7, 0, 8, 0, 1, 0, 0, 5, 0, 1, 0, 1})
	// munmap a range then touch it (SIGSEGV), with read faults.
	f.Add([]byte{2, 2, 0, 5, 3, 0, 3, 2, 1, 0, 5, 6, 40, 1, 0, 5, 7, 1, 8, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 || len(in) > 400 {
			return
		}
		for _, d := range design.All() {
			t.Run(d.String(), func(t *testing.T) { fuzzRun(t, d, in) })
		}
	})
}

func fuzzRun(t *testing.T, d design.Design, in []byte) {
	kind := "ram"
	var faults []swapdev.FaultRule
	switch in[0] % 4 {
	case 1:
		kind = "file"
	case 2:
		faults = []swapdev.FaultRule{{Op: swapdev.FaultRead, Rate: 0.3, Fail: true}, {Op: swapdev.FaultWrite, Rate: 0.3, Fail: true}}
	case 3:
		kind = "file"
		faults = []swapdev.FaultRule{{Op: swapdev.FaultReadWrite, Rate: 0.2, Fail: true}}
	}
	cfg := system.Config{Frames: 128, MemcgLimit: 16, Fixes: fixes.Default(), PageCluster: 2, Design: d}
	for i := range 2 {
		d := system.DeviceConfig{Kind: kind, Pages: 128, Priority: -1, Faults: faults, FaultSeed: uint64(in[0]) + uint64(i)}
		if kind == "file" {
			d.Path = t.TempDir() + "/swapfile"
		}
		cfg.Devices = append(cfg.Devices, d)
	}
	tk := ksync.NewTask("fuzz", 0)
	sys, err := system.New(tk, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Shutdown(tk)
	r := &run{cfg: Config{Pages: 8, Faults: faults}, sys: sys}
	w := &worker{r: r, t: tk, src: in[1:], buf: make([]byte, mem.PageSize), exp: make([]byte, mem.PageSize), filePages: 6}
	w.init()
	fail := func(when string) {
		t.Helper()
		if len(r.violations) > 0 {
			t.Fatalf("%s: %v", when, r.violations)
		}
	}
	for step := 0; len(w.src) > 0; step++ {
		if len(w.procs) == 0 {
			w.procs = append(w.procs, &proc{m: sys.NewMM(tk)})
		}
		p := w.procs[w.rand(len(w.procs))]
		op := w.rand(256)
		if op < 162 {
			op %= 9
		} else {
			op = 9 + (op-162)%9
		}
		if len(p.maps) == 0 && op <= 5 {
			op = 0
		}
		switch op {
		case 0:
			w.mmap(p)
		case 1:
			w.load(p)
		case 2:
			w.store(p)
		case 3:
			w.munmap(p)
		case 4:
			w.fork(p)
		case 5:
			w.exit(p)
		case 6:
			sys.Node().ReclaimMemcg(tk, sys.Workload(), 1+w.rand(64))
		case 7:
			d := w.rand(2)
			if err := sys.Swapoff(tk, d); err == nil {
				if err := sys.Swapon(tk, d); err != nil {
					t.Fatalf("step %d: swapon %d: %v", step, d, err)
				}
			}
		case 8:
			if sys.SwapInfo(tk, 0) == nil {
				sys.Swapon(tk, 0)
			}
		case 9:
			w.shmCreate()
		case 10, 11, 12, 13, 14:
			sf := w.pickFile()
			if sf == nil {
				break
			}
			switch op {
			case 10:
				w.shmWrite(sf)
			case 11:
				w.shmRead(sf)
			case 12:
				w.shmTruncate(sf)
			case 13:
				w.shmPunch(sf)
			case 14:
				w.shmDelete(sf)
			}
		case 15:
			w.shmMmap(p)
		case 16:
			w.shmMapLoad(p)
		case 17:
			w.shmMapStore(p)
		}
		fail("step")
		for _, v := range sys.Audit(tk) {
			t.Fatalf("step %d (op %d): audit: %v", step, op, v)
		}
	}
	w.exitAll()
	fail("final check")
	var ops []string
	for i := range r.ops {
		if c := r.ops[i].Load(); c > 0 {
			ops = append(ops, fmt.Sprintf("%s %d", opNames[i], c))
		}
	}
	t.Logf("ops: %s; SIGBUS %d (lost %d, shmem %d, past EOF %d), OOM %d", strings.Join(ops, " "), r.bus.Load(), r.lost.Load(), r.shmLost.Load(), r.eofBus.Load(), r.oom.Load())
	for _, v := range sys.AuditEmpty(tk) {
		t.Errorf("audit empty: %v", v)
	}
}
