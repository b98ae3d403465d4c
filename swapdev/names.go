package swapdev

import (
	"fmt"

	"uswap/ksync"
)

// ObjectName names an object of the device for traces, with zram's
// names: "zram0.closed", the slot lock "zram0->table[5].flags ZRAM_LOCK"
// (a bit of the slot's flags), "zram0->comp.stream[1].lock",
// "zram0->mem_pool.class[3].lock". It returns "" for an object that is
// not the device's. It reads no state that could change a run.
func (z *RAM) ObjectName(obj any) string {
	if k, ok := obj.(ksync.BitKey); ok {
		if i := z.slotOf(k.Flags); i >= 0 {
			return fmt.Sprintf("%s->table[%d].flags ZRAM_LOCK", z.name, i)
		}
		return ""
	}
	switch obj {
	case &z.closed:
		return z.name + ".closed"
	case &z.pool.cacheLock:
		return z.name + "->mem_pool.cache_lock"
	case &z.pool.maxUsed:
		return z.name + "->mem_pool.max_used"
	}
	if fl, ok := obj.(*ksync.Flags); ok {
		if i := z.slotOf(fl); i >= 0 {
			return fmt.Sprintf("%s->table[%d].flags", z.name, i)
		}
	}
	for i, s := range z.comp.streams {
		if obj == &s.mu {
			return fmt.Sprintf("%s->comp.stream[%d].lock", z.name, i)
		}
	}
	for i := range z.pool.classes {
		switch c := &z.pool.classes[i]; obj {
		case &c.lock:
			return fmt.Sprintf("%s->mem_pool.class[%d].lock", z.name, i)
		case &c.table:
			return fmt.Sprintf("%s->mem_pool.class[%d].table", z.name, i)
		}
	}
	return ""
}

// slotOf is the index of the slot whose flags fl is, or -1.
func (z *RAM) slotOf(fl *ksync.Flags) int {
	for i := range z.table {
		if &z.table[i].flags == fl {
			return i
		}
	}
	return -1
}

// ObjectName names the file device's objects for traces: "swapfile.closed".
func (f *File) ObjectName(obj any) string {
	if obj == &f.closed {
		return f.Name() + ".closed"
	}
	return ""
}

// ObjectName names the fault injector's lock, then asks the device under
// it.
func (f *Faulty) ObjectName(obj any) string {
	if obj == &f.lock {
		return f.Name() + "->faults.lock"
	}
	return objectName(f.Device, obj)
}

// ObjectName asks the device under the wrapper.
func (a Async) ObjectName(obj any) string { return objectName(a.Device, obj) }

// objectName asks d to name obj, if d names objects.
func objectName(d Device, obj any) string {
	if n, ok := d.(interface{ ObjectName(any) string }); ok {
		return n.ObjectName(obj)
	}
	return ""
}
