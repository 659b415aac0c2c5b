// Package tty gives a container's process a terminal: it receives the
// pseudo-terminal runc makes for it over a console socket (runc's
// --console-socket), and connects it to the caller's terminal: raw mode,
// the window size and its changes, and the bytes both ways.
package tty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ConsoleSocket is a listening unix socket that runc connects to, to hand
// over the master side of the container process's terminal.
type ConsoleSocket struct {
	Path string
	l    *net.UnixListener
}

// Listen makes a console socket in dir.
func Listen(dir string) (*ConsoleSocket, error) {
	d, err := os.MkdirTemp(dir, "console-")
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	path := filepath.Join(d, "sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		os.RemoveAll(d)
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &ConsoleSocket{Path: path, l: l}, nil
}

// Close removes the socket.
func (c *ConsoleSocket) Close() error {
	err := c.l.Close()
	return errors.Join(err, os.RemoveAll(filepath.Dir(c.Path)))
}

// Receive waits for runc to send the terminal's master and returns it.
// It gives up when ctx ends (runc failed before it got that far).
func (c *ConsoleSocket) Receive(ctx context.Context) (*os.File, error) {
	stop := context.AfterFunc(ctx, func() { _ = c.l.SetDeadline(time.Now()) })
	defer stop()
	conn, err := c.l.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("console socket: no terminal received: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: no terminal in runc's message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: no terminal in runc's message: %v", err)
	}
	// Non-blocking, so the file is pollable and a Close ends a Read.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// MakeRaw puts terminal f in raw mode, as cfmakeraw does: every key goes
// to the container's terminal as it is typed, Ctrl-C included, whose own
// line discipline then does what a terminal does. It returns the undo.
func MakeRaw(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// Session connects a container's terminal (its master) to the caller's.
type Session struct {
	Master *os.File
	// In is copied to the terminal when set (-i); Out receives what the
	// container writes.
	In  *os.File
	Out *os.File
	// Local is the caller's terminal, whose size the container's follows
	// and which goes raw while the session lasts; nil if there is none.
	Local *os.File
}

// Run copies until the container's side of the terminal is closed (its
// processes are gone) and returns. Resizes of the local terminal are
// passed on as they happen.
func (s *Session) Run() error {
	if s.Local != nil {
		if restore, err := MakeRaw(s.Local); err == nil {
			defer restore()
		}
		_ = pty.InheritSize(s.Local, s.Master)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-winch:
					_ = pty.InheritSize(s.Local, s.Master)
				case <-done:
					return
				}
			}
		}()
	}
	if s.In != nil {
		// Not waited for: a read of the caller's terminal cannot be
		// interrupted, and ends with the process.
		go func() { _, _ = io.Copy(s.Master, s.In) }()
	}
	_, err := io.Copy(s.Out, s.Master)
	// EIO is how a master reads once the last process holding the
	// terminal has gone.
	if errors.Is(err, syscall.EIO) {
		err = nil
	}
	return err
}
