package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ctr-unit/ctr-unit/unitstep"
)

// notifyTimeout bounds a wait for systemd to take a notification.
const notifyTimeout = 10 * time.Second

// unitSteps runs the steps of this supervisor's containers' units (see
// package unitstep, and cmd/ctr-unit-step, which runs the plain ones).
// Without runc, Runc is nil and the error says why.
func (s *Supervisor) unitSteps() (unitstep.Steps, error) {
	runc, err := s.runc()
	return unitstep.Steps{Dirs: unitstep.Dirs(s.paths), Runc: runc}, err
}

// StartStep is the unit's ExecStart when ctr-unit-step cannot do it: for
// a container with scheduled checks, which it starts afterwards, or when
// ctr-unit-step is not installed. It returns the command that lets the
// container run (runc start) for the caller to exec, or nil when it has
// done that itself (see unitstep.Steps.Start).
func (s *Supervisor) StartStep(ctx context.Context, name string) ([]string, error) {
	steps, err := s.unitSteps()
	if err != nil {
		return nil, err
	}
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, err
	}
	if cfg.Health == nil || !cfg.Health.Scheduled() {
		return steps.Start(name)
	}
	pid, err := steps.Create(name)
	if err != nil {
		return nil, err
	}
	if err := steps.StartCreated(name, pid); err != nil {
		return nil, err
	}
	if err := s.HealthArm(ctx, name); err != nil {
		// The container runs all the same; say why it is not checked.
		fmt.Fprintln(os.Stderr, "ctr-unit:", err)
	}
	return nil, nil
}

// StartPost is the ExecStartPost step of units made by a ctr-unit from
// before StartStep, whose ExecStart is runc create itself: systemd still
// runs it when it restarts such a unit after an upgrade. It names the
// init as the main process, starts the checks, and returns runc start's
// command line for the caller to exec.
func (s *Supervisor) StartPost(ctx context.Context, name string) ([]string, error) {
	steps, err := s.unitSteps()
	if err != nil {
		return nil, err
	}
	if _, err := steps.NameMainProcess(name); err != nil {
		return nil, err
	}
	if err := s.HealthArm(ctx, name); err != nil {
		fmt.Fprintln(os.Stderr, "ctr-unit:", err)
	}
	return steps.Runc.StartArgv(name), nil
}

// StopPost is the unit's ExecStopPost step when ctr-unit-step cannot do
// it: an image container's also unmounts its layer, which needs the image
// store. See unitstep.Steps.StopPost.
func (s *Supervisor) StopPost(ctx context.Context, name string, getenv func(string) string) error {
	// Without runc the exit is still recorded (see unitstep).
	steps, _ := s.unitSteps()
	// The record is gone if the container was removed meanwhile
	// (generate --new's own removal): its unit is then unknown.
	cfg, _ := s.store.Config(name)
	unit := ""
	if cfg != nil {
		unit = cfg.Unit
	}
	err := steps.StopPost(ctx, name, unit, getenv)
	if cfg != nil {
		if rerr := s.releaseRootfs(cfg); rerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up after container %s: %w", name, rerr))
		}
	}
	return err
}
