package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

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

// StartPost is the unit's ExecStartPost step. runc create has left the
// container's init waiting, orphaned and so a child of systemd; this names
// it as the unit's main process and returns the command that lets it run
// (runc start), for the caller to exec.
//
// The order matters. The main process is named before the container's
// own process can exit, so systemd watches it and records its exit
// status even when it exits at once. And it is named as systemd's child:
// a main process systemd does not consider its child ("alien") gets the
// stop signal and then, without any wait, SIGKILL. A pid file would not
// do: systemd re-reads it after this step, and a container that has
// already exited by then fails the unit with 'protocol'.
func (s *Supervisor) StartPost(name string) ([]string, error) {
	data, err := os.ReadFile(s.paths.pidFile(name))
	if err != nil {
		return nil, fmt.Errorf("container %s: read init pid: %w", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("container %s: bad pid file: %w", name, err)
	}
	if err := units.Notify(units.MainPID(pid), notifyTimeout); err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	runc, err := s.runc()
	if err != nil {
		return nil, err
	}
	if err := s.HealthArm(context.Background(), name); err != nil {
		// The container runs all the same; say why it is not checked.
		fmt.Fprintln(os.Stderr, "ctr-unit:", err)
	}
	return runc.StartArgv(name), nil
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
	if runc, err := s.runc(); err != nil {
		errs = append(errs, err)
	} else if err := runc.Delete(ctx, name, true); err != nil {
		errs = append(errs, err)
	}
	if err := s.releaseRootfs(name); err != nil {
		errs = append(errs, err)
	}
	if err := s.removeCgroups(name); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up after container %s: %w", name, err)
	}
	return nil
}
