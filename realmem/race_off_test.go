//go:build !race

package realmem

const opsScale = 1
