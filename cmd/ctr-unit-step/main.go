// Command ctr-unit-step runs the steps of a container's unit that every
// start and stop of a plain container takes (unitstep.Table's lean ones);
// ctr-unit writes its command lines into the units it makes. It is a
// binary of its own because systemd execs it at every start and stop:
// ctr-unit, with image storage and its CLI linked in, takes longer to
// start, and links what this one must not (see main_test.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/ociruntime"
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
	case unitstep.StopPost:
		return steps.StopPost(context.Background(), call.Container, call.Unit, os.Getenv)
	}
	return fmt.Errorf("step %s is ctr-unit's to run, not ctr-unit-step's", call.Step)
}
