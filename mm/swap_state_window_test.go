package mm

import "testing"

// TestSwapinNrPagesWindow is __swapin_nr_pages()'s table: the window
// starts only on a sequential fault or after hits, grows to the next
// power of two above hits+2, is capped, and never shrinks by more than
// half at once.
func TestSwapinNrPagesWindow(t *testing.T) {
	for _, c := range []struct {
		prev, off               uint64
		hits, maxPages, prevWin int
		want                    int
	}{
		{100, 101, 0, 8, 0, 2},   // sequential, no hits
		{100, 99, 0, 8, 0, 2},    // sequential downwards
		{100, 200, 0, 8, 0, 1},   // random, no hits: no readahead
		{100, 200, 0, 8, 8, 4},   // random after a window of 8: halved, not 1
		{100, 200, 0, 8, 2, 1},   // half of 2
		{100, 200, 1, 8, 0, 4},   // 3 rounded up to 4
		{100, 200, 3, 8, 0, 8},   // 5 rounded up to 8
		{100, 200, 20, 8, 0, 8},  // capped
		{100, 200, 1, 16, 16, 8}, // 4, but the last window was 16
	} {
		if got := swapinNrPagesWindow(c.prev, c.off, c.hits, c.maxPages, c.prevWin); got != c.want {
			t.Errorf("__swapin_nr_pages(prev %d, off %d, hits %d, max %d, prev win %d) = %d, want %d",
				c.prev, c.off, c.hits, c.maxPages, c.prevWin, got, c.want)
		}
	}
}
