package ociruntime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ProbeResult is how one process run by Probe ended.
type ProbeResult struct {
	ExitCode int
	// Output is stdout and stderr together, cut at the limit given.
	Output   string
	TimedOut bool
}

// Probe runs args inside the running container id (runc exec, in the
// container's namespaces and cgroup) and waits at most timeout. On
// timeout it kills the process in the container, not just runc, so
// nothing of a hung check lingers. pidFile is a scratch path for runc's
// --pid-file.
//
// The process writes its stdout and stderr to one pipe, so the output
// keeps their order: runc exec in the foreground would copy each from a
// pipe of its own. Detached (-d), runc hands the process the pipe as it
// is, and exits once the process runs; the process, orphaned, is reaped
// here, this process being a child subreaper meanwhile.
func (r *Runc) Probe(id string, args []string, timeout time.Duration, pidFile string, limit int) (ProbeResult, error) {
	root, err := r.existing(id)
	if err != nil {
		return ProbeResult{}, err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return ProbeResult{}, fmt.Errorf("runc exec in %s: become a subreaper: %w", id, err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	rd, wr, err := os.Pipe()
	if err != nil {
		return ProbeResult{}, fmt.Errorf("runc exec in %s: %w", id, err)
	}
	defer rd.Close()
	cmd := exec.Command(r.Path, append([]string{"--root", root, "exec", "-d", "--pid-file", pidFile, id}, args...)...)
	// runc exec must not see a notification socket meant for ctr-unit.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Stdout, cmd.Stderr = wr, wr
	defer os.Remove(pidFile)
	deadline := time.Now().Add(timeout)
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return ProbeResult{}, fmt.Errorf("runc exec in %s: %w", id, err)
	}
	out := &capped{limit: limit}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(out, rd); close(copied) }()
	var res ProbeResult
	if err := waitRunc(cmd, deadline); err != nil {
		// The process did not start: runc says why, in the output.
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return res, fmt.Errorf("runc exec in %s: %w", id, err)
		}
		<-copied
		res.ExitCode, res.Output = exitErr.ExitCode(), out.String()
		return res, nil
	}
	pid, err := readPid(pidFile)
	if err != nil {
		return res, fmt.Errorf("runc exec in %s: %w", id, err)
	}
	type status struct {
		ws  unix.WaitStatus
		err error
	}
	exited := make(chan status, 1)
	go func() {
		var st status
		for {
			_, st.err = unix.Wait4(pid, &st.ws, 0, nil)
			if !errors.Is(st.err, unix.EINTR) {
				break
			}
		}
		exited <- st
	}()
	var st status
	select {
	case st = <-exited:
	case <-time.After(time.Until(deadline)):
		res.TimedOut = true
		killProbe(pidFile)
		st = <-exited
	}
	if st.err != nil {
		return res, fmt.Errorf("runc exec in %s: wait for the check's process: %w", id, st.err)
	}
	ws := st.ws
	// A check that leaves a background process holding its output open
	// must not hold up the result.
	select {
	case <-copied:
	case <-time.After(time.Second):
	}
	res.Output = out.String()
	res.ExitCode = ws.ExitStatus()
	if ws.Signaled() {
		res.ExitCode = 128 + int(ws.Signal())
	}
	return res, nil
}

// waitRunc waits for runc exec -d, which exits once the process runs; a
// runc that hangs past the check's deadline (and a grace period) is
// killed.
func waitRunc(cmd *exec.Cmd, deadline time.Time) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Until(deadline) + 5*time.Second):
		_ = cmd.Process.Kill()
		return <-done
	}
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("bad pid file %s: %q", path, data)
	}
	return pid, nil
}

// killProbe kills the exec'd process and its process group.
func killProbe(pidFile string) {
	pid, err := readPid(pidFile)
	if err != nil {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// capped keeps the first limit bytes written to it.
type capped struct {
	limit int
	b     []byte
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string { return string(c.b) }
