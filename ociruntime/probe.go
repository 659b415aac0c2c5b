package ociruntime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
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
func (r *Runc) Probe(id string, args []string, timeout time.Duration, pidFile string, limit int) (ProbeResult, error) {
	root, err := r.existing(id)
	if err != nil {
		return ProbeResult{}, err
	}
	cmd := exec.Command(r.Path, append([]string{"--root", root, "exec", "--pid-file", pidFile, id}, args...)...)
	// runc exec must not see a notification socket meant for ctr-unit.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	out := &capped{limit: limit}
	cmd.Stdout, cmd.Stderr = out, out
	// A check that leaves a background process holding its output open
	// must not hold up the result.
	cmd.WaitDelay = time.Second
	defer os.Remove(pidFile)
	if err := cmd.Start(); err != nil {
		return ProbeResult{}, fmt.Errorf("runc exec in %s: %w", id, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res ProbeResult
	select {
	case err = <-done:
	case <-timer.C:
		res.TimedOut = true
		killProbe(pidFile)
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			// runc itself hangs: give up on it.
			_ = cmd.Process.Kill()
			err = <-done
		}
	}
	res.Output = out.String()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int(ws.Signal())
		}
	case err != nil:
		return res, fmt.Errorf("runc exec in %s: %w", id, err)
	}
	return res, nil
}

// killProbe kills the exec'd process and its process group.
func killProbe(pidFile string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
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
