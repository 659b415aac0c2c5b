package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// The unit steps ctr-unit itself runs (unitstep.Table): ctr-unit-step
// runs the plain start and stop of every other container.

// unitSteps runs the lean steps of this supervisor's containers (see
// package unitstep). Without runc, Runc is nil and the error says why.
func (s *Supervisor) unitSteps() (unitstep.Steps, error) {
	runc, err := s.runc()
	return unitstep.Steps{Dirs: s.dirs, Runc: runc, EventSocket: s.eventSocket}, err
}

// StartStep is the unit's ExecStart when ctr-unit-step cannot do it: for
// a container from an image, whose layer it mounts first, one with
// scheduled checks, which it starts afterwards, or when ctr-unit-step is
// not installed. It returns the command that lets the
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
	// run -d may still be making the layer.
	if err := unitstep.AwaitLayerRoot(s.dirs.Bundle(name)); err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	if err := s.ensureLayer(cfg); err != nil {
		return nil, err
	}
	if err := s.fs.MountRoot(cfg, s.dirs.Bundle(name)); err != nil {
		return nil, err
	}
	return s.startWritten(ctx, cfg, steps)
}

// PrepareStart is a template instance's ExecStart: Prepare, which writes
// the bundle and mounts an image's layer, then StartStep's start.
func (s *Supervisor) PrepareStart(ctx context.Context, name string) ([]string, error) {
	steps, err := s.unitSteps()
	if err != nil {
		return nil, err
	}
	cfg, err := s.prepare(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.startWritten(ctx, cfg, steps)
}

// startWritten starts a container whose bundle is written and whose root
// is in place.
func (s *Supervisor) startWritten(ctx context.Context, cfg *container.Config, steps unitstep.Steps) ([]string, error) {
	name := cfg.Name
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
// store. unit is its unit, "" where the unit's command line does not say
// (units of older versions). See unitstep.Steps.StopPost.
func (s *Supervisor) StopPost(ctx context.Context, name, unit string, getenv func(string) string) error {
	// Without runc the exit is still recorded (see unitstep).
	steps, _ := s.unitSteps()
	// The record is gone if the container was removed meanwhile
	// (generate --new's own removal): its unit is then what the command
	// line says.
	cfg, _ := s.store.Config(name)
	if cfg != nil {
		unit = cfg.Unit
	}
	err := steps.StopPost(ctx, name, unit, getenv)
	if cfg != nil {
		// A start that failed before run -d mounted the layer: its
		// mount is undone once made.
		if werr := unitstep.AwaitLayerRoot(s.dirs.Bundle(name)); werr != nil {
			err = errors.Join(err, fmt.Errorf("container %s: %w", name, werr))
		}
		if rerr := s.fs.Release(cfg); rerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up after container %s: %w", name, rerr))
		}
	}
	return err
}

// MountRootfs is the ExecStartPre step of image containers' units made
// before the start step mounted the layer itself: it mounts the
// container's layer and points the bundle's root at it.
func (s *Supervisor) MountRootfs(name string) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	return s.fs.MountRoot(cfg, s.dirs.Bundle(name))
}

// Prepare is the ExecStartPre step of a template instance: it writes the
// bundle from the record (after a reboot /run is empty, and systemctl
// start does not go through ctr-unit) and records the start. It takes no
// lock: a ctr-unit start holding the lock waits for this step.
func (s *Supervisor) Prepare(ctx context.Context, name string) error {
	_, err := s.prepare(ctx, name)
	return err
}

// prepare is Prepare, returning the record it wrote the bundle from.
func (s *Supervisor) prepare(ctx context.Context, name string) (*container.Config, error) {
	if err := s.syncDefinition(name, true); err != nil {
		return nil, err
	}
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, fmt.Errorf("%w; create it (ctr-unit create --name %s) or define it in a %s file", err, name, name+".container")
	}
	if err := s.bundles.Prepare(ctx, s.store, cfg, s.fs.MountLayer); err != nil {
		return nil, err
	}
	return cfg, nil
}
