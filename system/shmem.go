package system

import (
	"uswap/ksync"
	"uswap/mm"
)

// ShmemCreate is a shmem file of sizeBytes bytes whose pages are charged
// to the workload cgroup.
func (s *System) ShmemCreate(t *ksync.Task, sizeBytes int64) (*mm.ShmemFile, error) {
	return s.node.ShmemCreate(t, s.workload, sizeBytes)
}
