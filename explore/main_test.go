package explore

import (
	"os"
	"testing"
)

// TestMain runs the tests with the collector's target uswap explore sets
// (TuneGC): they explore hundreds of thousands of schedules, each on a
// machine of its own.
func TestMain(m *testing.M) {
	TuneGC()
	os.Exit(m.Run())
}
