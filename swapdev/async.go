package swapdev

// Async wraps a device and takes its SWP_SYNCHRONOUS_IO away: every
// swap-in of its pages then goes through the swap cache, with readahead,
// as for a disk or a swap file (and for zram itself before the kernel
// gave synchronous devices the bypass, v4.15). It lets a scenario run the
// swap cache path with a device kept in memory.
type Async struct{ Device }

var _ Device = Async{}

// Synchronous is false.
func (Async) Synchronous() bool { return false }

// Name names the device as the wrapped one, marked asynchronous.
func (a Async) Name() string { return a.Device.Name() + "(async)" }
