package unitstep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/sdnotify"
)

// Steps run the unit steps of containers kept in Dirs, with Runc.
type Steps struct {
	Dirs Dirs
	Runc *ociruntime.Runc
	// EventSocket is the journal's socket events are written to ("":
	// none are).
	EventSocket string
}

// ErrStoppedWhileStarting means the unit was stopped during its start step.
var ErrStoppedWhileStarting = errors.New("stopped while starting")

// Start is the unit's ExecStart (Type=forking): it creates the container,
// names the container's init as the unit's main process (Create), and lets
// the init run the container's process (StartCreated). Where ctr-unit
// cannot do that last part itself, it returns runc start's command line
// for the caller to exec; else nil.
//
// One step rather than systemd running runc create and then an
// ExecStartPost: each process systemd spawns costs an exec and a move into
// the unit's cgroup, which may wait out an RCU grace period (make bench).
func (s Steps) Start(name string) ([]string, error) {
	pid, err := s.Create(name)
	if err != nil {
		return nil, err
	}
	if ociruntime.HasStageHooks(s.Dirs.Bundle(name), ociruntime.StagePoststart) {
		// Its poststart hooks run once it runs: no exec of runc start.
		return nil, s.StartCreated(name, pid)
	}
	if done, err := s.Runc.StartCreated(name, pid); done || err != nil {
		return nil, err
	}
	return s.Runc.StartArgv(name), nil
}

// IsMountpoint tells a mounted directory from a plain one: a mount's
// root is on another device than its parent.
func IsMountpoint(dir string) bool {
	var st, parent syscall.Stat_t
	if syscall.Stat(dir, &st) != nil || syscall.Stat(filepath.Dir(dir), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// StartCreated lets the init of created container name, process pid, run
// the container's process, returns once it has, and runs its poststart
// hooks (OCI hooks).
func (s Steps) StartCreated(name string, pid int) error {
	if done, err := s.Runc.StartCreated(name, pid); !done {
		if err := Run(s.Runc.StartArgv(name)); err != nil {
			return fmt.Errorf("start container %s: %w", name, err)
		}
	} else if err != nil {
		return err
	}
	// A poststart hook that fails is reported, as runc does: the
	// container runs.
	if err := ociruntime.RunStageHooks(context.Background(), s.Dirs.Bundle(name), name, ociruntime.StagePoststart, pid); err != nil {
		fmt.Fprintf(os.Stderr, "container %s: %v\n", name, err)
	}
	return nil
}

// Create runs runc create, which leaves the container's init waiting,
// orphaned and so a child of systemd, names that init as the unit's main
// process (NameMainProcess), and returns its pid.
//
// The order matters. The main process is named before the container's
// own process can run and exit, so systemd watches it and records its
// exit status even when it exits at once. And it is named as systemd's
// child: a main process systemd does not consider its child ("alien")
// gets the stop signal and then, without any wait, SIGKILL. A pid file
// would not do: systemd reads it again once the start is done, and a
// container that has exited by then fails the unit with 'protocol'.
//
// A container whose process cannot be started fails with a
// *RuntimeError, recorded for the stop step (recordStartError).
func (s Steps) Create(name string) (int, error) {
	bundle := s.Dirs.Bundle(name)
	// What an earlier start recorded is not this one's.
	_ = os.Remove(s.Dirs.StartErrorFile(name))
	if rerr := checkWorkDir(name, bundle); rerr != nil {
		return 0, s.recordStartError(rerr)
	}
	// A stop step killed midway leaves runc's state of the last run,
	// and runc would refuse the name. Its processes are gone: systemd
	// emptied the unit's cgroup before starting it again.
	if _, err := os.Stat(s.Runc.StateRoot(name)); err == nil {
		if err := s.Runc.Delete(context.Background(), name, true); err != nil {
			return 0, fmt.Errorf("create container %s: clear what its last run left: %w", name, err)
		}
	}
	plan, err := readNetworkPlan(bundle)
	if err != nil {
		return 0, fmt.Errorf("container %s: %w", name, err)
	}
	if plan != nil {
		// A stop meanwhile ends the setup, which then undoes itself.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		err := s.setupNetwork(ctx, name, plan)
		stop()
		if err != nil {
			return 0, s.recordStartError(&RuntimeError{Container: name, ExitCode: ExitSetupFailed, Msg: err.Error()})
		}
	}
	logFile := s.Dirs.RuncLog(name)
	_ = os.Remove(logFile)
	// runc appends to its log and would make it readable by all.
	if f, err := os.OpenFile(logFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
		f.Close()
	}
	argv := s.Runc.CreateArgv(name, bundle, s.Dirs.PIDFile(name), logFile)
	if sock, err := os.ReadFile(s.Dirs.ConsoleSocketFile(name)); err == nil {
		// An attached run -t holds the terminal: runc hands it over. The
		// socket is this start's alone.
		_ = os.Remove(s.Dirs.ConsoleSocketFile(name))
		argv = append(argv[:len(argv)-1], "--console-socket", string(sock), name)
	}
	if err := Run(argv); err != nil {
		// The stop step tears it down too; a start that fails before
		// the unit's main process exists should not leave it meanwhile.
		var nerr error
		if plan.Private() {
			nerr = s.teardownNetwork(context.Background(), name, plan)
		}
		if msg := ociruntime.LogError(logFile); msg != "" && !errors.Is(err, ErrStoppedWhileStarting) {
			err = s.recordStartError(&RuntimeError{Container: name, ExitCode: runtimeExitCode(msg), Msg: msg, Printed: true})
		} else {
			err = fmt.Errorf("create container %s: %w", name, err)
		}
		if nerr != nil {
			err = errors.Join(err, nerr)
		}
		return 0, err
	}
	// runc writes the pid file readable by all; it is root's, as the
	// rest of the container's runtime files.
	_ = os.Chmod(s.Dirs.PIDFile(name), 0o600)
	return s.NameMainProcess(name)
}

// NameMainProcess tells systemd that the init runc create left is the
// unit's main process, and returns its pid.
func (s Steps) NameMainProcess(name string) (int, error) {
	pid, _, ok := ociruntime.RunningInit(s.Dirs.PIDFile(name))
	if !ok {
		return 0, fmt.Errorf("container %s: %w", name, ociruntime.ErrInitGone)
	}
	// A step of the unit: systemd ends it if the start takes too long.
	if err := sdnotify.Notify(sdnotify.MainPID(pid), sdnotify.NoTimeout); err != nil {
		return 0, fmt.Errorf("container %s: %w", name, err)
	}
	return pid, nil
}

// Run runs one runc command of the start step with the unit's stdio: the
// container's init inherits it from runc create, so its output goes to
// the journal, or to the caller of an attached run. A stop of the unit
// meanwhile signals this process only (it is the unit's control process):
// the signal is passed on, so runc gives up at once rather than the stop
// waiting out the stop timeout, and the step then fails.
func Run(argv []string) error {
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
				return fmt.Errorf("%w (%v)", ErrStoppedWhileStarting, stopped)
			}
			return err
		}
	}
}

// StopPost is the unit's ExecStopPost step, run by systemd every time the
// container stops, however it stopped. It records the exit and removes
// runc's state, so the next start (by the user or by systemd's Restart=)
// finds a clean slate. It takes no lock: a ctr-unit stop holding the lock
// is waiting for exactly this step to finish.
//
// Runc may be nil (runc is gone): the exit is still recorded.
//
// unit is the container's unit, which says where its cgroups are; ""
// when that is not known (its record is gone): runc delete then finds
// them, except on v1, where runc's cgroups outside systemd's hierarchy
// are left.
func (s Steps) StopPost(ctx context.Context, name, unit string, getenv func(string) string) error {
	var errs []error
	cgroups := cgroupmgr.New(cgroupmgr.Detect())
	ex := ExitFromEnv(getenv, time.Now())
	// systemd tells an OOM kill where it watches memory.events (v2); on
	// v1 only the memory controller's own counter does. The unit's cgroup
	// is still there while this step runs.
	ex.OOMKilled = ex.Result == "oom-kill" || unit != "" && cgroups.OOMKills(UnitCgroup(unit)) > 0
	// No process ran if systemd has no status of one: the start step
	// may have recorded why.
	if se := takeStartError(s.Dirs.StartErrorFile(name)); se != nil && getenv("EXIT_CODE") == "" {
		ex.ExitCode, ex.Error = se.ExitCode, se.Msg
	}
	if getenv("EXIT_CODE") != "" {
		// The init ran: its pid file is this run's.
		ex.StartedAt = InitCreated(s.Dirs.PIDFile(name))
	}
	if err := SaveExit(s.Dirs.ExitFile(name), ex); err != nil {
		errs = append(errs, fmt.Errorf("save exit status: %w", err))
	}
	errs = append(errs, s.runPoststopHooks(ctx, name))
	s.recordDeath(name, unit, ex)
	if s.Runc != nil {
		errs = append(errs, s.forgetRunc(ctx, cgroups, name, unit))
	} else {
		errs = append(errs, fmt.Errorf("runc's state is left: %w", ociruntime.ErrNotFound))
	}
	if cgroups.Mode() != cgroupmgr.Unified {
		errs = append(errs, removeV1Cgroups(cgroups, unit))
	}
	// However the container ended, its network goes with it (a
	// container without one has no record: nothing to do); a Restart=
	// sets up a fresh one.
	if err := s.teardownNetwork(ctx, name, nil); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up after container %s: %w", name, err)
	}
	return nil
}

// runPoststopHooks runs the container's poststop hooks, however it ended.
func (s Steps) runPoststopHooks(ctx context.Context, name string) error {
	return ociruntime.RunStageHooks(ctx, s.Dirs.Bundle(name), name, ociruntime.StagePoststop, 0)
}

// recordDeath writes the events of a container's end to the journal: an
// oom, and died with its exit code. They are written here because this
// step runs however the container ended. A journal that cannot be reached
// loses the events, not the stop.
func (s Steps) recordDeath(name, unit string, ex Exit) {
	socket := s.EventSocket
	if socket == "" {
		return
	}
	code := ex.ExitCode
	if ex.OOMKilled {
		_ = events.Write(socket, events.Event{Status: events.OOM, Name: name, Unit: unit})
	}
	_ = events.Write(socket, events.Event{Status: events.Died, Name: name, Unit: unit, ContainerExitCode: &code})
}

// InitCreated is when runc create wrote the pid file of a container's
// init: when its current (or last) run began; zero if there is none.
// ps and inspect show it as the container's start.
func InitCreated(pidFile string) time.Time {
	info, err := os.Stat(pidFile)
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}

// forgetRunc drops runc's state of a container that stopped. Its
// processes are normally all gone (the init died, and its pid namespace
// with it), and then removing the state is all runc delete would do that
// is not done already: systemd removes the container's cgroup with the
// unit's, and on v1 removeV1Cgroups does where systemd does not. Should a
// process be left, runc delete --force kills it first.
func (s Steps) forgetRunc(ctx context.Context, cgroups *cgroupmgr.Manager, name, unit string) error {
	if unit != "" {
		if pids, err := cgroups.Processes(ContainerCgroup(unit)); err == nil && len(pids) == 0 {
			return s.Runc.Forget(name)
		}
	}
	return s.Runc.Delete(ctx, name, true)
}

// removeV1Cgroups removes the cgroups runc made for a stopped container
// on v1. On v2 systemd removes the unit's whole subtree itself; on v1 runc
// creates the container's cgroup in hierarchies systemd does not manage
// (freezer, cpuset), which nothing else would ever remove.
func removeV1Cgroups(cgroups *cgroupmgr.Manager, unit string) error {
	if unit == "" {
		return errors.New("on cgroup v1, runc's cgroups can only be found through the container's record, which is gone")
	}
	if err := cgroups.Remove(ContainerCgroup(unit)); err != nil {
		return err
	}
	return cgroups.Prune(UnitCgroup(unit))
}
