package bench

import (
	"testing"

	"uswap/design"
)

// TestRealmemEngine runs a short bench in real memory paged by uswap, on
// a compressed RAM device and on a swap file, sequential and random,
// with threads.
func TestRealmemEngine(t *testing.T) {
	if err := RealmemAvailable(); err != nil {
		t.Skipf("realmem engine unavailable: %v", err)
	}
	runEngineCases(t, "realmem", 4, []engineCase{
		{DeviceRAM, false, 1, false, design.Classic},
		{DeviceFile, true, 2, true, design.Classic},
	})
}
