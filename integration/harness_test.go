//go:build integration

// Package integration runs ctr-unit against a real systemd and real runc.
// It runs inside the throwaway systemd that hack/sysbox boots (make test
// does this for both cgroup layouts); elsewhere every test is skipped.
package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ctr-unit/ctr-unit/buildtags"
	"github.com/ctr-unit/ctr-unit/cgroupmgr"
)

// Built once by TestMain.
var (
	binary string // the ctr-unit binary
	rootfs string // a busybox root filesystem
	layout string // "v2" or "hybrid", from sysbox
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The tests open the image store themselves; containers/storage
	// logs its choice of driver at info level.
	logrus.SetLevel(logrus.WarnLevel)
	layout = os.Getenv("SYSBOX_LAYOUT")
	if layout == "" {
		fmt.Println("integration: not inside hack/sysbox (SYSBOX_LAYOUT unset): skipping; run make test")
		return 0
	}
	dir, err := os.MkdirTemp("", "ctr-unit-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "ctr-unit")
	// ctr-unit-step and ctr-unit-image beside it, where ctr-unit finds
	// them.
	build := exec.Command("go", "build", "-tags", buildtags.Tags(), "-o", dir+"/", "../cmd/ctr-unit", "../cmd/ctr-unit-step", "../cmd/ctr-unit-image")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ctr-unit: %v\n%s", err, out)
		return 1
	}
	rootfs = filepath.Join(dir, "rootfs")
	if out, err := exec.Command("../hack/mkrootfs", rootfs).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "make rootfs: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// env is one test's ctr-unit world: its own state and runtime directories,
// and container names no other test uses (unit names are global).
type env struct {
	t          *testing.T
	stateDir   string
	runtimeDir string
	prefix     string
	// environ is added to every ctr-unit command's environment (the
	// registry tests' configuration files).
	environ []string
}

var testSeq atomic.Int32

func newEnv(t *testing.T) *env {
	t.Helper()
	if binary == "" {
		t.Skip("not inside hack/sysbox")
	}
	e := &env{
		t:          t,
		stateDir:   t.TempDir(),
		runtimeDir: t.TempDir(),
		prefix:     fmt.Sprintf("t%d-", testSeq.Add(1)),
	}
	t.Cleanup(e.removeAll)
	return e
}

// name gives a container name unique to this test.
func (e *env) name(base string) string { return e.prefix + base }

// result of one ctr-unit invocation.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// cmd builds a ctr-unit command in this test's world.
func (e *env) cmd(args ...string) *exec.Cmd {
	full := append([]string{"--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir}, args...)
	c := exec.Command(binary, full...)
	if len(e.environ) > 0 {
		c.Env = append(os.Environ(), e.environ...)
	}
	return c
}

// ctr runs ctr-unit and returns what it printed and its exit code.
func (e *env) ctr(args ...string) result {
	e.t.Helper()
	return e.run(e.cmd(args...))
}

// run runs c, a command of e.cmd's, and returns what it printed and its
// exit code.
func (e *env) run(c *exec.Cmd) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("%v: %v", c.Args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// stored is what ctr-unit keeps of this test's containers, with nothing
// that changes with the clock (ps's status says how long ago): inspect of
// every one.
func (e *env) stored() string {
	e.t.Helper()
	names := strings.Fields(e.must("ps", "-a", "--format", "{{.Names}}"))
	if len(names) == 0 {
		return ""
	}
	return e.must(append([]string{"inspect"}, names...)...)
}

// storedUnchanged runs refused, commands that must fail, and fails the
// test if they changed what is stored.
func (e *env) storedUnchanged(what string, refused func()) {
	e.t.Helper()
	before := e.stored()
	refused()
	if after := e.stored(); after != before {
		e.t.Errorf("%s changed what is stored:\nbefore %s\nafter  %s", what, before, after)
	}
}

// must runs ctr-unit and fails the test unless it succeeds.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.ctr(args...)
	if r.code != 0 {
		e.t.Fatalf("ctr-unit %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs ctr-unit, requires a non-zero exit, and returns stderr.
func (e *env) fails(args ...string) string {
	e.t.Helper()
	r := e.ctr(args...)
	if r.code == 0 {
		e.t.Fatalf("ctr-unit %s succeeded, want a failure: %s", strings.Join(args, " "), r)
	}
	return r.stderr
}

// container is the part of inspect's output the tests read.
type container struct {
	Name  string
	Unit  string
	State struct {
		Status     string
		Running    bool
		Paused     bool
		Pid        int
		ExitCode   int
		Error      string
		StartedAt  time.Time
		FinishedAt time.Time
	}
	RestartCount int
}

func (e *env) inspect(name string) container {
	e.t.Helper()
	var cs []container
	if err := json.Unmarshal([]byte(e.must("inspect", name)), &cs); err != nil || len(cs) != 1 {
		e.t.Fatalf("inspect %s: %v (%d items)", name, err, len(cs))
	}
	return cs[0]
}

// waitFor polls cond until it holds or timeout passes.
func (e *env) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) waitStatus(name, status string, timeout time.Duration) container {
	e.t.Helper()
	var c container
	e.waitFor(name+" to be "+status, timeout, func() bool {
		// The container may not exist yet (a run still creating it).
		if e.ctr("inspect", name).code != 0 {
			return false
		}
		c = e.inspect(name)
		return c.State.Status == status
	})
	return c
}

// removeAll removes every container of this test, whatever state it is in.
func (e *env) removeAll() {
	out, err := e.cmd("ps", "-a", "--format", "{{.Name}}").Output()
	if err != nil {
		e.t.Logf("cleanup: ps: %v", err)
		return
	}
	for _, n := range strings.Fields(string(out)) {
		if out, err := e.cmd("rm", "-f", n).CombinedOutput(); err != nil {
			e.t.Errorf("cleanup: rm -f %s: %v: %s", n, err, out)
		}
	}
}

// systemctl runs systemctl in the box.
func systemctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// unitProperty reads one property with systemctl show.
func unitProperty(t *testing.T, unit, prop string) string {
	t.Helper()
	return systemctl(t, "show", "--value", "-p", prop, unit)
}

// cgroupRoot is where the unit's control group is visible in this layout.
func cgroupRoot() string {
	if layout == "hybrid" {
		return "/sys/fs/cgroup/systemd"
	}
	return "/sys/fs/cgroup"
}

// cgroupPids lists every process in the cgroup subtree at path (a unit's
// ControlGroup), in every hierarchy of the box's layout.
func cgroupPids(t *testing.T, path string) []int {
	t.Helper()
	pids, err := cgroupmgr.New(cgroupmgr.Detect()).Processes(path)
	if err != nil && !errors.Is(err, cgroupmgr.ErrNoCgroup) {
		t.Fatalf("processes of %s: %v", path, err)
	}
	return pids
}

func pidAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

func comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}
