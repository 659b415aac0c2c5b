// Package sdnotify sends sd_notify messages to the system manager and waits
// until it has taken them.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// SystemNotifySocket is the system manager's notification socket.
const SystemNotifySocket = "/run/systemd/notify"

// Timeout is how long ctr-unit waits for systemd to take a notification.
const Timeout = 10 * time.Second

// NoTimeout waits for as long as systemd takes: for a unit's own step,
// which systemd ends itself once the unit's start timeout is out. A boot
// that starts hundreds of units at once can keep systemd from reading
// its notification socket for longer than Timeout.
const NoTimeout time.Duration = 0

// Notify sends state to systemd (sd_notify) and waits until systemd has
// processed it (BARRIER=1). Waiting matters: systemd attributes a message
// to a unit through the sender's pid, so a sender that exits first may
// have its message dropped.
//
// It always uses the system manager's socket: ctr-unit's units withhold
// NOTIFY_SOCKET from their processes (UnsetEnvironment=), because runc
// seeing it would wire it into the container and wait for a READY=1 that
// never comes.
func Notify(state string, timeout time.Duration) error {
	return NotifyTo(SystemNotifySocket, state, timeout)
}

// NotifyTo is Notify to the given socket.
func NotifyTo(socket, state string, timeout time.Duration) error {
	return notify(socket, 0, state, timeout)
}

// NotifyAs is Notify on behalf of process pid, as sd_pid_notify does:
// the message carries pid's credentials (which takes root), so systemd
// takes it as coming from pid's unit. The sender stays out of that unit:
// nothing that happens to the unit afterwards (a kill, its stop) can
// touch it. ESRCH means pid is gone.
func NotifyAs(pid int, state string, timeout time.Duration) error {
	return notify(SystemNotifySocket, pid, state, timeout)
}

func notify(socket string, pid int, state string, timeout time.Duration) error {
	if socket[0] == '@' {
		socket = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	var creds []byte
	if pid > 0 {
		creds = unix.UnixCredentials(&unix.Ucred{Pid: int32(pid), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())})
	}
	if err := send(conn, []byte(state), creds); err != nil {
		return fmt.Errorf("sd_notify %q: %w", state, err)
	}
	return barrier(conn, creds, timeout)
}

// send writes one datagram with its ancillary data. Sendmsg goes on the
// descriptor: net refuses WriteMsgUnix on a connected datagram socket.
func send(conn *net.UnixConn, msg, oob []byte) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	err = raw.Write(func(fd uintptr) bool {
		sendErr = unix.Sendmsg(int(fd), msg, oob, nil, 0)
		return !errors.Is(sendErr, unix.EAGAIN)
	})
	return errors.Join(err, sendErr)
}

// barrier sends BARRIER=1 with the write end of a pipe; systemd closes its
// copy once it has handled every earlier message.
func barrier(conn *net.UnixConn, creds []byte, timeout time.Duration) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("sd_notify barrier: %w", err)
	}
	defer unix.Close(p[0])
	err := send(conn, []byte("BARRIER=1"), append(unix.UnixRights(p[1]), creds...))
	unix.Close(p[1])
	if err != nil {
		return fmt.Errorf("sd_notify barrier: %w", err)
	}
	fds := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLHUP}}
	ms := int(timeout / time.Millisecond)
	if timeout <= NoTimeout {
		ms = -1
	}
	for {
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sd_notify barrier: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("sd_notify barrier: systemd did not answer within %v", timeout)
		}
		return nil
	}
}

// MainPID is the sd_notify message that makes pid the unit's main process.
func MainPID(pid int) string { return "MAINPID=" + strconv.Itoa(pid) }
