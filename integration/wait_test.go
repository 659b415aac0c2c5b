//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wait returns as systemd sees the container exit: the time it returns is
// after systemd's ExecMainExitTimestamp, and close to it.
func TestWaitReturnsOnTheExitAsSystemdSeesIt(t *testing.T) {
	e := newEnv(t)
	name := e.name("w")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "sleep 1; exit 3")
	unit := e.inspect(name).Unit
	out := e.must("wait", "--interval", "5s", name)
	returned := time.Now()
	if strings.TrimSpace(out) != "3" {
		t.Errorf("wait printed %q, want the exit code 3", out)
	}
	// The unit may be gone already (a transient unit that ended); the
	// stop step's record then has systemd's time as the stop step saw it.
	exited := parseTimestamp(t, systemctl(t, "show", "--timestamp=us+utc", "--value", "-p", "ExecMainExitTimestamp", unit))
	if exited.IsZero() {
		t.Skip("the unit was collected before its exit time could be read")
	}
	latency := returned.Sub(exited)
	t.Logf("wait returned %v after systemd saw the exit", latency)
	if latency < 0 {
		t.Errorf("wait returned before the exit (%v)", latency)
	}
	if latency > time.Second {
		t.Errorf("wait returned %v after the exit, want well under a second", latency)
	}
	// An exited container: its code at once.
	if out := e.must("wait", name); strings.TrimSpace(out) != "3" {
		t.Errorf("wait on an exited container printed %q", out)
	}
}

func TestWaitConditions(t *testing.T) {
	e := newEnv(t)
	name := e.name("wc")
	e.must("create", "--name", name, "--rootfs", rootfs, "--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms", "--health-retries", "1", "--", "sh", "-c", termable)
	done := make(chan result, 1)
	go func() { done <- e.ctr("wait", "--condition", "running", name) }()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("wait --condition running returned before the start: %s", r)
	default:
	}
	e.must("start", name)
	if r := <-done; r.code != 0 {
		t.Errorf("wait --condition running: %s", r)
	}
	if r := e.ctr("wait", "--condition", "unhealthy", name); r.code != 0 {
		t.Errorf("wait --condition unhealthy: %s", r)
	}
	e.execIn(name, "touch", "/tmp/ok")
	if r := e.ctr("wait", "--condition", "healthy", name); r.code != 0 {
		t.Errorf("wait --condition healthy: %s", r)
	}
	go func() { done <- e.ctr("wait", name) }()
	e.must("stop", name)
	if r := <-done; r.code != 0 || strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("wait during stop: %s", r)
	}
	if r := e.ctr("wait", "--condition", "sleeping", name); r.code != 125 || !strings.Contains(r.stderr, "sleeping") {
		t.Errorf("wait with a bad condition: %s", r)
	}
}

// parseTimestamp reads systemctl show's timestamp ("" or "n/a": zero).
func parseTimestamp(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" || s == "n/a" {
		return time.Time{}
	}
	ts, err := time.Parse("Mon 2006-01-02 15:04:05.999999 MST", s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return ts
}

func TestCopyInAndOutOfRunningAndStoppedContainers(t *testing.T) {
	e := newEnv(t)
	name := e.name("cp")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--user", "1000:1000", "--", "sh", "-c", termable)
	host := t.TempDir()
	src := filepath.Join(host, "in.txt")
	os.WriteFile(src, []byte("from the host\n"), 0o640)
	os.Chown(src, 4321, 4321)

	// Into the running container's tmpfs /tmp: owned by its user, mode kept.
	e.must("cp", src, name+":/tmp/")
	if out := e.execIn(name, "sh", "-c", "cat /tmp/in.txt; stat -c '%u:%g %a' /tmp/in.txt"); out != "from the host\n1000:1000 640\n" {
		t.Errorf("copied into the container: %q", out)
	}
	// A directory, by its contents, out of it again.
	e.must("exec", "-u", "0", name, "sh", "-c", "mkdir -p /tmp/d/sub && echo x >/tmp/d/sub/f && chmod 600 /tmp/d/sub/f && chown -R 1000:1000 /tmp/d")
	out := filepath.Join(host, "out")
	e.must("cp", name+":/tmp/d/.", out)
	if data, err := os.ReadFile(filepath.Join(out, "sub", "f")); err != nil || string(data) != "x\n" {
		t.Errorf("copied out: %q, %v", data, err)
	}
	if info, err := os.Stat(filepath.Join(out, "sub", "f")); err != nil || info.Mode().Perm() != 0o600 || ownerOf(info) != "1000:1000" {
		t.Errorf("copied out with mode %v owner %s, want 0600 1000:1000 as in the container", info.Mode().Perm(), ownerOf(info))
	}

	// A symlink in the container pointing out of its root stays inside it,
	// both ways.
	secret := filepath.Join(host, "secret")
	os.MkdirAll(secret, 0o755)
	os.WriteFile(filepath.Join(secret, "key"), []byte("host secret\n"), 0o600)
	e.must("exec", "-u", "0", name, "ln", "-s", secret, "/tmp/escape")
	e.must("exec", "-u", "0", name, "ln", "-s", "../../../../../../.."+secret, "/tmp/escape-rel")
	for _, link := range []string{"/tmp/escape", "/tmp/escape-rel"} {
		r := e.ctr("cp", name+":"+link+"/key", filepath.Join(host, "leaked"))
		if r.code == 0 {
			t.Errorf("cp through %s succeeded", link)
		}
		if data, err := os.ReadFile(filepath.Join(host, "leaked")); err == nil {
			t.Errorf("cp through %s read the host's file: %q", link, data)
		}
		e.ctr("cp", src, name+":"+link+"/")
		if _, err := os.Stat(filepath.Join(secret, "in.txt")); err == nil {
			t.Fatalf("cp into %s wrote into the host's %s", link, secret)
		}
	}

	// A stopped container: its root directory.
	e.must("stop", name)
	e.must("cp", src, name+":/root/copied")
	if data, err := os.ReadFile(filepath.Join(rootfs, "root", "copied")); err != nil || string(data) != "from the host\n" {
		t.Errorf("copy into a stopped container: %q, %v", data, err)
	}
	os.Remove(filepath.Join(rootfs, "root", "copied"))
	e.must("cp", name+":/etc/passwd", filepath.Join(host, "passwd"))
	if data, _ := os.ReadFile(filepath.Join(host, "passwd")); !strings.HasPrefix(string(data), "root:x:0:0") {
		t.Errorf("copy out of a stopped container: %q", data)
	}
	if r := e.ctr("cp", name+":/no/such", host); r.code != 125 || !strings.Contains(r.stderr, name) {
		t.Errorf("cp of a missing path: %s", r)
	}
	if r := e.ctr("cp", src, filepath.Join(host, "x")); r.code != 125 {
		t.Errorf("cp with no container side: %s", r)
	}
}

// ownerOf is a file's UID:GID.
func ownerOf(info os.FileInfo) string {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "?"
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}
