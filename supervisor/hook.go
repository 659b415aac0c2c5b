package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
)

// Exit codes podman and docker use when there is no process status.
const exitRuntimeError = 125

// exitFromEnv reads how the main process ended from the variables systemd
// gives ExecStopPost. A process killed by a signal has exit code
// 128+signal, as in docker and podman.
func exitFromEnv(getenv func(string) string, now time.Time) Exit {
	ex := Exit{Result: getenv("SERVICE_RESULT"), FinishedAt: now}
	status := getenv("EXIT_STATUS")
	switch getenv("EXIT_CODE") {
	case "exited":
		ex.ExitCode, _ = strconv.Atoi(status)
	case "killed", "dumped":
		if sig, err := units.SignalNumber(status); err == nil {
			ex.ExitCode = 128 + int(sig)
		} else {
			ex.ExitCode = exitRuntimeError
		}
	default:
		// The container never ran (runc failed before its init started).
		if ex.Result != "success" {
			ex.ExitCode = exitRuntimeError
		}
	}
	return ex
}

// notifyTimeout bounds the wait for systemd to take the main pid.
const notifyTimeout = 10 * time.Second

// StartStep is the unit's ExecStart (Type=forking). It creates the
// container, names the container's init as the unit's main process, and
// lets it run. It returns the command that does the last part (runc
// start) for the caller to exec, or nil when it has done that itself:
// a container with checks starts its healthcheck timer afterwards.
//
// One step rather than systemd running runc create and then an
// ExecStartPost: each process systemd spawns costs an exec and a move into
// the unit's cgroup, which may wait out an RCU grace period (make bench).
func (s *Supervisor) StartStep(ctx context.Context, name string) ([]string, error) {
	runc, err := s.runc()
	if err != nil {
		return nil, err
	}
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, err
	}
	if err := s.createContainer(runc, name); err != nil {
		return nil, err
	}
	if cfg.Health == nil || !cfg.Health.Scheduled() {
		return runc.StartArgv(name), nil
	}
	if err := runStep(runc.StartArgv(name)); err != nil {
		return nil, fmt.Errorf("start container %s: %w", name, err)
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
	runc, err := s.runc()
	if err != nil {
		return nil, err
	}
	if err := s.nameMainProcess(name); err != nil {
		return nil, err
	}
	if err := s.HealthArm(ctx, name); err != nil {
		fmt.Fprintln(os.Stderr, "ctr-unit:", err)
	}
	return runc.StartArgv(name), nil
}

// createContainer runs runc create, which leaves the container's init
// waiting, orphaned and so a child of systemd, and names that init as
// the unit's main process (nameMainProcess).
//
// The order matters. The main process is named before the container's
// own process can run and exit, so systemd watches it and records its
// exit status even when it exits at once. And it is named as systemd's
// child: a main process systemd does not consider its child ("alien")
// gets the stop signal and then, without any wait, SIGKILL. A pid file
// would not do: systemd reads it again once the start is done, and a
// container that has exited by then fails the unit with 'protocol'.
func (s *Supervisor) createContainer(runc *ociruntime.Runc, name string) error {
	if err := runStep(runc.CreateArgv(name, s.paths.bundle(name), s.paths.pidFile(name))); err != nil {
		return fmt.Errorf("create container %s: %w", name, err)
	}
	return s.nameMainProcess(name)
}

// errStoppedWhileStarting means the unit was stopped during its start step.
var errStoppedWhileStarting = errors.New("stopped while starting")

// runStep runs one runc command of the start step with the unit's stdio:
// the container's init inherits it from runc create, so its output goes
// to the journal, or to the caller of an attached run. A stop of the unit
// meanwhile signals this process only (it is the unit's control process):
// the signal is passed on, so runc gives up at once rather than the stop
// waiting out the stop timeout, and the step then fails.
func runStep(argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var stopped os.Signal
	for {
		select {
		case sig := <-sigs:
			stopped = sig
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			if stopped != nil {
				return fmt.Errorf("%w (%v)", errStoppedWhileStarting, stopped)
			}
			return err
		}
	}
}

// nameMainProcess tells systemd that the init runc create left is the
// unit's main process.
func (s *Supervisor) nameMainProcess(name string) error {
	pid, _, ok := s.runningInit(name)
	if !ok {
		return fmt.Errorf("container %s: its init is gone", name)
	}
	if err := units.Notify(units.MainPID(pid), notifyTimeout); err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	return nil
}

// StopPost is the unit's ExecStopPost step, run by systemd every time the
// container stops, however it stopped. It records the exit and removes
// runc's state so the next start (by the user or by systemd's Restart=)
// finds a clean slate. It takes no lock: a ctr-unit stop holding the lock
// is waiting for exactly this step to finish.
func (s *Supervisor) StopPost(ctx context.Context, name string, getenv func(string) string) error {
	var errs []error
	if err := s.store.SaveExit(name, exitFromEnv(getenv, time.Now())); err != nil {
		errs = append(errs, err)
	}
	// Read once: every step below needs it. It is gone if the container
	// was removed meanwhile (generate --new's own removal).
	cfg, cfgErr := s.store.Config(name)
	if runc, err := s.runc(); err != nil {
		errs = append(errs, err)
	} else if err := s.forgetRunc(ctx, runc, name, cfg); err != nil {
		errs = append(errs, err)
	}
	if cfg != nil {
		errs = append(errs, s.releaseRootfs(cfg), s.removeCgroups(cfg))
	} else if s.cgroups().Mode() != cgroupmgr.Unified {
		// On v1 runc's cgroups can only be found through the record.
		errs = append(errs, cfgErr)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up after container %s: %w", name, err)
	}
	return nil
}

// forgetRunc drops runc's state of a container that stopped. Its
// processes are normally all gone (the init died, and its pid namespace
// with it), and then removing the state is all runc delete would do that
// is not done already: systemd removes the container's cgroup with the
// unit's, and on v1 removeCgroups does where systemd does not. Should a
// process be left, runc delete --force kills it first.
// Without the record (cfg nil) the cgroup is unknown, and runc delete runs.
func (s *Supervisor) forgetRunc(ctx context.Context, runc *ociruntime.Runc, name string, cfg *Config) error {
	if cfg != nil {
		if pids, err := s.cgroups().Processes(containerCgroup(cfg.Unit)); err == nil && len(pids) == 0 {
			return runc.Forget(name)
		}
	}
	return runc.Delete(ctx, name, true)
}
