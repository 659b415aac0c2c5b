// Command ctr-unit-step runs the steps of a container's unit; ctr-unit
// writes its command lines into the units it makes:
//
//	ctr-unit-step GLOBAL-FLAGS start NAME
//	ctr-unit-step GLOBAL-FLAGS stop-post --unit UNIT NAME
//
// GLOBAL-FLAGS are ctr-unit's --state-dir, --runtime-dir and --runtime,
// as given to the ctr-unit that made the unit. It is a binary of its own
// because every start and stop of a container execs it: ctr-unit, with
// image storage and its CLI linked in, takes 1.5 ms longer to start.
// ctr-unit's own "internal" steps do the rest (images, healthchecks).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// exitError is the exit status of a step that failed, as ctr-unit's.
const exitError = 125

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ctr-unit-step:", err)
		os.Exit(exitError)
	}
}

func run(args []string) error {
	var dirs unitstep.Dirs
	var runcPath string
	global := flag.NewFlagSet("ctr-unit-step", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&dirs.StateDir, "state-dir", "/var/lib/ctr-unit", "where container records are kept")
	global.StringVar(&dirs.RuntimeDir, "runtime-dir", "/run/ctr-unit", "where runtime data is kept")
	global.StringVar(&runcPath, "runtime", "", "path of runc")
	if err := global.Parse(args); err != nil {
		return err
	}
	args = global.Args()
	if len(args) == 0 {
		return errors.New("missing step: start or stop-post")
	}
	runc, runcErr := ociruntime.FindRunc(runcPath, dirs.RuncRoot())
	steps := unitstep.Steps{Dirs: dirs, Runc: runc}
	switch step, args := args[0], args[1:]; step {
	case "start":
		if len(args) != 1 {
			return errors.New("usage: start NAME")
		}
		if runcErr != nil {
			return runcErr
		}
		argv, err := steps.Start(args[0])
		if err != nil || argv == nil {
			return err
		}
		return syscall.Exec(argv[0], argv, os.Environ())
	case "stop-post":
		fs := flag.NewFlagSet("stop-post", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		unit := fs.String("unit", "", "the container's unit")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 || *unit == "" {
			return errors.New("usage: stop-post --unit UNIT NAME")
		}
		return steps.StopPost(context.Background(), fs.Arg(0), *unit, os.Getenv)
	default:
		return fmt.Errorf("unknown step %q", step)
	}
}
