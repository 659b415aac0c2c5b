package supervisor

import (
	"context"
	"fmt"
	"os"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Pause freezes every process of a running container.
func (s *Supervisor) Pause(ctx context.Context, name string) error {
	return s.setFrozen(ctx, name, true)
}

// Unpause thaws a paused container.
func (s *Supervisor) Unpause(ctx context.Context, name string) error {
	return s.setFrozen(ctx, name, false)
}

func (s *Supervisor) setFrozen(ctx context.Context, name string, frozen bool) error {
	info, systemd, unlock, err := s.lockCurrent(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	check := checkUnpause
	if frozen {
		check = checkPause
	}
	if err := check(name, info.Status); err != nil {
		return err
	}
	// Say why before anything is touched.
	if _, err := s.freezeMethod(); err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if frozen {
		// No check runs while paused (one would hang in the frozen
		// container until its timeout).
		if err := s.healthCleanup(ctx, systemd, info.Config); err != nil {
			return err
		}
	}
	if err := s.freeze(ctx, systemd, info.Config, frozen); err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if frozen {
		s.event(info.Config, events.Pause)
	} else {
		s.event(info.Config, events.Unpause)
	}
	if !frozen {
		return s.healthStart(ctx, systemd, info.Config)
	}
	return nil
}

func (s *Supervisor) freezeMethod() (freezeMethod, error) {
	return decideFreeze(s.cgroups.Mode(), s.cgroups.Available("freezer"), os.Geteuid() == 0)
}

// freeze freezes or thaws a container the way its layout allows
// (decideFreeze).
func (s *Supervisor) freeze(ctx context.Context, systemd Systemd, cfg *container.Config, frozen bool) error {
	how, err := s.freezeMethod()
	if err != nil {
		return err
	}
	switch {
	case how == freezeBySystemd && frozen:
		return systemd.Freeze(ctx, cfg.Unit)
	case how == freezeBySystemd:
		return systemd.Thaw(ctx, cfg.Unit)
	case frozen:
		return s.cgroups.Freeze(ctx, unitstep.ContainerCgroup(cfg.Unit))
	default:
		return s.cgroups.Thaw(ctx, unitstep.ContainerCgroup(cfg.Unit))
	}
}

// isFrozen reads whether a live container is frozen from its cgroup, in
// either layout: on v2 a unit frozen by systemd shows as frozen in the
// container's cgroup below it too.
func (s *Supervisor) isFrozen(cfg *container.Config, unit units.Status) bool {
	if unit.ActiveState != "active" {
		return false
	}
	frozen, err := s.cgroups.Frozen(unitstep.ContainerCgroup(cfg.Unit))
	return err == nil && frozen
}

// Stats are one container's resource figures.
type Stats struct {
	Name string
	cgroupmgr.Stats
}

// Stats reads CPU time, memory and pids of running containers (all running
// ones if names is empty) from their cgroups.
func (s *Supervisor) Stats(ctx context.Context, names []string) ([]Stats, error) {
	var infos []*Info
	if len(names) == 0 {
		all, err := s.List(ctx, false)
		if err != nil {
			return nil, err
		}
		infos = all
	}
	for _, n := range names {
		info, err := s.Inspect(ctx, n)
		if err != nil {
			return nil, err
		}
		if !info.Status.Live() {
			return nil, fmt.Errorf("%w: %s is %s", ErrNotRunning, n, info.Status)
		}
		infos = append(infos, info)
	}
	out := make([]Stats, len(infos))
	err := eachParallel(len(infos), func(i int) error {
		// The unit's cgroup, not only runc's below it: on v1 systemd
		// accounts memory and pids there.
		st, err := s.cgroups.Stats(unitstep.UnitCgroup(infos[i].Config.Unit))
		if err != nil {
			return fmt.Errorf("stats of %s: %w", infos[i].Config.Name, err)
		}
		out[i] = Stats{Name: infos[i].Config.Name, Stats: st}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
