//go:build race

package realmem

// opsScale divides the tests' operation counts under the race detector,
// which makes every fault several times slower.
const opsScale = 4
