package system

// ObjectName names the system's own objects for traces: the lock of its
// table of swapped-on devices. Its parts (the swap core, the pool, the
// node, the cgroups, the devices) name their own.
func (s *System) ObjectName(obj any) string {
	if obj == &s.swapMu {
		return "system.swap_info_lock"
	}
	return ""
}
