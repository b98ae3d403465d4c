package uswap_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"sync"

	"uswap"
)

// The map/store/swap/check program: map twice the memory limit and store
// into every page (reclaim swaps pages out as the limit fills), push
// what is still resident out, load every page back and check it, and
// audit the machine.
func Example() {
	m, err := uswap.New(uswap.Options{}) // 64 MiB of RAM, a 16 MiB limit, 128 MiB of compressed swap
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	mem, err := m.Map(32 << 20) // twice the limit: storing into it swaps
	if err != nil {
		log.Fatal(err)
	}
	page := make([]byte, uswap.PageSize)
	for off := int64(0); off < mem.Size(); off += uswap.PageSize {
		binary.LittleEndian.PutUint64(page, uint64(off)) // each page says where it belongs
		mem.Store(off, page)
	}
	mem.PageOut() // what is still resident goes to swap too
	bad := 0
	for off := int64(0); off < mem.Size(); off += uswap.PageSize {
		if mem.Load(off, page) != nil || binary.LittleEndian.Uint64(page) != uint64(off) {
			bad++
		}
	}
	fmt.Println("bad pages:", bad, "swapped in:", m.Stats().Swap.PswpIn, "audit findings:", len(m.Audit()))
	// Output:
	// bad pages: 0 swapped in: 8192 audit findings: 0
}

// Stats reads every counter at once: the swap core's, the vm events, the
// memory cgroup's and the swap device's mm_stat.
func ExampleMachine_Stats() {
	m, err := uswap.New(uswap.Options{Memory: 16 << 20, Limit: 4 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	mem, err := m.Map(8 << 20)
	if err != nil {
		log.Fatal(err)
	}
	page := make([]byte, uswap.PageSize)
	for off := int64(0); off < mem.Size(); off += uswap.PageSize {
		page[0] = byte(off / uswap.PageSize)
		mem.Store(off, page)
	}
	st := m.Stats()
	fmt.Println("page faults:", st.VM.PgFault, "swapped out:", st.Swap.PswpOut)
	fmt.Println("resident:", st.Memcg.Memory.Usage, "pages of a limit of", st.Memcg.Memory.Max)
	fmt.Println("the device holds", st.Device.OrigDataSize/uswap.PageSize, "pages (the swap header too), compressed:",
		st.Device.ComprDataSize < st.Device.OrigDataSize)
	// Output:
	// page faults: 2048 swapped out: 1024
	// resident: 1024 pages of a limit of 1024
	// the device holds 1025 pages (the swap header too), compressed: true
}

// When the limit and the swap device are both full, a store fails with
// ErrOOM, as a fault that cannot get memory does.
func ExampleOptions() {
	m, err := uswap.New(uswap.Options{Memory: 16 << 20, Limit: 4 << 20, Swap: 4 << 20, Compressor: "zstd"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	mem, err := m.Map(16 << 20) // more than the limit and the swap device together
	if err != nil {
		log.Fatal(err)
	}
	page := make([]byte, uswap.PageSize)
	for off := int64(0); off < mem.Size(); off += uswap.PageSize {
		if err := mem.Store(off, page); err != nil {
			fmt.Println("out of memory:", errors.Is(err, uswap.ErrOOM), "after", off>>20, "MiB")
			break
		}
	}
	fmt.Println("audit findings:", len(m.Audit()))
	// Output:
	// out of memory: true after 7 MiB
	// audit findings: 0
}

// For concurrent use, each goroutine gets a task of its own and calls the
// Task forms.
func ExampleMachine_NewTask() {
	m, err := uswap.New(uswap.Options{Memory: 16 << 20}) // a 4 MiB limit
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	const workers, size = 4, 2 << 20
	var wg sync.WaitGroup
	bad := make([]int, workers)
	for w := range workers {
		mem, err := m.Map(size)
		if err != nil {
			log.Fatal(err)
		}
		t := m.NewTask(fmt.Sprint("worker", w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			page := make([]byte, uswap.PageSize)
			for off := int64(0); off < size; off += uswap.PageSize {
				binary.LittleEndian.PutUint64(page, uint64(w)<<32|uint64(off))
				mem.StoreTask(t, off, page)
			}
			mem.PageOutTask(t)
			for off := int64(0); off < size; off += uswap.PageSize {
				if mem.LoadTask(t, off, page) != nil || binary.LittleEndian.Uint64(page) != uint64(w)<<32|uint64(off) {
					bad[w]++
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println("bad pages:", bad, "audit findings:", len(m.Audit()))
	// Output:
	// bad pages: [0 0 0 0] audit findings: 0
}
