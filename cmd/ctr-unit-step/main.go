// Command ctr-unit-step runs the steps of a container's unit that every
// start and stop of a plain container takes (unitstep.Table's lean ones):
// the start, the stop step, and a template instance's prepare-start (the
// bundle written from the record, then the start), which is what each
// container at boot runs. ctr-unit writes its command lines into the units
// it makes. It is a binary of its own because systemd execs it at every
// start and stop: ctr-unit, with image storage and its CLI linked in,
// takes longer to start, and links what this one must not (see
// main_test.go). What only ctr-unit can do, it hands over to ctr-unit.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/ctr-unit/ctr-unit/bundle"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/recordstore"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// exitError is the exit status of a step that failed, as ctr-unit's.
const exitError = 125

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	// A container whose process could not be started exits with
	// podman's code for it, which systemd shows; runc has said why.
	var rerr *unitstep.RuntimeError
	if errors.As(err, &rerr) {
		if !rerr.Printed {
			fmt.Fprintln(os.Stderr, "ctr-unit-step:", err)
		}
		os.Exit(rerr.ExitCode)
	}
	fmt.Fprintln(os.Stderr, "ctr-unit-step:", err)
	os.Exit(exitError)
}

func run(args []string) error {
	if len(args) == 1 && args[0] == "--version" {
		fmt.Println("ctr-unit-step version", unitstep.Version())
		return nil
	}
	call, err := unitstep.Parse(args, unitstep.DefaultGlobals())
	if err != nil {
		return err
	}
	runc, runcErr := ociruntime.FindRunc(call.Runtime, call.RuncRoot())
	steps := unitstep.Steps{Dirs: call.Dirs, Runc: runc, EventSocket: events.JournalSocket}
	switch call.Step {
	case unitstep.Start:
		if runcErr != nil {
			return runcErr
		}
		// An image container's layer unmounted since the bundle was
		// written: ctr-unit's start step mounts it and starts.
		argv, err := steps.LayerUnmounted(call.Container)
		if err == nil && argv == nil {
			argv, err = steps.Start(call.Container)
		}
		if err != nil || argv == nil {
			return err
		}
		return syscall.Exec(argv[0], argv, os.Environ())
	case unitstep.PrepareStart:
		if runcErr != nil {
			return runcErr
		}
		argv, err := prepareStart(context.Background(), call, steps)
		if err != nil || argv == nil {
			return err
		}
		return syscall.Exec(argv[0], argv, os.Environ())
	case unitstep.StopPost:
		return steps.StopPost(context.Background(), call.Container, call.Unit, os.Getenv)
	}
	return fmt.Errorf("step %s is ctr-unit's to run, not ctr-unit-step's", call.Step)
}

// prepareStart is a template instance's prepare-start: the bundle written
// from the record, as ctr-unit writes it, then the start. A container
// whose record its definition file must bring up to date first, or that
// needs what only ctr-unit has, is ctr-unit's (bundle.StepPrepares): the
// step then returns ctr-unit's prepare-start to exec in its place.
func prepareStart(ctx context.Context, call unitstep.Call, steps unitstep.Steps) ([]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate ctr-unit-step: %w", err)
	}
	full := unitstep.FullOf(self)
	if full == "" {
		return nil, fmt.Errorf("container %s: ctr-unit is not beside %s: reinstall ctr-unit", call.Container, self)
	}
	runner := unitstep.Runner{Globals: call.Globals, Full: full, Lean: self}
	store := recordstore.Open(call.Dirs)
	rec, err := store.Config(call.Container)
	if err != nil {
		rec = nil
	}
	dirs := definition.DirsFromEnv(os.Getenv)
	path, defined, err := definition.FindOne(dirs, call.Container)
	if err != nil {
		return nil, err
	}
	stamp := ""
	if defined {
		stamp = definition.Stamp(path, dirs, nil, definition.BinaryStamp(full))
	}
	if !bundle.StepPrepares(rec, defined, path, stamp) {
		return runner.Argv(unitstep.PrepareStart, false, call.Container), nil
	}
	w := bundle.NewWriter(call.Dirs, network.ConfigDirFromEnv(os.Getenv), nil, runner)
	if err := w.Prepare(ctx, store, rec, noLayer); err != nil {
		return nil, err
	}
	return steps.Start(call.Container)
}

// noLayer is the layer mount of the containers ctr-unit-step prepares,
// which have none.
func noLayer(*container.Config) (string, bool, error) { return "", false, nil }
