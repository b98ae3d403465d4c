package realmem_test

import (
	"encoding/binary"
	"fmt"

	"uswap/realmem"
)

// Map a 16 MiB region of which at most 4 MiB is resident, fill every
// page, and read it all back: three quarters of the pages come back from
// uswap's compressed swap. Close frees everything. Where userfaultfd is
// not available Map says why; this example then runs the same work on
// ordinary memory, so that its output is the same.
func Example() {
	const size = 16 << 20
	region, err := realmem.Map(size, realmem.Options{Budget: 4 << 20})
	var mem []byte
	if err == nil {
		defer region.Close()
		mem = region.Bytes()
	} else {
		mem = make([]byte, size) // no userfaultfd here: plain memory
	}
	const page = 4096
	for i := 0; i < size/page; i++ {
		binary.LittleEndian.PutUint64(mem[i*page:], uint64(i))
	}
	bad := 0
	for i := 0; i < size/page; i++ {
		if binary.LittleEndian.Uint64(mem[i*page:]) != uint64(i) {
			bad++
		}
	}
	fmt.Printf("%d pages, %d wrong\n", size/page, bad)
	// Output: 4096 pages, 0 wrong
}
