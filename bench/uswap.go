package bench

import "errors"

// ErrUswapUnavailable is the uswap engine's error until the mm layer
// (address spaces with Load and Store through a software MMU, package
// system to assemble them) is in the tree.
var ErrUswapUnavailable = errors.New("the uswap engine is not available yet: it runs on the mm layer (mm.MM Load/Store, system.New), which is still being written; use --engine kernel")

// UswapEngine runs the workload on uswap's own swap, embedded in this
// process: no root, no set-up.
type UswapEngine struct{}

// Name is "uswap".
func (*UswapEngine) Name() string { return "uswap" }

// Setup fails until the mm layer exists.
func (*UswapEngine) Setup(Options) (Memory, error) { return nil, ErrUswapUnavailable }

// Teardown does nothing.
func (*UswapEngine) Teardown() error { return nil }

// NewEngine returns the engine called name; kernelChild is the command
// the kernel engine re-executes as its child.
func NewEngine(name string, kernelChild []string) (Engine, error) {
	switch name {
	case "uswap":
		return &UswapEngine{}, nil
	case "kernel":
		return &KernelEngine{ChildCommand: kernelChild}, nil
	}
	return nil, errors.New("engine " + name + ": want uswap or kernel")
}
