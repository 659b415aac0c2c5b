package ociruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var (
	// ErrExecNotFound means the command to exec does not exist in the
	// container (podman's exit code 127).
	ErrExecNotFound = errors.New("command not found in the container")
	// ErrExecCannotInvoke means it exists but cannot be run (126).
	ErrExecCannotInvoke = errors.New("command cannot be invoked in the container")
	// ErrExec means runc failed to start the process at all.
	ErrExec = errors.New("runc exec failed")
)

// ExecIO is what a process run by Exec gets.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ConsoleSocket receives the terminal of a process that has one
	// (Process.Terminal), see package tty. runc hands a terminal over only
	// when it detaches; this process then becomes a subreaper, so that the
	// process, orphaned when runc exits, is its child, whose exit status
	// it reads.
	ConsoleSocket string
	// Detach: runc returns once the process runs.
	Detach bool
	// PIDFile receives the process's pid (optional).
	PIDFile string
}

// ExecArgv is the runc exec command line that runs the process described
// in processFile in container id, logging runc's own errors as JSON to
// logFile.
func (r *Runc) ExecArgv(id, processFile, logFile string, o ExecIO) ([]string, error) {
	root, err := r.existing(id)
	if err != nil {
		return nil, err
	}
	argv := []string{r.Path, "--root", root, "--log", logFile, "--log-format", "json", "exec", "--process", processFile}
	if o.ConsoleSocket != "" {
		argv = append(argv, "--console-socket", o.ConsoleSocket)
	}
	if o.Detach {
		argv = append(argv, "--detach")
	}
	if o.PIDFile != "" {
		argv = append(argv, "--pid-file", o.PIDFile)
	}
	return append(argv, id), nil
}

// Exec runs process p in running container id, in its namespaces and its
// cgroup (runc exec), and returns its exit code: its own, or 128+signal.
// scratch is a directory for the process file and runc's log. started, if
// set, runs beside runc once it runs, for the caller to take the
// terminal runc hands over; its ctx ends if runc fails first.
func (r *Runc) Exec(ctx context.Context, id string, p *specs.Process, scratch string, o ExecIO, started func(context.Context) error) (int, error) {
	dir, err := os.MkdirTemp(scratch, "exec-")
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer os.RemoveAll(dir)
	processFile, logFile := filepath.Join(dir, "process.json"), filepath.Join(dir, "runc.log")
	data, err := json.Marshal(p)
	if err != nil {
		return -1, err
	}
	if err := os.WriteFile(processFile, data, 0o600); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	terminal := o.ConsoleSocket != "" && !o.Detach
	if terminal {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("exec in %s: become a subreaper: %w", id, err)
		}
		o.Detach, o.PIDFile = true, filepath.Join(dir, "pid")
	}
	argv, err := r.ExecArgv(id, processFile, logFile, o)
	if err != nil {
		return -1, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = withoutNotifySocket(os.Environ())
	cmd.Stdin, cmd.Stdout = o.Stdin, o.Stdout
	// runc's own errors are in its log; its stderr is the process's.
	cmd.Stderr = o.Stderr
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	startDone := make(chan error, 1)
	if started != nil {
		go func() { startDone <- started(startCtx) }()
	} else {
		startDone <- nil
	}
	err = cmd.Wait()
	msg := LogError(logFile)
	if msg != "" {
		// runc failed: it may never have connected.
		cancel()
	}
	var startErr error
	select {
	case startErr = <-startDone:
	case <-time.After(5 * time.Second):
		cancel()
		startErr = <-startDone
	}
	if msg != "" {
		return -1, execError(id, msg)
	}
	if startErr != nil {
		return -1, startErr
	}
	if terminal && err == nil {
		return waitOrphan(id, o.PIDFile)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	}
	return -1, fmt.Errorf("exec in %s: %w", id, err)
}

// waitOrphan waits for the process runc left running (detached), which
// is this process's child now that it is a subreaper, and returns its exit
// code.
func waitOrphan(id, pidFile string) (int, error) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: pid file: %w", id, err)
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("exec in %s: wait for process %d: %w", id, pid, err)
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// execError maps runc's message to podman's classes of failure.
func execError(id, msg string) error {
	switch ExitCodeOf(msg) {
	case ExitNotFound:
		return fmt.Errorf("%w (%s): %s", ErrExecNotFound, id, msg)
	case ExitCannotInvoke:
		return fmt.Errorf("%w (%s): %s", ErrExecCannotInvoke, id, msg)
	}
	return fmt.Errorf("%w (%s): %s", ErrExec, id, msg)
}

func withoutNotifySocket(env []string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
			out = append(out, e)
		}
	}
	return out
}
