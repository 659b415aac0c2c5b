package supervisor

import (
	"errors"
	"fmt"

	"github.com/ctr-unit/ctr-unit/units"
)

// Status is a container's state as podman and docker name it.
type Status string

const (
	StatusCreated    Status = "created"
	StatusStarting   Status = "starting"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusStopping   Status = "stopping"
	StatusExited     Status = "exited"
)

// Errors of commands that do not fit the container's state.
var (
	ErrNotRunning = errors.New("container is not running")
	ErrRunning    = errors.New("container is running")
	ErrPaused     = errors.New("container is paused")
	ErrNotPaused  = errors.New("container is not paused")
)

// DeriveStatus tells a container's status from what systemd says of its
// unit (zero Status if the unit is not loaded), its stored state, whether
// an exit was recorded, and whether its cgroup is frozen. systemd and the
// cgroup are the truth: a stored state never overrides them.
func DeriveStatus(unit units.Status, st State, exited, frozen bool) Status {
	switch unit.ActiveState {
	case "active", "reloading":
		if frozen {
			return StatusPaused
		}
		return StatusRunning
	case "activating":
		if unit.SubState == "auto-restart" {
			return StatusRestarting
		}
		return StatusStarting
	case "deactivating":
		return StatusStopping
	}
	if exited || !st.StartedAt.IsZero() {
		return StatusExited
	}
	return StatusCreated
}

// Live reports whether the container has processes (or is about to).
func (s Status) Live() bool {
	switch s {
	case StatusRunning, StatusPaused, StatusStarting, StatusStopping:
		return true
	}
	return false
}

// checkRemove decides whether a container in status s may be removed.
func checkRemove(name string, s Status, force bool) error {
	if s.Live() && !force {
		return fmt.Errorf("%w: %s is %s; stop it first (ctr-unit stop %s) or use rm -f", ErrRunning, name, s, name)
	}
	return nil
}

// checkSignal decides whether a container in status s can be signalled.
// A paused one cannot, as in docker: if the signal ended it, systemd would
// run the unit's stop step in the frozen unit, where it would hang.
func checkSignal(name string, s Status) error {
	switch s {
	case StatusRunning:
		return nil
	case StatusPaused:
		return fmt.Errorf("%w: %s is paused; unpause it first (stop and rm -f unpause it themselves)", ErrPaused, name)
	}
	return fmt.Errorf("%w: %s is %s", ErrNotRunning, name, s)
}

// checkPause and checkUnpause decide pause and unpause.
func checkPause(name string, s Status) error {
	switch s {
	case StatusRunning:
		return nil
	case StatusPaused:
		return fmt.Errorf("%w: %s is already paused", ErrPaused, name)
	}
	return fmt.Errorf("%w: %s is %s; only a running container can be paused", ErrNotRunning, name, s)
}

func checkUnpause(name string, s Status) error {
	if s != StatusPaused {
		return fmt.Errorf("%w: %s is %s", ErrNotPaused, name, s)
	}
	return nil
}
