package mm

import (
	"fmt"

	"uswap/fixes"
	"uswap/ksync"
)

// addToPageCacheFailed is what shmem_swapin_folio() makes of an error of
// shmem_add_to_page_cache() (err, nil if it succeeded) for a folio whose
// swap entry it confirmed under the folio lock: the entry can still have
// gone, because a hole punch's free_swap_and_cache() only trylocks the
// folio and goes on without it, so the error is -EEXIST and the failure
// path handles it (commit 215c02bc33bb, fix shmem-swapin-eexist).
//
// With the fix reverted this is the VM_BUG_ON(error) of v3.1 to v3.6 ("We
// already confirmed swap, and make no allocation"): a kernel bug report,
// the race of scenario shmem-swapin-punch (drawn in
// explore/testdata/scenarios/shmem-swapin-punch.txt).
func (f *ShmemFile) addToPageCacheFailed(t *ksync.Task, err error) {
	if err != nil && f.node.cfg.Fixes.Get(fixes.ShmemSwapinEexist) == fixes.ShmemSwapinEexistBugOn {
		panic(fmt.Sprintf("VM_BUG_ON(error) in shmem_swapin_folio: %v: shmem_add_to_page_cache failed after the swap entry was confirmed under the folio lock: %v", f, err))
	}
}
