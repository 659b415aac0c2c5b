//go:build integration

package integration

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Each bad command exits 125 with a message naming what is wrong, and
// leaves what is stored as it was. (rm's own codes, and a container
// without a command, are in compat_test.go.)
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	web := e.name("web")
	e.must("run", "-d", "--name", web, "--rootfs", rootfs, "--", "sh", "-c", termable)
	before := e.stored()
	missing := e.name("ghost")

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-d", "--name", web, "--rootfs", rootfs, "--", "true"}, `name already in use: a container named "` + web + `"`},
		{[]string{"run", "-d", "--name", e.name("nofs"), "--rootfs", "/nonexistent/rootfs", "--", "true"}, "rootfs /nonexistent/rootfs of container " + e.name("nofs")},
		{[]string{"run", "-d", "--name", e.name("pol"), "--restart", "sometimes", "--rootfs", rootfs, "--", "true"}, `invalid restart policy "sometimes"`},
		{[]string{"run", "-d", "--name", e.name("pol2"), "--restart", "on-failure:x", "--rootfs", rootfs, "--", "true"}, `invalid restart policy "on-failure:x"`},
		{[]string{"--runtime", "/nonexistent/runc", "run", "-d", "--name", e.name("norunc"), "--rootfs", rootfs, "--", "true"}, "runc not found"},
		{[]string{"run", "-d", "--name", "-bad", "--rootfs", rootfs, "--", "true"}, `invalid container name "-bad"`},
		{[]string{"run", "-d", "--name", e.name("sig"), "--stop-signal", "SIGNOPE", "--rootfs", rootfs, "--", "true"}, `unknown signal "SIGNOPE"`},
		{[]string{"inspect", missing}, "no such container: " + missing},
		{[]string{"start", missing}, "no such container: " + missing},
		{[]string{"stop", missing}, "no such container: " + missing},
		{[]string{"kill", missing}, "no such container: " + missing},
		{[]string{"logs", missing}, "no such container: " + missing},
		{[]string{"kill", "-s", "NOPE", web}, `unknown signal "NOPE"`},
		{[]string{"image", "lod"}, `unknown command "lod" for ctr-unit image`},
		{[]string{"volume"}, "missing command: ctr-unit volume COMMAND"},
		{[]string{"internal", "no-such-step", web}, `unknown command "no-such-step" for ctr-unit internal`},
	}
	for _, c := range cases {
		r := e.ctr(c.args...)
		if r.code != 125 {
			t.Errorf("ctr-unit %s: exit %d, want 125 (%s)", strings.Join(c.args, " "), r.code, r)
		}
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("ctr-unit %s: stderr %q does not say %q", strings.Join(c.args, " "), r.stderr, c.want)
		}
	}
	if after := e.stored(); after != before {
		t.Errorf("failed commands changed what is stored:\nbefore %s\nafter  %s", before, after)
	}
	if c := e.inspect(web); c.State.Status != "running" {
		t.Errorf("the running container was disturbed: %+v", c.State)
	}
	// A stopped container can be signalled no more.
	e.must("stop", web)
	if stderr := e.fails("kill", web); !strings.Contains(stderr, "not running") {
		t.Errorf("kill of a stopped container: %q", stderr)
	}
}

// Commands on one container wait for each other; commands on different
// containers do not.
func TestCommandsOnOneContainerAreSerialised(t *testing.T) {
	e := newEnv(t)
	a, b := e.name("a"), e.name("b")
	e.must("create", "--name", a, "--rootfs", rootfs, "--", "sleep", "1000")
	e.must("create", "--name", b, "--rootfs", rootfs, "--", "sleep", "1000")

	// Hold a's lock the way a ctr-unit command does.
	holder := exec.Command("flock", filepath.Join(e.stateDir, "containers", a), "sh", "-c", "echo locked; exec sleep 30")
	// Its own process group, so killing it kills the sleep holding the lock.
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	locked, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	release := func() { syscall.Kill(-holder.Process.Pid, syscall.SIGKILL) }
	defer func() { release(); holder.Wait() }()
	if _, err := bufio.NewReader(locked).ReadString('\n'); err != nil {
		t.Fatalf("lock holder: %v", err)
	}

	e.must("start", b) // not blocked by a's lock
	waiting := e.cmd("start", a)
	if err := waiting.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- waiting.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("start of a locked container returned (%v) while the lock was held", err)
	case <-time.After(500 * time.Millisecond):
	}
	if c := e.inspect(a); c.State.Status != "created" {
		t.Fatalf("a changed while locked: %s", c.State.Status)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("start after the lock was released: %v", err)
	}
	if c := e.inspect(a); c.State.Status != "running" {
		t.Errorf("a after the waiting start: %s", c.State.Status)
	}
}

// Records survive a CLI killed with SIGKILL at any moment: every name is
// either wholly there or wholly absent, and every stored container can be
// inspected and removed.
func TestRecordsSurviveKill9OfTheCLI(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := e.name(fmt.Sprintf("k%d", i%10))
			var c *exec.Cmd
			if i%2 == 0 {
				c = e.cmd("create", "--name", name, "--rootfs", rootfs, "--", "sleep", "1")
			} else {
				c = e.cmd("rm", "-f", name)
			}
			if c.Start() != nil {
				return
			}
			time.Sleep(time.Duration(rand.IntN(8000)) * time.Microsecond)
			c.Process.Signal(syscall.SIGKILL)
			c.Wait()
		}()
	}
	wg.Wait()
	names := strings.Fields(e.must("ps", "-a", "--format", "{{.Name}}"))
	for _, n := range names {
		if c := e.inspect(n); c.Name != n || c.State.Status != "created" {
			t.Errorf("record %s after kill -9s: %+v", n, c)
		}
	}
	// Every name can be reused or removed.
	for i := range 10 {
		name := e.name(fmt.Sprintf("k%d", i))
		e.ctr("rm", "-f", name)
		e.must("create", "--name", name, "--rootfs", rootfs, "--", "true")
	}
	t.Logf("%d records survived the kills", len(names))
}
