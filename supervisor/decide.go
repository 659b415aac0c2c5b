package supervisor

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
)

// Every decision about whether a transition may happen, and how, is a
// pure function here; the commands carry them out.

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
	// ErrCannotPause means the host's cgroup layout gives no way to
	// freeze.
	ErrCannotPause = errors.New("cannot pause")
)

// DeriveStatus tells a container's status from what systemd says of its
// unit (zero Status if the unit is not loaded), its stored state, whether
// an exit was recorded, and whether its cgroup is frozen. systemd and the
// cgroup are the truth: a stored state never overrides them.
func DeriveStatus(unit units.Status, st container.State, exited, frozen bool) Status {
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
// One that is stopping can, as in podman: a container that hangs in its
// stop is what kill is for. A paused one cannot, as in docker: if the
// signal ended it, systemd would run the unit's stop step in the frozen
// unit, where it would hang.
func checkSignal(name string, s Status) error {
	switch s {
	case StatusRunning, StatusStopping:
		return nil
	case StatusPaused:
		return fmt.Errorf("%w: %s is paused; unpause it first (stop and rm -f unpause it themselves)", ErrPaused, name)
	}
	return fmt.Errorf("%w: %s is %s", ErrNotRunning, name, s)
}

// checkExec decides whether a process can be run in a container in status
// s: only a running one has the namespaces to join; a paused one would
// freeze the process too.
func checkExec(name string, s Status) error {
	switch s {
	case StatusRunning:
		return nil
	case StatusPaused:
		return fmt.Errorf("%w: %s is paused; unpause it first (ctr-unit unpause %s)", ErrPaused, name, name)
	}
	return fmt.Errorf("%w: %s is %s; start it first (ctr-unit start %s)", ErrNotRunning, name, s, name)
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

// startAction is what a start of a container in some status does.
type startAction int

const (
	startUnit    startAction = iota // start the unit
	startNothing                    // it runs already: nothing to do
)

// decideStart decides a start: a running container is left as it is
// (as in podman), unless the caller attaches to it, which needs a start;
// one that is live otherwise, or about to be restarted by systemd, is
// refused.
func decideStart(name string, s Status, attach bool) (startAction, error) {
	switch {
	case s == StatusRunning && !attach:
		return startNothing, nil
	case s.Live() || s == StatusRestarting:
		return startUnit, fmt.Errorf("%w: %s is %s", ErrRunning, name, s)
	}
	return startUnit, nil
}

// stopPlan is how a stop is carried out.
type stopPlan struct {
	// thawFirst: a paused container is thawed before the stop, or its
	// frozen processes could not act on the stop signal and the stop
	// would wait out the whole stop timeout.
	thawFirst bool
	// stopUnit: the unit is loaded and must be stopped (a stop of a
	// stopped container succeeds with nothing to do).
	stopUnit bool
}

// decideStop plans the stop of a container in status s whose unit is or
// is not loaded.
func decideStop(s Status, loaded bool) stopPlan {
	return stopPlan{thawFirst: loaded && s == StatusPaused, stopUnit: loaded}
}

// stopWait is how a stop waits, after the stop signal, before SIGKILL.
type stopWait int

const (
	// waitOwn: the container's stop timeout, the unit's TimeoutStopSec.
	waitOwn stopWait = iota
	// waitShorter: ctr-unit kills the container when the time asked for
	// is up, before systemd would.
	waitShorter
	// waitLonger: systemd's timeout of this stop is extended to the time
	// asked for (EXTEND_TIMEOUT_USEC), after which systemd kills.
	waitLonger
)

// decideStopWait decides how a stop waits: for the container's own
// timeout, or for the one asked for (stop -t), longer or shorter.
func decideStopWait(own time.Duration, asked *time.Duration) (stopWait, time.Duration) {
	switch {
	case asked == nil || *asked == own:
		return waitOwn, own
	case *asked < own:
		return waitShorter, *asked
	}
	return waitLonger, *asked
}

// stopKillWarning is podman's warning for a stop that came to SIGKILL
// (none when no wait was asked for, -t 0).
func stopKillWarning(sig container.Signal, name string, wait time.Duration) string {
	if wait <= 0 {
		return ""
	}
	return fmt.Sprintf("StopSignal %s failed to stop container %s in %d seconds, resorting to SIGKILL", unix.SignalName(syscall.Signal(sig)), name, wait/time.Second)
}

// freezeMethod is how the host's layout freezes a container.
type freezeMethod int

const (
	freezeBySystemd freezeMethod = iota // systemd's FreezeUnit (v2)
	freezeByV1                          // the v1 freezer on runc's cgroup
)

// decideFreeze says how this layout freezes a container, or why it
// cannot. On unified v2 systemd freezes the unit itself, so systemd's
// FreezerState stays true; on v1 systemd cannot freeze, and the freezer
// controller on runc's cgroup for the container does it.
func decideFreeze(mode cgroupmgr.Mode, freezerAvailable, root bool) (freezeMethod, error) {
	switch {
	case mode == cgroupmgr.Unified:
		return freezeBySystemd, nil
	case mode != cgroupmgr.Hybrid && mode != cgroupmgr.Legacy:
		return 0, fmt.Errorf("%w: no cgroup filesystem found", ErrCannotPause)
	case !root:
		return 0, fmt.Errorf("%w: the v1 freezer needs root", ErrCannotPause)
	case !freezerAvailable:
		return 0, fmt.Errorf("%w: the v1 freezer controller is not mounted", ErrCannotPause)
	}
	return freezeByV1, nil
}

// startsAtBoot decides whether a container comes up at boot by its
// restart policy, as podman's podman-restart.service and docker's daemon
// do: always does; unless-stopped does unless the user stopped it. An
// instance of ctr@.service is left to systemd: `systemctl enable` is how
// it comes up at boot.
func startsAtBoot(cfg *container.Config, st container.State) bool {
	if units.IsTemplateInstance(cfg.Unit) {
		return false
	}
	switch cfg.Restart.Name {
	case container.PolicyAlways:
		return true
	case container.PolicyUnlessStopped:
		return !st.StoppedByUser
	}
	return false
}

// pullFailure is how a container's last start ended when its unit's pull
// of the image failed (msg, at; "" if it did not) after its last run: a
// failed start, podman's 125, with the registry's error. A run begun or
// ended since the failure keeps its own exit.
func pullFailure(ex *container.Exit, st container.State, msg string, at time.Time) *container.Exit {
	if msg == "" || st.StartedAt.After(at) || (ex != nil && (ex.FinishedAt.After(at) || ex.StartedAt.After(at))) {
		return ex
	}
	return &container.Exit{ExitCode: 125, Error: msg, FinishedAt: at}
}
