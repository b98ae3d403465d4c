package memcg

import (
	"fmt"
	"strconv"
	"strings"

	"uswap/ksync"
	"uswap/mem"
)

// This file writes limits: memory_max_write and swap_max_write (v2),
// mem_cgroup_resize_max (v1), page_counter_memparse.

// bytesToPages rounds a limit in bytes down to pages, capped at
// PageCounterMax (page_counter_memparse after memparse).
func bytesToPages(bytes int64) (int64, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("%w: negative limit %d", ErrInvalid, bytes)
	}
	return min(bytes/mem.PageSize, PageCounterMax), nil
}

// ParseLimit is memparse() for a limit file: "max" is Unlimited,
// otherwise a decimal number of bytes with an optional K, M, G, T, P or E
// suffix (either case, powers of 1024).
func ParseLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return Unlimited, nil
	}
	shift := 0
	if s != "" {
		// K is 2^10, M 2^20, ... E 2^60.
		if i := strings.IndexByte("kmgtpe", s[len(s)-1]|0x20); i >= 0 {
			shift = 10 * (i + 1)
			s = s[:len(s)-1]
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: limit %q", ErrInvalid, s)
	}
	if v > uint64(Unlimited)>>shift {
		return Unlimited, nil
	}
	return int64(v << shift), nil
}

// SetMemoryMax writes memory.max (v2) or memory.limit_in_bytes (v1):
// bytes, rounded down to pages; Unlimited for "max". Lowering the limit
// below the usage reclaims (the hierarchy's Reclaimer) and retries, up to
// MaxReclaimRetries times, stopping early when a reclaim frees nothing;
// if the usage still does not fit, the old limit stays and the error
// wraps ErrBusy. In v1 the memory limit may not exceed the memsw limit
// (ErrInvalid). The root has no limit (ErrInvalid).
//
// This is v1's mem_cgroup_resize_max in both versions. v2's
// memory_max_write instead sets the new limit first, reclaims, and then
// OOM-kills until the usage fits, and never fails.
func (m *MemCgroup) SetMemoryMax(t *ksync.Task, bytes int64) error {
	pages, err := m.limitPages(bytes, "memory.max")
	if err != nil {
		return err
	}
	return m.resizeMax(t, &m.memory, pages)
}

// SetMemswMax writes memory.memsw.limit_in_bytes (v1 only): the limit of
// memory plus swap, which may not be below the memory limit. Otherwise
// as SetMemoryMax.
func (m *MemCgroup) SetMemswMax(t *ksync.Task, bytes int64) error {
	pages, err := m.limitPages(bytes, "memory.memsw.limit_in_bytes", V1)
	if err != nil {
		return err
	}
	return m.resizeMax(t, &m.memsw, pages)
}

// SetSwapMax writes memory.swap.max (v2 only): swap_max_write sets the
// limit whatever the usage; slots already charged stay, new swap charges
// fail until the usage is below it.
func (m *MemCgroup) SetSwapMax(t *ksync.Task, bytes int64) error {
	pages, err := m.limitPages(bytes, "memory.swap.max", V2)
	if err != nil {
		return err
	}
	if m.IsRoot() {
		return fmt.Errorf("%w: the root cgroup has no memory.swap.max", ErrInvalid)
	}
	m.swap.max.Swap(t, pages)
	return nil
}

// limitPages converts a limit written to file from bytes to pages, after
// checking that file exists in m's cgroup version (only, when given: the
// file is that version's alone).
func (m *MemCgroup) limitPages(bytes int64, file string, only ...Mode) (int64, error) {
	if len(only) > 0 && m.h.mode != only[0] {
		return 0, fmt.Errorf("%w: %s is a cgroup %v file", ErrInvalid, file, only[0])
	}
	return bytesToPages(bytes)
}

// resizeMax is mem_cgroup_resize_max(): set counter's limit (m.memory or
// m.memsw) to pages, reclaiming while the usage is above it.
func (m *MemCgroup) resizeMax(t *ksync.Task, counter *PageCounter, pages int64) error {
	if m.IsRoot() {
		return fmt.Errorf("%w: the root cgroup has no %s limit", ErrInvalid, counter.name)
	}
	h := m.h
	retries := MaxReclaimRetries
	for {
		h.maxMutex.Lock(t)
		if h.mode == V1 {
			if counter == &m.memsw && pages < m.memory.Max(t) {
				h.maxMutex.Unlock(t)
				return fmt.Errorf("%w: %s memsw limit %d pages below its memory limit %d pages", ErrInvalid, m.path, pages, m.memory.Max(t))
			}
			if counter == &m.memory && pages > m.memsw.Max(t) {
				h.maxMutex.Unlock(t)
				return fmt.Errorf("%w: %s memory limit %d pages above its memsw limit %d pages", ErrInvalid, m.path, pages, m.memsw.Max(t))
			}
		}
		err := counter.SetMax(t, pages)
		h.maxMutex.Unlock(t)
		if err == nil {
			return nil
		}
		r := h.getReclaimer(t)
		if r == nil || retries == 0 {
			return fmt.Errorf("%w: %s: %s %v", ErrBusy, m.path, counter.name, err)
		}
		retries--
		need := counter.Read(t) - pages
		if need < 1 {
			need = 1
		}
		if r.ReclaimMemcg(t, m, int(min(need, 1<<30))) == 0 {
			return fmt.Errorf("%w: %s: %s %v, and reclaim freed nothing", ErrBusy, m.path, counter.name, err)
		}
	}
}
