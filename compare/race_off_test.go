//go:build !race

package compare

// raceEnabled: the race detector is off.
const raceEnabled = false
