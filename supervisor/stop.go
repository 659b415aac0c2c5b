package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
)

// Stop stops a container: its stop signal, then after its stop timeout
// SIGKILL to every process left, all carried out by systemd's stop job.
// timeout, if set and shorter than the container's own, cuts the wait
// short by killing the whole unit. Stopping a stopped container succeeds.
func (s *Supervisor) Stop(ctx context.Context, name string, timeout *time.Duration) error {
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return s.stopLocked(ctx, name, timeout, true)
}

func (s *Supervisor) stopLocked(ctx context.Context, name string, timeout *time.Duration, byUser bool) (err error) {
	info, systemd, err := s.current(ctx, name)
	if err != nil {
		return err
	}
	return s.stopFrom(ctx, systemd, info, timeout, byUser)
}

// stopFrom stops the container info describes, as systemd has it now.
func (s *Supervisor) stopFrom(ctx context.Context, systemd Systemd, info *Info, timeout *time.Duration, byUser bool) (err error) {
	cfg, st := info.Config, info.State
	plan := decideStop(info.Status, info.Unit.Loaded())
	// Recorded before stopping: unless-stopped must stay down even if
	// this command is killed halfway, and systemd forgets NRestarts once
	// the unit is gone.
	st.StoppedByUser = byUser
	if plan.stopUnit {
		if st.RestartCount, err = systemd.NRestarts(ctx, cfg.Unit); err != nil {
			return err
		}
	}
	flushed, err := s.store.WriteState(cfg.Name, st)
	if err != nil {
		return err
	}
	// The state reaches the disk while systemd stops the unit.
	defer func() { err = errors.Join(err, flushed()) }()
	// Checks stop first: a check's runc exec racing the stop step would
	// make runc create the container's state root again, left empty.
	if err := s.healthCleanup(ctx, systemd, cfg); err != nil {
		return err
	}
	if !plan.stopUnit {
		return nil
	}
	if plan.thawFirst {
		if err := s.freeze(ctx, systemd, cfg, false); err != nil {
			return fmt.Errorf("stop container %s: %w", cfg.Name, err)
		}
	}
	if err := s.stopUnit(ctx, systemd, cfg, timeout); err != nil {
		return fmt.Errorf("stop container %s: %w", cfg.Name, err)
	}
	// Nothing of a stopped container should linger in systemd.
	return systemd.ResetFailed(ctx, cfg.Unit)
}

func (s *Supervisor) stopUnit(ctx context.Context, systemd Systemd, cfg *container.Config, timeout *time.Duration) error {
	if timeout != nil && *timeout < cfg.StopTimeout.Duration() {
		// systemd's own timeout is the container's; a shorter one asked
		// for this stop ends the wait by killing the container.
		// SIGKILL to the container's init only: its pid namespace dies
		// with it, and killing the whole unit would also kill the stop
		// step that removes runc's state.
		timer := time.AfterFunc(*timeout, func() {
			_ = systemd.Kill(ctx, cfg.Unit, mainProcess, syscall.SIGKILL)
		})
		defer timer.Stop()
	}
	return systemd.Stop(ctx, cfg.Unit)
}

// Restart stops and starts a container; its policy state is as after a
// start.
func (s *Supervisor) Restart(ctx context.Context, name string, timeout *time.Duration) error {
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.stopLocked(ctx, name, timeout, false); err != nil {
		return err
	}
	return s.startLocked(ctx, name, StartOptions{})
}

// Kill sends sig to the container's main process, or with all to every
// process of it. What follows is the unit's restart policy.
func (s *Supervisor) Kill(ctx context.Context, name string, sig syscall.Signal, all bool) error {
	info, systemd, err := s.current(ctx, name)
	if err != nil {
		return err
	}
	if err := checkSignal(name, info.Status); err != nil {
		return err
	}
	whom := mainProcess
	if all {
		whom = allProcesses
	}
	return systemd.Kill(ctx, info.Config.Unit, whom, sig)
}

// Remove deletes a container. A live one is refused unless force, which
// kills it first.
func (s *Supervisor) Remove(ctx context.Context, name string, force bool) error {
	info, systemd, unlock, err := s.lockCurrent(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := checkRemove(name, info.Status, force); err != nil {
		return err
	}
	if info.Unit.Loaded() {
		zero := time.Duration(0)
		if err := s.stopFrom(ctx, systemd, info, &zero, true); err != nil {
			return err
		}
		if _, err := s.store.Config(name); errors.Is(err, container.ErrNoSuchContainer) {
			return nil // removed by its unit's own stop step (generate --new)
		}
	}
	if err := os.RemoveAll(s.dirs.Bundle(name)); err != nil {
		return fmt.Errorf("remove runtime files of %s: %w", name, err)
	}
	if err := s.removeUnitFiles(ctx, systemd, info.Config); err != nil {
		return err
	}
	if err := s.fs.Delete(info.Config); err != nil {
		return err
	}
	if err := s.store.Remove(name); err != nil {
		return err
	}
	s.event(info.Config, events.Remove)
	return nil
}
