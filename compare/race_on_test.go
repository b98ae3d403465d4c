//go:build race

package compare

// raceEnabled: the race detector is on (see TestCompareSeed003).
const raceEnabled = true
