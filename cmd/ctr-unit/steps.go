package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/ctr-unit/ctr-unit/pullpolicy"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// stepHandler runs one step of unitstep.Table; every step has one.
type stepHandler func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error

func handlerOf(step unitstep.Name) (stepHandler, bool) {
	switch step {
	case unitstep.Prepare:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return sv.Prepare(ctx, c.Container)
		}, true
	case unitstep.PrepareStart:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return execIf(sv.PrepareStart(ctx, c.Container))
		}, true
	case unitstep.MountRootfs:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return sv.MountRootfs(c.Container)
		}, true
	case unitstep.Start:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return execIf(sv.StartStep(ctx, c.Container))
		}, true
	case unitstep.StartHealthy:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return sv.StartHealthy(ctx, c.Container)
		}, true
	case unitstep.StartPost:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return execIf(sv.StartPost(ctx, c.Container))
		}, true
	case unitstep.StopPost:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return sv.StopPost(ctx, c.Container, c.Unit, os.Getenv)
		}, true
	case unitstep.Remove:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			return sv.Discard(ctx, c.Container, c.Unit)
		}, true
	case unitstep.HealthCheck:
		// A ctr-unit command of its own (healthcheck run --scheduled).
		return nil, true
	case unitstep.PullImage:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			cfg, err := sv.Definition(c.Container)
			if err != nil {
				return err
			}
			// Progress lines go to the journal; podman's retries ride
			// out a network still coming up.
			// The helper's last line on failure is the registry's
			// error, which ps and inspect show of a container that
			// has no record yet.
			var tail lastLine
			_, _, err = runPullTo(ctx, io.MultiWriter(os.Stderr, &tail), c.Globals, "", cfg.Image, pullpolicy.Policy(cfg.Pull), cfg.AuthFile, "--log-progress")
			if err != nil {
				msg := tail.String()
				if msg == "" {
					msg = err.Error()
				}
				return errors.Join(err, sv.RecordPullError(c.Container, msg))
			}
			return sv.ClearPullError(c.Container)
		}, true
	case unitstep.Generator:
		return runGenerator, true
	case unitstep.StartAtBoot:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			started, err := sv.StartAtBoot(ctx)
			for _, n := range started {
				fmt.Println(n)
			}
			return err
		}, true
	case unitstep.RefreshUnits:
		return func(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
			changed, err := sv.RefreshDropIns(ctx)
			for _, n := range changed {
				fmt.Println(n)
			}
			return err
		}, true
	}
	return nil, false
}

// runStep runs a unit step. Steps never refresh (supervisor.Refresh):
// they run while a command holds the container's lock, or at early boot.
func (a *app) runStep(ctx context.Context, c unitstep.Call) error {
	handle, ok := handlerOf(c.Step)
	if !ok || handle == nil {
		return fmt.Errorf("unknown command %q for ctr-unit internal", c.Step)
	}
	a.globals = c.Globals
	sv, err := a.supervisor()
	if err != nil {
		if c.Step == unitstep.Generator {
			generatorLog()("%v", err)
		}
		return err
	}
	return handle(ctx, sv, c)
}

// execIf runs the command a step leaves for its last act in its place:
// one process less for systemd to wait for.
func execIf(argv []string, err error) error {
	if err != nil || argv == nil {
		return err
	}
	return syscall.Exec(argv[0], argv, os.Environ())
}

// runGenerator is the systemd generator (see supervisor.Generate).
// systemd passes the normal, early and late output directories.
func runGenerator(ctx context.Context, sv *supervisor.Supervisor, c unitstep.Call) error {
	logf := generatorLog()
	if err := sv.Generate(c.OutputDirs[0], logf); err != nil {
		logf("%v", err)
		return err
	}
	return nil
}

// lastLine keeps the last non-empty line written to it.
type lastLine struct {
	line, partial []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != '\n' {
			l.partial = append(l.partial, b)
			continue
		}
		if len(bytes.TrimSpace(l.partial)) > 0 {
			l.line = append(l.line[:0], l.partial...)
		}
		l.partial = l.partial[:0]
	}
	return len(p), nil
}

func (l *lastLine) String() string {
	if len(bytes.TrimSpace(l.partial)) > 0 {
		return strings.TrimSpace(string(l.partial))
	}
	return strings.TrimSpace(string(l.line))
}
