package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/sdbus"
)

// StartOptions modify one start.
type StartOptions struct {
	// Stdio, if set, hands these descriptors to the container (attached run).
	Stdio *[3]int
}

// Start starts a container's unit and returns once the container runs.
// Starting a running container does nothing, as in podman.
func (s *Supervisor) Start(ctx context.Context, name string, o StartOptions) error {
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return s.startLocked(ctx, name, o)
}

func (s *Supervisor) startLocked(ctx context.Context, name string, o StartOptions) error {
	info, systemd, err := s.current(ctx, name)
	if err != nil {
		return err
	}
	return s.startFrom(ctx, systemd, info, o)
}

// startNew starts a container create has just stored (run -d). systemd
// has no unit of it loaded, so the query Start begins with is skipped
// (about 0.7 ms); should systemd have one after all, left by an earlier
// container of that name, the start is done as Start does it.
func (s *Supervisor) startNew(ctx context.Context, cfg *container.Config) error {
	unlock, err := s.store.Lock(ctx, cfg.Name)
	if err != nil {
		return err
	}
	defer unlock()
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	err = s.startFrom(ctx, systemd, &Info{Config: cfg, Status: StatusCreated}, StartOptions{})
	if errors.Is(err, sdbus.ErrUnitExists) {
		return s.startLocked(ctx, cfg.Name, StartOptions{})
	}
	return err
}

// startFrom starts the container info describes, as systemd has it now.
func (s *Supervisor) startFrom(ctx context.Context, systemd Systemd, info *Info, o StartOptions) (err error) {
	cfg, unit, st := info.Config, info.Unit, info.State
	name := cfg.Name
	// runc is looked for before anything changes: a missing runc is a
	// clear error here, not a failed unit.
	if _, err := s.runc(); err != nil {
		return err
	}
	if action, err := decideStart(name, info.Status, o.Stdio != nil); err != nil || action == startNothing {
		return err
	}
	if err := s.startDependencies(ctx, cfg); err != nil {
		return err
	}
	if unit.Loaded() {
		// Whether the unit has a file of its own decides how it starts,
		// and only the full read says; a new container's unit is not
		// loaded, so its start does not pay for it.
		if unit, err = systemd.Status(ctx, cfg.Unit); err != nil {
			return err
		}
		// A failed unit lingers and keeps the name taken.
		if err := systemd.ResetFailed(ctx, cfg.Unit); err != nil {
			return err
		}
	}
	if err := s.writeBundle(cfg); err != nil {
		return err
	}
	if err := s.store.ClearExit(name); err != nil {
		return err
	}
	st.StartedAt, st.StoppedByUser, st.RestartCount = time.Now(), false, 0
	st.BootID, _ = currentBootID()
	flushed, err := s.store.WriteState(name, st)
	if err != nil {
		return err
	}
	// The state reaches the disk while systemd starts the unit.
	defer func() { err = errors.Join(err, flushed()) }()
	if err := s.healthCleanup(ctx, systemd, cfg); err != nil {
		return err
	}
	svc := s.service(cfg)
	svc.StdioFDs = o.Stdio
	launched := time.Now()
	if err := s.launch(ctx, systemd, cfg, unit, svc); err != nil {
		if ranAndEnded(ctx, systemd, cfg.Unit, launched, err) {
			return nil
		}
		return s.startFailed(name, cfg.Unit, err)
	}
	return nil
}

// ranAndEnded tells a start job that failed because the container's own
// process ended with an error before the job was done (it ran: its exit is
// recorded, and run -d reports it started, as podman's does) from one
// where the container never ran. Only a process named the unit's main
// one during this start has a start time later than launched.
func ranAndEnded(ctx context.Context, systemd Systemd, unit string, launched time.Time, err error) bool {
	if !errors.Is(err, sdbus.ErrJobFailed) {
		return false
	}
	st, serr := systemd.Status(ctx, unit)
	return serr == nil && st.StartedAt.After(launched)
}

// startFailed explains a start job that did not succeed.
func (s *Supervisor) startFailed(name, unit string, err error) error {
	if ex, _ := s.store.Exit(name); ex != nil {
		return fmt.Errorf("container %s failed to start (exit code %d); see journalctl -u %s: %w", name, ex.ExitCode, unit, err)
	}
	return fmt.Errorf("container %s failed to start; see journalctl -u %s: %w", name, unit, err)
}

// Run starts a container attached to stdio and waits until it exits,
// returning its exit code. Signals sent to the caller meanwhile are passed
// to the container (see Kill).
func (s *Supervisor) Run(ctx context.Context, name string, stdio [3]int) (int, error) {
	if err := s.Start(ctx, name, StartOptions{Stdio: &stdio}); err != nil {
		return -1, err
	}
	cfg, err := s.store.Config(name)
	if err != nil {
		return -1, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return -1, err
	}
	if err := systemd.WaitInactive(ctx, cfg.Unit); err != nil {
		return -1, err
	}
	ex, err := s.store.Exit(name)
	if err != nil {
		return -1, err
	}
	if ex == nil {
		return -1, fmt.Errorf("container %s stopped but left no exit status; see journalctl -u %s", name, cfg.Unit)
	}
	return ex.ExitCode, nil
}
