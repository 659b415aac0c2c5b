package supervisor

import (
	"context"
	"fmt"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/sdbus"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Conditions of wait, as podman names them.
const (
	ConditionStopped   = "stopped"
	ConditionRunning   = "running"
	ConditionHealthy   = "healthy"
	ConditionUnhealthy = "unhealthy"
)

// ParseCondition checks a wait condition.
func ParseCondition(c string) (string, error) {
	switch c {
	case ConditionStopped, "exited", "":
		return ConditionStopped, nil
	case ConditionRunning, ConditionHealthy, ConditionUnhealthy:
		return c, nil
	}
	return "", fmt.Errorf("unknown condition %q: want stopped, running, healthy or unhealthy", c)
}

// conditionMet decides whether a container is as a wait wants it.
func conditionMet(info *Info, cond string) bool {
	switch cond {
	case ConditionRunning:
		return info.Status == StatusRunning
	case ConditionHealthy, ConditionUnhealthy:
		want := healthcheck.Healthy
		if cond == ConditionUnhealthy {
			want = healthcheck.Unhealthy
		}
		return info.Status.Live() && info.Health != nil && info.Health.Status == want
	}
	return info.Status == StatusExited
}

// Wait returns once container name meets cond, with its last exit code
// (-1 if it never exited). It waits on systemd's signals about the
// container's unit: each one that comes makes it look again, and nothing
// else does; there is no polling.
func (s *Supervisor) Wait(ctx context.Context, name, cond string) (int, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return -1, err
	}
	if cond == ConditionHealthy || cond == ConditionUnhealthy {
		if cfg.Health == nil {
			return -1, fmt.Errorf("%w: %s; wait --condition %s needs one", ErrNoHealthcheck, name, cond)
		}
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return -1, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Watching first, then looking: no change between the two is missed.
	changes, err := systemd.Watch(ctx, func(unit string) bool { return unit == cfg.Unit })
	if err != nil {
		return -1, err
	}
	for {
		info, _, err := s.current(ctx, name)
		if err != nil {
			return -1, err
		}
		if conditionMet(info, cond) {
			if info.Exit == nil {
				return -1, nil
			}
			return info.Exit.ExitCode, nil
		}
		if err := nextChange(ctx, changes); err != nil {
			return -1, fmt.Errorf("waiting for %s to be %s: %w", name, cond, err)
		}
	}
}

// nextChange waits for one change and takes in those already queued.
func nextChange(ctx context.Context, changes <-chan sdbus.Change) error {
	select {
	case _, ok := <-changes:
		if !ok {
			return fmt.Errorf("systemd's signals ended: %w", context.Cause(ctx))
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		select {
		case <-changes:
		default:
			return nil
		}
	}
}

// Processes lists the pids of every process of a live container: those
// in its unit's cgroup (the container's, execs' and checks').
func (s *Supervisor) Processes(ctx context.Context, name string) ([]int, error) {
	info, _, err := s.current(ctx, name)
	if err != nil {
		return nil, err
	}
	if !info.Status.Live() {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotRunning, name, info.Status)
	}
	return s.cgroups.Processes(unitstep.UnitCgroup(info.Config.Unit))
}
