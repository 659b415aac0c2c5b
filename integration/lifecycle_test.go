//go:build integration

package integration

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// A container whose init exits 0 on SIGTERM, with a child of its own.
const termable = `trap "exit 0" TERM; sleep 1000 & wait`

// A container whose processes all ignore SIGTERM.
const stubborn = `trap "" TERM; sleep 1000 & sleep 1000 & wait`

func TestProcessesLiveInTheUnitAndNoneRemainAfterStop(t *testing.T) {
	e := newEnv(t)
	name := e.name("web")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", `trap "exit 0" TERM; sleep 1000 & sleep 1000 & wait`)
	c := e.inspect(name)
	if c.State.Status != "running" || c.Unit == "" {
		t.Fatalf("after run -d: status %q unit %q", c.State.Status, c.Unit)
	}
	cgroup := unitProperty(t, c.Unit, "ControlGroup")
	pids := cgroupPids(t, cgroup)
	if len(pids) != 3 {
		t.Fatalf("unit cgroup %s holds pids %v, want the container's 3 processes", cgroup, pids)
	}
	mainPID, _ := strconv.Atoi(unitProperty(t, c.Unit, "MainPID"))
	if mainPID != c.State.Pid || !slices.Contains(pids, mainPID) {
		t.Fatalf("unit MainPID %d, inspect Pid %d, cgroup pids %v: the container's init must be the unit's main process", mainPID, c.State.Pid, pids)
	}
	// No resident supervisor: every process of the unit is the container's.
	for _, pid := range pids {
		if n := comm(pid); n != "sh" && n != "sleep" {
			t.Errorf("process %d (%s) in the unit is not the container's", pid, n)
		}
	}
	assertNoSupervisorProcesses(t)

	e.must("stop", name)
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("process %d survived stop", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot(), cgroup)); !os.IsNotExist(err) {
		t.Errorf("unit cgroup %s still exists after stop: %v", cgroup, err)
	}
	if got := e.inspect(name).State; got.Status != "exited" || got.ExitCode != 0 {
		t.Errorf("after stop: %+v, want exited with code 0", got)
	}
}

// assertNoSupervisorProcesses checks that no ctr-unit or runc process is
// alive anywhere in the box.
func assertNoSupervisorProcesses(t *testing.T) {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		if n := comm(pid); n == "runc" || n == "ctr-unit" || strings.HasPrefix(n, "runc:") {
			t.Errorf("process %d (%s) stays resident", pid, n)
		}
	}
}

func TestStopKillsProcessesThatIgnoreSIGTERMAfterTheTimeout(t *testing.T) {
	e := newEnv(t)
	name := e.name("stubborn")
	e.must("run", "-d", "--name", name, "--stop-timeout", "1", "--rootfs", rootfs, "--", "sh", "-c", stubborn)
	c := e.inspect(name)
	if got := unitProperty(t, c.Unit, "TimeoutStopUSec"); got != "1s" {
		t.Errorf("unit TimeoutStopUSec = %s, want the container's stop timeout 1s", got)
	}
	pids := cgroupPids(t, unitProperty(t, c.Unit, "ControlGroup"))
	start := time.Now()
	e.must("stop", name)
	if took := time.Since(start); took < time.Second {
		t.Errorf("stop took %v: the processes ignore SIGTERM, so it must wait the 1 s stop timeout", took)
	}
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("process %d survived stop", pid)
		}
	}
	if code := e.inspect(name).State.ExitCode; code != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", code)
	}
}

func TestStopTimeFlagShortensTheWait(t *testing.T) {
	e := newEnv(t)
	name := e.name("short")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", stubborn)
	start := time.Now()
	e.must("stop", "-t", "0", name)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stop -t 0 took %v, the container's own 10 s timeout was not cut short", took)
	}
	if c := e.inspect(name); c.State.Status != "exited" || c.State.ExitCode != 137 {
		t.Errorf("after stop -t 0: %+v", c.State)
	}
}

func TestExitCodeIsTheUnitsExitStatus(t *testing.T) {
	e := newEnv(t)
	name := e.name("three")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "sleep 0.2; exit 3")
	c := e.waitStatus(name, "exited", 10*time.Second)
	if c.State.ExitCode != 3 {
		t.Errorf("inspect ExitCode = %d, want 3", c.State.ExitCode)
	}
	if got := unitProperty(t, c.Unit, "ExecMainStatus"); got != "3" {
		t.Errorf("unit ExecMainStatus = %s, want 3", got)
	}
	if got := unitProperty(t, c.Unit, "Result"); got != "exit-code" {
		t.Errorf("unit Result = %s, want exit-code", got)
	}
	if c.State.FinishedAt.Before(c.State.StartedAt) || c.State.StartedAt.IsZero() {
		t.Errorf("StartedAt %v FinishedAt %v", c.State.StartedAt, c.State.FinishedAt)
	}
}

// A container that exits the moment it starts still has its exit status
// recorded by systemd: its init is named the main process before it runs.
// (A pid file read after the start would name a process already gone, and
// fail the unit with 'protocol'.) run -d reports it started, as podman's
// does, even when it failed before systemd's start job was done.
func TestContainerExitingAtOnceKeepsItsExitCode(t *testing.T) {
	e := newEnv(t)
	if r := e.ctr("run", "--name", e.name("quick-attached"), "--rootfs", rootfs, "--", "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("attached run of exit 3: %s, want exit 3", r)
	}
	for i := range 16 {
		name := e.name("quick" + strconv.Itoa(i))
		code := i % 3 // 0 (success) as well as failures
		e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "exit "+strconv.Itoa(code))
		c := e.waitStatus(name, "exited", 10*time.Second)
		if c.State.ExitCode != code {
			t.Errorf("%s: inspect ExitCode = %d, want %d", name, c.State.ExitCode, code)
		}
	}
}

// With a runc slow to return from start, the container's process has
// ended before systemd's start job is done, and the job fails: run -d
// still reports the container started (it ran; its exit is recorded), as
// podman's does. The wrapper also shows that the unit's own steps use the
// runtime given with --runtime.
//
// The start step lets the init run without runc when it finds runc's
// exec.fifo (ociruntime.StartCreated); the wrapper hides that pipe after
// create, so the step falls back to runc start, which the wrapper makes
// slow. That fallback is what runs with a runc that keeps its state
// elsewhere.
func TestContainerEndingDuringItsStartJobStarted(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "slow-runc")
	script := `#!/bin/sh
echo "$*" >>` + calls + `
root=$2; for id; do :; done
fifo=$root/$id/exec.fifo
case " $* " in *" start "*) mv "$fifo.hidden" "$fifo";; esac
runc "$@"; rc=$?
case " $* " in
*" create "*) mv "$fifo" "$fifo.hidden";;
*" start "*) sleep 0.5;;
esac
exit $rc
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	name := e.name("endsearly")
	e.must("--runtime", wrapper, "run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "exit 4")
	if c := e.waitStatus(name, "exited", 10*time.Second); c.State.ExitCode != 4 {
		t.Errorf("exit code %d, want 4", c.State.ExitCode)
	}
	data, _ := os.ReadFile(calls)
	for _, verb := range []string{" create ", " start "} {
		if !strings.Contains(string(data), verb) {
			t.Errorf("the unit's steps did not run%sthrough --runtime: %q", verb, data)
		}
	}
}

// run -d does not ask systemd about a container it has just created; a
// failed unit of that name that lingers (left by an earlier container
// whose removal was cut short) still does not stand in its way.
func TestRunDetachedOverAFailedUnitOfItsName(t *testing.T) {
	e := newEnv(t)
	name := e.name("lingering")
	unit := units.TransientService(name)
	if out, err := exec.Command("systemd-run", "--quiet", "--unit", unit, "false").CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v: %s", err, out)
	}
	e.waitFor(unit+" failed", 10*time.Second, func() bool {
		return unitProperty(t, unit, "ActiveState") == "failed"
	})
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	if c := e.inspect(name); c.State.Status != "running" || c.Unit != unit {
		t.Errorf("status %s in unit %s, want running in %s", c.State.Status, c.Unit, unit)
	}
	if got := unitProperty(t, unit, "ExecMainPID"); got == "0" || !strings.Contains(unitProperty(t, unit, "ExecStart"), "start "+name) {
		t.Errorf("%s is not the container's unit: main pid %s, ExecStart %s", unit, got, unitProperty(t, unit, "ExecStart"))
	}
}

// Commands reach systemd over its private socket when the system bus is
// not there (early boot, a machine without dbus-daemon).
func TestWorksWithoutTheSystemBus(t *testing.T) {
	e := newEnv(t)
	name := e.name("nobus")
	run := func(args ...string) {
		t.Helper()
		c := e.cmd(args...)
		c.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bus")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("ctr-unit %v without the bus: %v: %s", args, err, out)
		}
	}
	run("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	if s := e.inspect(name).State.Status; s != "running" {
		t.Fatalf("%s is %s, want running", name, s)
	}
	run("stop", name)
	if c := e.inspect(name); c.State.Status != "exited" || c.State.ExitCode != 0 {
		t.Errorf("after stop without the bus: %+v", c.State)
	}

	// A bus daemon that takes connections and never answers.
	sock := filepath.Join(t.TempDir(), "silent-bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := e.cmd("start", name)
	c.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path="+sock)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("ctr-unit start with a silent bus: %v: %s", err, out)
	}
	if s := e.inspect(name).State.Status; s != "running" {
		t.Errorf("after start with a silent bus: %s, want running", s)
	}
}

func TestKilledBySignalShows128PlusSignal(t *testing.T) {
	e := newEnv(t)
	name := e.name("killed")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sleep", "1000")
	e.must("kill", "-s", "KILL", name)
	if c := e.waitStatus(name, "exited", 10*time.Second); c.State.ExitCode != 137 {
		t.Errorf("exit code %d after SIGKILL, want 137", c.State.ExitCode)
	}
	// runc's state went with the unit: the same container starts again.
	e.must("start", name)
	if c := e.inspect(name); c.State.Status != "running" {
		t.Fatalf("restart after kill -9: %+v", c.State)
	}
}

func TestOnFailureRetriesExactlyNTimesThenStaysFailed(t *testing.T) {
	e := newEnv(t)
	name := e.name("flaky")
	e.must("run", "-d", "--name", name, "--restart", "on-failure:2", "--rootfs", rootfs, "--", "sh", "-c", "sleep 0.1; exit 1")
	unit := e.inspect(name).Unit
	e.waitFor("the unit to fail for good", 20*time.Second, func() bool {
		return unitProperty(t, unit, "ActiveState") == "failed"
	})
	// Had a third restart been allowed, it would come 100 ms after the
	// failure; give it ample time not to happen.
	time.Sleep(time.Second)
	c := e.inspect(name)
	if c.RestartCount != 2 || c.State.Status != "exited" || c.State.ExitCode != 1 {
		t.Errorf("after on-failure:2: restarts %d, status %s, exit %d; want 2, exited, 1", c.RestartCount, c.State.Status, c.State.ExitCode)
	}
	starts := strings.Count(journal(t, unit), "Started "+unit)
	if starts != 3 {
		t.Errorf("journal shows %d starts of %s, want 3 (1 + 2 restarts)", starts, unit)
	}
	if got := unitProperty(t, unit, "ActiveState"); got != "failed" {
		t.Errorf("unit is %s, want failed", got)
	}
	if ps := e.must("ps", "-a", "--format", "{{.Name}} {{.RestartCount}}"); !strings.Contains(ps, name+" 2\n") {
		t.Errorf("ps -a does not show 2 restarts: %q", ps)
	}
}

func TestAlwaysRestartsAfterACleanExitButNotAfterStop(t *testing.T) {
	e := newEnv(t)
	name := e.name("always")
	e.must("run", "-d", "--name", name, "--restart", "always", "--rootfs", rootfs, "--", "sh", "-c", "sleep 0.2; exit 0")
	e.waitFor("two restarts", 20*time.Second, func() bool { return e.inspect(name).RestartCount >= 2 })
	e.waitStatus(name, "running", 10*time.Second)
	e.must("stop", name)
	before := e.inspect(name)
	time.Sleep(time.Second)
	after := e.inspect(name)
	if after.State.Status != "exited" || after.RestartCount != before.RestartCount {
		t.Errorf("after stop: status %s restarts %d→%d; a stopped container must stay stopped", after.State.Status, before.RestartCount, after.RestartCount)
	}
	if after.RestartCount < 2 {
		t.Errorf("restart count %d was lost when the unit stopped", after.RestartCount)
	}
}

func TestRestartCountSurvivesSystemdRestarts(t *testing.T) {
	e := newEnv(t)
	name := e.name("count")
	e.must("run", "-d", "--name", name, "--restart", "on-failure", "--rootfs", rootfs, "--", "sleep", "1000")
	for want := 1; want <= 3; want++ {
		e.waitStatus(name, "running", 10*time.Second)
		e.must("kill", "-s", "KILL", name)
		e.waitFor("restart "+strconv.Itoa(want), 10*time.Second, func() bool { return e.inspect(name).RestartCount == want })
	}
}

func TestRunAttachedReturnsTheContainersExitCode(t *testing.T) {
	e := newEnv(t)
	name := e.name("attached")
	r := e.ctr("run", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7")
	if r.code != 7 {
		t.Fatalf("run exit code: %s; want 7", r)
	}
	if !strings.Contains(r.stdout, "to-stdout") || !strings.Contains(r.stderr, "to-stderr") {
		t.Errorf("container output not passed through: %s", r)
	}
	r = e.ctr("run", "--rm", "--name", e.name("ok"), "--rootfs", rootfs, "--", "true")
	if r.code != 0 {
		t.Errorf("run true: %s", r)
	}
	if out := e.must("ps", "-a", "--format", "{{.Name}}"); strings.Contains(out, e.name("ok")) {
		t.Errorf("--rm left the container: %s", out)
	}
}

func TestRunAttachedPassesStdinAndSignals(t *testing.T) {
	e := newEnv(t)
	c := e.cmd("run", "--name", e.name("stdin"), "--rootfs", rootfs, "--", "sh", "-c", "read line; echo got:$line")
	c.Stdin = strings.NewReader("hello\n")
	out, err := c.Output()
	if err != nil || !strings.Contains(string(out), "got:hello") {
		t.Errorf("stdin not passed: %v, %q", err, out)
	}
	c = e.cmd("run", "--name", e.name("sig"), "--rootfs", rootfs, "--", "sh", "-c", `trap "exit 42" INT; sleep 1000 & wait`)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(e.name("sig"), "running", 10*time.Second)
	c.Process.Signal(os.Interrupt)
	err = c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Errorf("run after SIGINT: %v, want exit 42 from the container's trap", err)
	}
}

func TestOutputGoesToTheJournalTaggedWithTheName(t *testing.T) {
	e := newEnv(t)
	name := e.name("talk")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", "echo line-one; echo line-two >&2; sleep 1000")
	var logs string
	e.waitFor("two lines in the journal", 10*time.Second, func() bool {
		logs = e.must("logs", name)
		return strings.Contains(logs, "line-two")
	})
	if logs != "line-one\nline-two\n" {
		t.Errorf("logs = %q, want exactly the container's two lines", logs)
	}
	tagged, _ := exec.Command("journalctl", "--no-pager", "-o", "cat", "-t", name).Output()
	if !strings.Contains(string(tagged), "line-one") {
		t.Errorf("journalctl -t %s: %q", name, tagged)
	}
}

func journal(t *testing.T, unit string) string {
	t.Helper()
	out, err := exec.Command("journalctl", "--no-pager", "-u", unit).Output()
	if err != nil {
		t.Fatalf("journalctl -u %s: %v", unit, err)
	}
	return string(out)
}

// ps reads the state of all containers at once, inspect of one: both
// show what systemd says of the unit, the main process and its start
// included, for a container systemd restarted too.
func TestPsAndInspectAgree(t *testing.T) {
	e := newEnv(t)
	plain, restarted, exited := e.name("plain"), e.name("restarted"), e.name("exited")
	e.must("run", "-d", "--name", plain, "--rootfs", rootfs, "--", "sleep", "1000")
	e.must("run", "-d", "--name", restarted, "--restart", "on-failure", "--rootfs", rootfs, "--", "sleep", "1000")
	e.must("run", "-d", "--name", exited, "--rootfs", rootfs, "--", "true")
	e.waitStatus(exited, "exited", 10*time.Second)
	e.must("kill", "-s", "KILL", restarted)
	e.waitFor("a restart", 10*time.Second, func() bool {
		c := e.inspect(restarted)
		return c.RestartCount == 1 && c.State.Status == "running"
	})
	var list []container
	if err := json.Unmarshal([]byte(e.must("ps", "-a", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, got := range list {
		if !strings.HasPrefix(got.Name, e.prefix) {
			continue
		}
		seen++
		want := e.inspect(got.Name)
		if got.State.Pid != want.State.Pid || !got.State.StartedAt.Equal(want.State.StartedAt) ||
			got.RestartCount != want.RestartCount || got.State.Status != want.State.Status {
			t.Errorf("%s: ps shows pid %d, started %v, %d restarts, %s; inspect pid %d, started %v, %d restarts, %s", got.Name,
				got.State.Pid, got.State.StartedAt, got.RestartCount, got.State.Status,
				want.State.Pid, want.State.StartedAt, want.RestartCount, want.State.Status)
		}
		if got.State.Status != "running" {
			if got.State.Pid != 0 {
				t.Errorf("%s is %s with pid %d", got.Name, got.State.Status, got.State.Pid)
			}
			continue
		}
		if main := unitProperty(t, got.Unit, "MainPID"); strconv.Itoa(got.State.Pid) != main || main == "0" {
			t.Errorf("%s: ps shows pid %d, systemd's MainPID of %s is %s", got.Name, got.State.Pid, got.Unit, main)
		}
	}
	if seen != 3 {
		t.Errorf("ps -a listed %d of the test's 3 containers", seen)
	}
	// The template form of the pid, as in the report.
	if out := strings.TrimSpace(e.must("ps", "--format", "{{.Name}} {{.State.Pid}}")); strings.Contains(out, plain+" 0") {
		t.Errorf("ps --format shows pid 0 for a running container: %s", out)
	}
}
