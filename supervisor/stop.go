package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/sdnotify"
)

// Stop stops a container: its stop signal, then after its stop timeout
// (or timeout, if set, longer or shorter) SIGKILL to every process left,
// carried out by systemd's stop job. Stopping a stopped container
// succeeds.
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
	// the unit is gone. A --rm container's record goes with the stop.
	if !cfg.AutoRemove {
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
	}
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

// stopUnit runs the unit's stop job, which sends the stop signal and, if
// the container outlives the wait, SIGKILL. systemd waits the container's
// stop timeout (the unit's TimeoutStopSec); a stop -t of another length
// either kills the container itself when its time is up, or extends
// systemd's timeout of this stop, which systemd allows through
// EXTEND_TIMEOUT_USEC but not by changing TimeoutStopSec while the unit
// runs. A stop that came to SIGKILL is reported, as podman reports it.
func (s *Supervisor) stopUnit(ctx context.Context, systemd Systemd, cfg *container.Config, timeout *time.Duration) error {
	how, wait := decideStopWait(cfg.StopTimeout.Duration(), timeout)
	started := time.Now()
	var killed atomic.Bool
	fired := make(chan struct{})
	deadline := time.AfterFunc(wait, func() {
		defer close(fired)
		pid, _, ok := s.runningInit(cfg.Name)
		if !ok || ociruntime.Zombie(pid) {
			return
		}
		if how != waitShorter {
			killed.Store(true) // systemd kills it now
			return
		}
		// SIGKILL to the container's init only: its pid namespace dies
		// with it, and killing the whole unit would also kill the stop
		// step that removes runc's state.
		if systemd.Kill(ctx, cfg.Unit, mainProcess, syscall.SIGKILL) == nil {
			killed.Store(true)
		}
	})
	defer deadline.Stop()
	done := make(chan struct{})
	defer close(done)
	if how == waitLonger {
		go s.extendStop(ctx, systemd, cfg, started.Add(wait), done)
	}
	if err := systemd.Stop(ctx, cfg.Unit); err != nil {
		return err
	}
	// The stop can end before the kill's own answer comes back: a kill
	// under way is waited for, or its warning would be lost.
	if !deadline.Stop() {
		<-fired
	}
	if killed.Load() {
		if msg := stopKillWarning(cfg.StopSignal, cfg.Name, wait); msg != "" {
			s.warn(msg)
		}
	}
	return nil
}

// extendStop moves systemd's deadline of the stop that has begun to
// until: once the unit is stopping (so the timer of the stop is set), it
// sends EXTEND_TIMEOUT_USEC on behalf of the container's init.
func (s *Supervisor) extendStop(ctx context.Context, systemd Systemd, cfg *container.Config, until time.Time, done <-chan struct{}) {
	for {
		states, err := systemd.ActiveStates(ctx, []string{cfg.Unit})
		if err != nil {
			return
		}
		if st, loaded := states[cfg.Unit]; !loaded || st.ActiveState == "deactivating" {
			break
		}
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
	pid, _, ok := s.runningInit(cfg.Name)
	if !ok {
		return // it stopped: nothing to wait for
	}
	left := time.Until(until)
	if left <= 0 {
		return
	}
	msg := fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", left.Microseconds())
	if err := sdnotify.NotifyAs(pid, msg, sdnotify.Timeout); err != nil && !errors.Is(err, unix.ESRCH) {
		s.warn(fmt.Sprintf("container %s: could not extend the stop timeout to %v: %v", cfg.Name, time.Until(until).Round(time.Second), err))
	}
}

// Restart stops and starts a container; its policy state is as after a
// start.
func (s *Supervisor) Restart(ctx context.Context, name string, timeout *time.Duration) error {
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	release := func() {}
	if cfg.AutoRemove {
		// Its unit would remove it as it stops: a restart is not its
		// end. Held for the stop only, so that the unit removes it when
		// it ends after the start.
		if release, err = s.HoldRemoval(name); err != nil {
			return err
		}
	}
	err = s.stopLocked(ctx, name, timeout, false)
	release()
	if err != nil {
		return err
	}
	return s.startLocked(ctx, name, StartOptions{})
}

// RestartUnit restarts unit, container name's, as systemctl restart
// does, and waits for it: a unit that makes its container as it starts
// (one of generate systemd --new) makes it anew, where Restart, a stop
// and a start of the container, would find it removed by the stop. The
// unit is the caller's to say: its last start may have left no container.
func (s *Supervisor) RestartUnit(ctx context.Context, name, unit string) error {
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	if err := systemd.Restart(ctx, unit); err != nil {
		return fmt.Errorf("container %s: %w; see journalctl -u %s", name, err, unit)
	}
	return nil
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
	// runc's state is the stop step's to drop; one killed midway leaves
	// it, and nothing after rm would.
	if _, err := os.Stat(filepath.Join(s.dirs.RuncRoot(), name)); err == nil {
		runc, err := s.runc()
		if err != nil {
			return err
		}
		if err := runc.Delete(ctx, name, true); err != nil {
			return fmt.Errorf("remove container %s: %w", name, err)
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
