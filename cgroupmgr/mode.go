// Package cgroupmgr finds out how cgroups are laid out on the host and
// freezes, thaws, kills, measures and removes a container's cgroup in
// that layout (cgroup v2, hybrid or v1).
package cgroupmgr

import "github.com/containerd/cgroups/v3"

// Mode is the host's cgroup layout.
type Mode int

const (
	// Unavailable means no cgroup filesystem is mounted at /sys/fs/cgroup.
	// It is the zero value so an unset Mode is never mistaken for a layout.
	Unavailable Mode = iota
	// Unified is pure cgroup v2.
	Unified
	// Hybrid is v1 controllers plus a cgroup2 mount at <root>/unified
	// that carries no controllers.
	Hybrid
	// Legacy is v1 only.
	Legacy
)

func (m Mode) String() string {
	switch m {
	case Unified:
		return "v2"
	case Hybrid:
		return "hybrid"
	case Legacy:
		return "v1"
	default:
		return "none"
	}
}

// Detect reports the host's layout. containerd/cgroups caches the answer
// for the life of the process, so calling it repeatedly is cheap.
func Detect() Mode {
	switch cgroups.Mode() {
	case cgroups.Unified:
		return Unified
	case cgroups.Hybrid:
		return Hybrid
	case cgroups.Legacy:
		return Legacy
	default:
		return Unavailable
	}
}
