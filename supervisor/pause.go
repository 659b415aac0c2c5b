package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/units"
)

// ErrCannotPause means the host's cgroup layout gives no way to freeze.
var ErrCannotPause = errors.New("cannot pause")

// cgroups returns the cgroup manager for the layout detected once per
// process.
func (s *Supervisor) cgroups() *cgroupmgr.Manager {
	if s.cgroupMgr == nil {
		s.cgroupMgr = cgroupmgr.New(cgroupmgr.Detect())
	}
	return s.cgroupMgr
}

// freezeVia says how this layout freezes a container, or why it cannot.
// On unified v2 systemd freezes the unit itself (FreezeUnit), so systemd's
// FreezerState stays true; on v1 systemd cannot freeze, and the freezer
// controller on runc's cgroup for the container does it.
func freezeVia(mode cgroupmgr.Mode, freezerAvailable, root bool) (bySystemd bool, err error) {
	switch {
	case mode == cgroupmgr.Unified:
		return true, nil
	case mode != cgroupmgr.Hybrid && mode != cgroupmgr.Legacy:
		return false, fmt.Errorf("%w: no cgroup filesystem found", ErrCannotPause)
	case !root:
		return false, fmt.Errorf("%w: the v1 freezer needs root", ErrCannotPause)
	case !freezerAvailable:
		return false, fmt.Errorf("%w: the v1 freezer controller is not mounted", ErrCannotPause)
	}
	return false, nil
}

// Pause freezes every process of a running container.
func (s *Supervisor) Pause(ctx context.Context, name string) error {
	return s.setFrozen(ctx, name, true)
}

// Unpause thaws a paused container.
func (s *Supervisor) Unpause(ctx context.Context, name string) error {
	return s.setFrozen(ctx, name, false)
}

func (s *Supervisor) setFrozen(ctx context.Context, name string, frozen bool) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	info, systemd, err := s.current(ctx, name)
	if err != nil {
		return err
	}
	check := checkUnpause
	if frozen {
		check = checkPause
	}
	if err := check(name, info.Status); err != nil {
		return err
	}
	cg := s.cgroups()
	// Say why before anything is touched.
	if _, err := freezeVia(cg.Mode(), cg.Available("freezer"), os.Geteuid() == 0); err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if frozen {
		// No check runs while paused (one would hang in the frozen
		// container until its timeout).
		if err := s.healthOnPause(ctx, info.Config); err != nil {
			return err
		}
	}
	if err := s.freeze(ctx, systemd, info.Config, frozen); err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if !frozen {
		return s.healthOnUnpause(ctx, info.Config)
	}
	return nil
}

// freeze freezes or thaws a container the way its layout allows (see
// freezeVia).
func (s *Supervisor) freeze(ctx context.Context, systemd Systemd, cfg *Config, frozen bool) error {
	bySystemd := s.cgroups().Mode() == cgroupmgr.Unified
	switch {
	case bySystemd && frozen:
		return systemd.Freeze(ctx, cfg.Unit)
	case bySystemd:
		return systemd.Thaw(ctx, cfg.Unit)
	case frozen:
		return s.cgroups().Freeze(ctx, containerCgroup(cfg.Unit))
	default:
		return s.cgroups().Thaw(ctx, containerCgroup(cfg.Unit))
	}
}

// isFrozen reads whether a live container is frozen from its cgroup, in
// either layout: on v2 a unit frozen by systemd shows as frozen in the
// container's cgroup below it too.
func (s *Supervisor) isFrozen(cfg *Config, unit units.Status) bool {
	if unit.ActiveState != "active" {
		return false
	}
	state, err := s.cgroups().FreezerState(containerCgroup(cfg.Unit))
	return err == nil && state != "thawed"
}

// checkLimits refuses limits this host's cgroup layout cannot enforce,
// naming the flag, instead of letting systemd ignore them silently.
func (s *Supervisor) checkLimits(cfg *Config) error {
	want := cgroupmgr.Limits{
		MemoryBytes: int64(cfg.MemoryMax),
		CPUs:        float64(cfg.CPUQuotaUSec) / 1e6,
		Pids:        int64(cfg.PidsLimit),
	}
	if want == (cgroupmgr.Limits{}) {
		return nil
	}
	cg := s.cgroups()
	if err := cgroupmgr.CheckLimits(cg.Mode(), cg.Available, want); err != nil {
		return fmt.Errorf("%w: container %s: %w", ErrInvalid, cfg.Name, err)
	}
	return nil
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
	out := make([]Stats, 0, len(infos))
	for _, info := range infos {
		// The unit's cgroup, not only runc's below it: on v1 systemd
		// accounts memory and pids there.
		st, err := s.cgroups().Stats(unitCgroup(info.Config.Unit))
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", info.Config.Name, err)
		}
		out = append(out, Stats{Name: info.Config.Name, Stats: st})
	}
	return out, nil
}
