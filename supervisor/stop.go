package supervisor

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// Stop stops a container: its stop signal, then after its stop timeout
// SIGKILL to every process left, all carried out by systemd's stop job.
// timeout, if set and shorter than the container's own, cuts the wait
// short by killing the whole unit. Stopping a stopped container succeeds.
func (s *Supervisor) Stop(ctx context.Context, name string, timeout *time.Duration) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return s.stopLocked(ctx, name, timeout, true)
}

func (s *Supervisor) stopLocked(ctx context.Context, name string, timeout *time.Duration, byUser bool) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	unit, err := systemd.Status(ctx, cfg.Unit)
	if err != nil {
		return err
	}
	st, err := s.store.State(name)
	if err != nil {
		return err
	}
	// Recorded before stopping: unless-stopped must stay down even if
	// this command is killed halfway, and systemd forgets NRestarts once
	// the unit is gone.
	st.StoppedByUser = byUser
	if unit.Loaded() {
		st.RestartCount = unit.NRestarts
	}
	if err := s.store.SaveState(name, st); err != nil {
		return err
	}
	if unit.Loaded() {
		if err := s.stopUnit(ctx, systemd, cfg, timeout); err != nil {
			return fmt.Errorf("stop container %s: %w", name, err)
		}
		// Nothing of a stopped container should linger in systemd.
		if err := systemd.ResetFailed(ctx, cfg.Unit); err != nil {
			return err
		}
	}
	if st.Paused {
		st.Paused = false
		return s.store.SaveState(name, st)
	}
	return nil
}

func (s *Supervisor) stopUnit(ctx context.Context, systemd Systemd, cfg *Config, timeout *time.Duration) error {
	if timeout != nil && *timeout < cfg.StopTimeout.Duration() {
		// systemd's own timeout is the container's; a shorter one asked
		// for this stop ends the wait by killing everything in the unit.
		timer := time.AfterFunc(*timeout, func() {
			_ = systemd.Kill(ctx, cfg.Unit, units.Whom("all"), syscall.SIGKILL)
		})
		defer timer.Stop()
	}
	return systemd.Stop(ctx, cfg.Unit)
}

// Restart stops and starts a container; its policy state is as after a
// start.
func (s *Supervisor) Restart(ctx context.Context, name string, timeout *time.Duration) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := s.stopLocked(ctx, name, timeout, false); err != nil {
		return err
	}
	return s.startLocked(ctx, name, StartOptions{})
}

// Kill sends sig to the container's main process, or with all to every
// process of it. What follows is the unit's restart policy.
func (s *Supervisor) Kill(ctx context.Context, name string, sig syscall.Signal, all bool) error {
	info, err := s.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if err := checkSignal(name, info.Status); err != nil {
		return err
	}
	whom := units.Whom("main")
	if all {
		whom = units.Whom("all")
	}
	return s.systemd.Kill(ctx, info.Config.Unit, whom, sig) // connected by Inspect
}

// Remove deletes a container. A live one is refused unless force, which
// kills it first.
func (s *Supervisor) Remove(ctx context.Context, name string, force bool) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	info, err := s.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if err := checkRemove(name, info.Status, force); err != nil {
		return err
	}
	if info.Unit.Loaded() {
		zero := time.Duration(0)
		if err := s.stopLocked(ctx, name, &zero, true); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(s.paths.bundle(name)); err != nil {
		return fmt.Errorf("remove runtime files of %s: %w", name, err)
	}
	return s.store.Remove(name)
}
