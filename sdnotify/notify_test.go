package sdnotify

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// NotifyAs sends both the message and the barrier with the credentials
// of the process it speaks for, which is how systemd attributes them.
func TestNotifyAsSendsThePidsCredentials(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("sending another process's credentials takes root")
	}
	other := exec.Command("sleep", "10")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, _ := conn.SyscallConn()
	_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	type msg struct {
		text string
		pid  int32
	}
	got := make(chan msg, 2)
	go func() {
		buf, oob := make([]byte, 256), make([]byte, 256)
		for range 2 {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			cmsgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			m := msg{text: string(buf[:n])}
			for _, c := range cmsgs {
				if cred, err := unix.ParseUnixCredentials(&c); err == nil {
					m.pid = cred.Pid
				}
				if fds, err := unix.ParseUnixRights(&c); err == nil {
					for _, fd := range fds {
						unix.Close(fd) // the barrier: done with what came before
					}
				}
			}
			got <- m
		}
	}()
	if err := notify(path, other.Process.Pid, "STATUS=hi", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STATUS=hi", "BARRIER=1"} {
		m := <-got
		if m.text != want || m.pid != int32(other.Process.Pid) {
			t.Errorf("got %q from pid %d, want %q from %d", m.text, m.pid, want, other.Process.Pid)
		}
	}
}

// A barrier that systemd answers late fails with a timeout, and waits for
// it with NoTimeout (a unit's own step, which systemd times out itself).
func TestBarrierWaitsAsLongAsAsked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const late = 300 * time.Millisecond
	// The manager: takes each barrier's pipe and closes it late.
	go func() {
		buf, oob := make([]byte, 256), make([]byte, 256)
		for {
			_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			cmsgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			for _, c := range cmsgs {
				if fds, err := unix.ParseUnixRights(&c); err == nil {
					time.AfterFunc(late, func() {
						for _, fd := range fds {
							unix.Close(fd)
						}
					})
				}
			}
		}
	}()
	if err := NotifyTo(path, "STATUS=soon", late/3); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("a barrier answered after %v, waited for %v: %v, want a timeout", late, late/3, err)
	}
	begin := time.Now()
	if err := NotifyTo(path, "STATUS=late", NoTimeout); err != nil {
		t.Errorf("NoTimeout: %v", err)
	}
	if waited := time.Since(begin); waited < late {
		t.Errorf("NoTimeout returned after %v, before the manager answered (%v)", waited, late)
	}
}
