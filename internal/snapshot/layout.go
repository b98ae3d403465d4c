package snapshot

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// layouts caches layoutOf by type.
var layouts sync.Map // reflect.Type -> []slot

// layoutOf lists the words of a value of type t that refer to other
// memory, by offset.
func layoutOf(t reflect.Type) []slot {
	if l, ok := layouts.Load(t); ok {
		return l.([]slot)
	}
	var l []slot
	appendLayout(&l, t, 0, "")
	layouts.Store(t, l)
	return l
}

func appendLayout(l *[]slot, t reflect.Type, off uintptr, name string) {
	switch t.Kind() {
	case reflect.Pointer:
		*l = append(*l, slot{off: off, kind: kPtr, typ: t, elem: t.Elem(), name: name})
	case reflect.Slice:
		*l = append(*l, slot{off: off, kind: kSlice, typ: t, name: name})
	case reflect.Map:
		*l = append(*l, slot{off: off, kind: kMap, typ: t, name: name})
	case reflect.Interface:
		*l = append(*l, slot{off: off, kind: kIface, typ: t, name: name})
	case reflect.Func:
		*l = append(*l, slot{off: off, kind: kFunc, typ: t, name: name})
	case reflect.Chan, reflect.UnsafePointer:
		*l = append(*l, slot{off: off, kind: kBad, typ: t, name: name})
	case reflect.Array:
		if !hasPointers(t.Elem()) {
			return
		}
		for i := range t.Len() {
			appendLayout(l, t.Elem(), off+uintptr(i)*t.Elem().Size(), name+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Struct:
		if isAtomicPointer(t) {
			// sync/atomic.Pointer[T]{_ [0]*T; _ noCopy; v unsafe.Pointer}
			v, _ := t.FieldByName("v")
			el := t.Field(0).Type.Elem().Elem()
			*l = append(*l, slot{off: off + v.Offset, kind: kPtr, typ: reflect.PointerTo(el), elem: el, name: name + ".v"})
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if hasPointers(f.Type) {
				appendLayout(l, f.Type, off+f.Offset, name+"."+f.Name)
			}
		}
	}
}

func isAtomicPointer(t reflect.Type) bool {
	return t.PkgPath() == "sync/atomic" && strings.HasPrefix(t.Name(), "Pointer[")
}

var pointerful sync.Map // reflect.Type -> bool

// hasPointers says whether a value of type t holds any pointer word
// (strings count: their bytes are immutable, but they are words the
// collector follows).
func hasPointers(t reflect.Type) bool {
	if v, ok := pointerful.Load(t); ok {
		return v.(bool)
	}
	var has bool
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.String:
		has = true
	case reflect.Array:
		has = t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				has = true
				break
			}
		}
	}
	pointerful.Store(t, has)
	return has
}

// static is the program's own memory (its data and bss): package-level
// variables, which a fresh build shares as well, so a copy keeps them.
var static = sync.OnceValue(func() [][2]uintptr {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][2]uintptr
	prevExe := false
	var prevEnd uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		path := ""
		if len(fs) >= 6 {
			path = fs[5]
		}
		switch {
		case path == exe:
			out = append(out, [2]uintptr{uintptr(a), uintptr(b)})
			prevExe = true
		case path == "" && prevExe && uintptr(a) == prevEnd:
			// The bss past the file's data: anonymous, right after it.
			out = append(out, [2]uintptr{uintptr(a), uintptr(b)})
			prevExe = false
		default:
			prevExe = false
		}
		prevEnd = uintptr(b)
	}
	return out
})

// isStatic says whether p is in the program's data or bss.
func isStatic(ptr unsafe.Pointer) bool {
	p := uintptr(ptr)
	for _, r := range static() {
		if p >= r[0] && p < r[1] {
			return true
		}
	}
	return false
}
