package cgroupmgr

import "errors"

var (
	// ErrNotSupported: the layout lacks what the operation needs, e.g. a
	// controller that is not mounted or not enabled.
	ErrNotSupported = errors.New("not supported by this cgroup layout")
	// ErrNoCgroup: the container's cgroup does not exist in any hierarchy,
	// which normally means the container is not running.
	ErrNoCgroup = errors.New("cgroup does not exist")
	// ErrBusy: the cgroup still holds processes, so it cannot be removed.
	ErrBusy = errors.New("cgroup still has processes")
)
