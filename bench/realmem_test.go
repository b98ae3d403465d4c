package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestRealmemEngine runs a short bench in real memory paged by uswap, on
// a compressed RAM device and on a swap file, sequential and random,
// with threads, and checks that it paged, that no page came back wrong,
// that the CPU time was measured and that the swap file went.
func TestRealmemEngine(t *testing.T) {
	if err := RealmemAvailable(); err != nil {
		t.Skipf("realmem engine unavailable: %v", err)
	}
	for _, tc := range []struct {
		device  string
		random  bool
		threads int
		write   bool
	}{
		{DeviceRAM, false, 1, false},
		{DeviceRAM, true, 2, true},
		{DeviceFile, true, 2, false},
	} {
		o := DefaultOptions()
		o.SizeMiB, o.LimitMiB, o.Passes = 16, 4, 2
		o.Device, o.Random, o.Threads, o.Write = tc.device, tc.random, tc.threads, tc.write
		o.Engine = "realmem"
		if tc.device == DeviceFile {
			o.DevicePath = filepath.Join(t.TempDir(), "swap")
		}
		rep, err := Run(context.Background(), &RealmemEngine{}, o, nil)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		t.Logf("%s\n%s", rep.EngineLine(), rep.ResultLine())
		if rep.Corrupt != 0 {
			t.Fatalf("%+v: corrupt=%d", tc, rep.Corrupt)
		}
		if rep.Counters.Pswpin == 0 || rep.Counters.Pswpout == 0 || rep.Counters.Pgmajfault == 0 {
			t.Errorf("%+v: no swapping in a 16 MiB working set limited to 4 MiB: %+v", tc, rep.Counters)
		}
		if rep.Device.Kind != tc.device || rep.CPUSeconds <= 0 || rep.Latency.Count != 2*o.Pages() {
			t.Errorf("%+v: device %+v, cpu %v s, %d visits timed", tc, rep.Device, rep.CPUSeconds, rep.Latency.Count)
		}
		if tc.device == DeviceFile {
			if _, err := os.Stat(o.DevicePath); err == nil {
				t.Errorf("swap file %s left behind", o.DevicePath)
			}
		}
	}
}
