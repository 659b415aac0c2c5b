package cgroupmgr

import (
	"errors"
	"fmt"
)

// Limits are the resource limits a container asks for; zero means unset.
type Limits struct {
	MemoryBytes int64   // --memory
	CPUs        float64 // --cpus
	Pids        int64   // --pids-limit
}

// CheckLimits reports, before anything is started, which requested limits
// the layout cannot enforce. available is normally Manager.Available. The
// error names each offending flag and wraps ErrNotSupported.
func CheckLimits(mode Mode, available func(controller string) bool, want Limits) error {
	checks := []struct {
		set        bool
		flag, ctrl string
	}{
		{want.MemoryBytes > 0, "--memory", "memory"},
		{want.CPUs > 0, "--cpus", "cpu"},
		{want.Pids > 0, "--pids-limit", "pids"},
	}
	var errs []error
	for _, c := range checks {
		if c.set && !available(c.ctrl) {
			errs = append(errs, fmt.Errorf("%s needs the %s cgroup controller, which is not available in this host's %s cgroup layout: %w",
				c.flag, c.ctrl, mode, ErrNotSupported))
		}
	}
	return errors.Join(errs...)
}
