package ociruntime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// execFifoName is the named pipe runc create leaves a container's init
// waiting on, in the container's state directory. The init blocks opening
// it for writing until runc start opens it for reading; it then writes one
// byte and execs the container's process. runc start reads that byte and
// removes the pipe, whose absence is what makes runc report the container
// as running rather than created.
const execFifoName = "exec.fifo"

// ErrInitGone means a created container's init died before it could run
// the container's process.
var ErrInitGone = errors.New("the container's init is gone")

// StartCreated lets the init of created container id, process initPID,
// run the container's process, as runc start does, and returns once that
// process has been exec'd. Doing it here spares every start an exec of
// runc, whose start-up costs 2-3 ms (make bench).
//
// It relies on how runc hands over to its init (the protocol of runc's
// libcontainer, the same since runc 1.0). Where that is not found (no pipe,
// or no pidfd to watch the init with), it returns false having touched
// nothing, and the caller runs runc start (StartArgv).
func (r *Runc) StartCreated(id string, initPID int) (bool, error) {
	fifo := filepath.Join(r.rootOf(id), id, execFifoName)
	if _, err := os.Stat(fifo); err != nil {
		return false, nil
	}
	// The init is watched through a pidfd: one that dies before it opens
	// the pipe would otherwise leave the read end waiting for ever.
	pidfd, err := unix.PidfdOpen(initPID, 0)
	if err != nil {
		return false, nil
	}
	defer unix.Close(pidfd)
	// Non-blocking, so the open itself never waits for the writer. From
	// here on the init goes ahead: it is runc start's work to finish.
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("start container %s: %w", id, err)
	}
	defer unix.Close(fd)
	if err := awaitExec(fd, pidfd); err != nil {
		return true, fmt.Errorf("start container %s: %w", id, err)
	}
	if err := os.Remove(fifo); err != nil {
		return true, fmt.Errorf("start container %s: %w", id, err)
	}
	return true, nil
}

// awaitExec reads what the init writes to the pipe: one byte, then the end
// of file when its exec closes the pipe (it is close-on-exec). An init that
// exits first has failed.
func awaitExec(fifo, pidfd int) error {
	var got int
	buf := make([]byte, 16)
	for {
		fds := []unix.PollFd{{Fd: int32(fifo), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 {
			n, err := unix.Read(fifo, buf)
			switch {
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
				continue
			case err != nil:
				return err
			case n > 0:
				got += n
				continue
			case got == 0:
				return ErrInitGone
			default:
				return nil // end of file after the byte: exec'd
			}
		}
		if fds[1].Revents != 0 {
			// Exited: whatever it wrote is still to be read.
			n, _ := unix.Read(fifo, buf)
			if got+max(n, 0) == 0 {
				return ErrInitGone
			}
			return nil
		}
	}
}
