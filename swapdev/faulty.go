package swapdev

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"uswap/ksync"
)

// ErrInjected marks an I/O error that a Faulty device injected. It wraps
// ErrIO, so the engine treats it as any I/O error.
var ErrInjected = fmt.Errorf("injected %w", ErrIO)

// FaultOp selects the I/O a FaultRule applies to.
type FaultOp uint8

const (
	FaultRead FaultOp = 1 << iota
	FaultWrite
	FaultReadWrite = FaultRead | FaultWrite
)

func (o FaultOp) String() string {
	switch o {
	case FaultRead:
		return "read"
	case FaultWrite:
		return "write"
	case FaultReadWrite:
		return "rw"
	}
	return "none"
}

// FaultRule says which I/Os fail or are delayed. An I/O matches a rule when
// its operation is in Op and, if Offsets is not empty, its offset is one of
// them. Of the matching I/Os, the first After go through untouched; after
// that each one is hit with probability Rate (1 when Rate is 0), at most
// Times times (no limit when Times is 0). A hit waits Delay, then fails
// with ErrInjected if Fail is set.
type FaultRule struct {
	Op      FaultOp
	Offsets []uint64
	After   int
	Rate    float64
	Times   int
	Delay   time.Duration
	Fail    bool

	offsets map[uint64]bool // built from Offsets; lookups only
	matched int             // matching I/Os so far; guarded by Faulty.lock
	hits    int             // hits so far; guarded by Faulty.lock
}

func (r *FaultRule) String() string {
	var b strings.Builder
	b.WriteString(r.Op.String())
	if len(r.Offsets) > 0 {
		s := make([]string, len(r.Offsets))
		for i, o := range r.Offsets {
			s[i] = strconv.FormatUint(o, 10)
		}
		fmt.Fprintf(&b, ":offset=%s", strings.Join(s, ","))
	}
	if r.After > 0 {
		fmt.Fprintf(&b, ":after=%d", r.After)
	}
	if r.Rate > 0 {
		fmt.Fprintf(&b, ":rate=%g", r.Rate)
	}
	if r.Times > 0 {
		fmt.Fprintf(&b, ":times=%d", r.Times)
	}
	if r.Delay > 0 {
		fmt.Fprintf(&b, ":delay=%v", r.Delay)
	}
	if !r.Fail {
		b.WriteString(":nofail")
	}
	return b.String()
}

// ParseFaultRule reads a rule written as OP[:key=value...], with OP one of
// read, write, rw and keys offset=N[,N...], after=N, rate=P (0<P<=1),
// times=N, delay=DURATION, and the flag nofail (delay only). For example
// "read:rate=0.001", "write:offset=17,18:times=1", "rw:delay=2ms:nofail".
func ParseFaultRule(s string) (FaultRule, error) {
	parts := strings.Split(s, ":")
	r := FaultRule{Fail: true}
	switch parts[0] {
	case "read":
		r.Op = FaultRead
	case "write":
		r.Op = FaultWrite
	case "rw":
		r.Op = FaultReadWrite
	default:
		return r, fmt.Errorf("fault rule %q: operation %q is not read, write or rw", s, parts[0])
	}
	for _, kv := range parts[1:] {
		if kv == "nofail" {
			r.Fail = false
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return r, fmt.Errorf("fault rule %q: %q is not key=value", s, kv)
		}
		var err error
		switch k {
		case "offset":
			for _, o := range strings.Split(v, ",") {
				n, e := strconv.ParseUint(o, 10, 64)
				if e != nil {
					return r, fmt.Errorf("fault rule %q: offset %q is not a slot number", s, o)
				}
				r.Offsets = append(r.Offsets, n)
			}
		case "after":
			r.After, err = strconv.Atoi(v)
			if err == nil && r.After < 0 {
				err = errors.New("negative")
			}
		case "times":
			r.Times, err = strconv.Atoi(v)
			if err == nil && r.Times < 0 {
				err = errors.New("negative")
			}
		case "rate":
			r.Rate, err = strconv.ParseFloat(v, 64)
			if err == nil && (r.Rate <= 0 || r.Rate > 1) {
				err = errors.New("not in (0, 1]")
			}
		case "delay":
			r.Delay, err = time.ParseDuration(v)
			if err == nil && r.Delay < 0 {
				err = errors.New("negative")
			}
		default:
			return r, fmt.Errorf("fault rule %q: unknown key %q (offset, after, rate, times, delay, nofail)", s, k)
		}
		if err != nil {
			return r, fmt.Errorf("fault rule %q: bad %s %q: %v", s, k, v, err)
		}
	}
	if !r.Fail && r.Delay == 0 {
		return r, fmt.Errorf("fault rule %q: nofail without a delay does nothing", s)
	}
	return r, nil
}

// ParseFaultRules parses each spec with ParseFaultRule; the first bad one
// is the error.
func ParseFaultRules(specs ...string) ([]FaultRule, error) {
	var rs []FaultRule
	for _, spec := range specs {
		r, err := ParseFaultRule(spec)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// Faulty wraps a Device and injects I/O errors and delays into its reads
// and writes, like the kernel's fail_make_request or dm-flakey. Decisions
// come from a splitmix64 generator seeded at construction and from counts,
// never from the clock, so a controlled run replays them exactly.
type Faulty struct {
	Device

	lock  ksync.SpinLock // guards rules (the slice and its counters) and rng
	rules []*FaultRule   // guarded by lock; replaced whole by SetRules
	rng   uint64         // guarded by lock

	readFaults  ksync.Stat // injected read errors
	writeFaults ksync.Stat // injected write errors
	delays      ksync.Stat // delayed I/Os
}

// NewFaulty wraps dev with rules; seed drives the Rate draws.
func NewFaulty(dev Device, seed uint64, rules ...FaultRule) *Faulty {
	f := &Faulty{Device: dev, rng: seed, rules: compileRules(rules)}
	f.lock.Init(ksync.RankFaultyDevice)
	return f
}

// SetRules replaces the rules while the device is in use, as writing a
// fail_make_request or dm-flakey table does: I/Os from now on see the new
// rules, whose counts (After, Times) start from zero.
func (f *Faulty) SetRules(t *ksync.Task, rules ...FaultRule) {
	rs := compileRules(rules)
	f.lock.Lock(t)
	f.rules = rs
	f.lock.Unlock(t)
}

// compileRules copies rules with their offset sets built and their
// counts zeroed.
func compileRules(rules []FaultRule) []*FaultRule {
	var rs []*FaultRule
	for i := range rules {
		r := rules[i]
		r.Offsets = append([]uint64(nil), r.Offsets...)
		r.offsets = make(map[uint64]bool, len(r.Offsets))
		for _, o := range r.Offsets {
			r.offsets[o] = true
		}
		r.matched, r.hits = 0, 0
		rs = append(rs, &r)
	}
	return rs
}

// Name names the device as the wrapped one, marked faulty.
func (f *Faulty) Name() string { return f.Device.Name() + "(faulty)" }

// FaultStats are the faults injected so far.
type FaultStats struct {
	ReadErrors, WriteErrors, Delays uint64
}

// Stats returns the faults injected so far.
func (f *Faulty) Stats() FaultStats {
	return FaultStats{f.readFaults.Sum(), f.writeFaults.Sum(), f.delays.Sum()}
}

// decide applies the rules to one I/O and returns the delay to wait and
// whether to fail it.
func (f *Faulty) decide(t *ksync.Task, op FaultOp, offset uint64) (time.Duration, bool) {
	if offset == 0 {
		// The swap header is never faulted: swapon must work.
		return 0, false
	}
	f.lock.Lock(t)
	defer f.lock.Unlock(t)
	var delay time.Duration
	fail := false
	for _, r := range f.rules {
		if r.Op&op == 0 || (len(r.offsets) > 0 && !r.offsets[offset]) {
			continue
		}
		r.matched++
		if r.matched <= r.After || (r.Times > 0 && r.hits >= r.Times) {
			continue
		}
		if r.Rate > 0 && r.Rate < 1 && float64(splitmix64(&f.rng)>>11)/(1<<53) >= r.Rate {
			continue
		}
		r.hits++
		delay = max(delay, r.Delay)
		fail = fail || r.Fail
	}
	return delay, fail
}

func (f *Faulty) inject(t *ksync.Task, op FaultOp, offset uint64) error {
	delay, fail := f.decide(t, op, offset)
	if delay > 0 {
		f.delays.Inc(t)
		ksync.ScheduleTimeout(t, delay)
	}
	if !fail {
		return nil
	}
	if op == FaultRead {
		f.readFaults.Inc(t)
	} else {
		f.writeFaults.Inc(t)
	}
	return ioError(ErrInjected, f.Name(), offset, "%s fault", op)
}

// ReadPage reads through to the device unless a rule fails the read.
func (f *Faulty) ReadPage(t *ksync.Task, offset uint64, dst []byte) error {
	if err := f.inject(t, FaultRead, offset); err != nil {
		return err
	}
	return f.Device.ReadPage(t, offset, dst)
}

// WritePage writes through to the device unless a rule fails the write;
// a failed write leaves the slot's old content, as a failed bio does.
func (f *Faulty) WritePage(t *ksync.Task, offset uint64, src []byte) error {
	if err := f.inject(t, FaultWrite, offset); err != nil {
		return err
	}
	return f.Device.WritePage(t, offset, src)
}

func splitmix64(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
