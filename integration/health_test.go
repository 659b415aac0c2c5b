//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// health is State.Health as inspect shows it.
type health struct {
	Status        string
	FailingStreak int
	Log           []struct {
		Start, End time.Time
		ExitCode   int
		Output     string
	}
}

func (e *env) health(name string) health {
	e.t.Helper()
	var cs []struct {
		State struct{ Health *health }
	}
	if err := json.Unmarshal([]byte(e.must("inspect", name)), &cs); err != nil || len(cs) != 1 {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	if cs[0].State.Health == nil {
		return health{}
	}
	return *cs[0].State.Health
}

// execCmd is ctr-unit exec of args in container name.
func (e *env) execCmd(name string, args ...string) *exec.Cmd {
	return e.cmd(append([]string{"exec", name}, args...)...)
}

// healthUnits lists this test's check timers and services that systemd
// still has loaded, in any state.
func (e *env) healthUnits() []string {
	e.t.Helper()
	out := systemctl(e.t, "list-units", "--all", "--plain", "--no-legend", "ctr-*health*")
	var left []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "ctr-health@"+e.prefix) {
			left = append(left, line)
		}
	}
	return left
}

func (e *env) assertNoHealthUnits(after string) {
	e.t.Helper()
	// systemd collects units in its event loop, right after the job that
	// leaves them unneeded; allow it that moment.
	var left []string
	for range 20 {
		if left = e.healthUnits(); len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Errorf("after %s, check units remain:\n%s", after, strings.Join(left, "\n"))
}

// A container whose check passes while /tmp/ok exists.
func (e *env) runChecked(name string, flags ...string) {
	e.t.Helper()
	args := append([]string{"run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "test -e /tmp/ok", "--health-interval", "1s"}, flags...)
	e.must(append(args, "--", "sh", "-c", `touch /tmp/ok; trap "exit 0" TERM; sleep 1000 & wait`)...)
}

func TestHealthcheckOneSecondIntervalFiresAboutOncePerSecond(t *testing.T) {
	e := newEnv(t)
	name := e.name("tick")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "echo x >> /tmp/checks", "--health-interval", "1s", "--", "sleep", "1000")
	const window = 5 * time.Second
	time.Sleep(window)
	out, err := e.execCmd(name, "cat", "/tmp/checks").Output()
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(out), "x")
	t.Logf("%d checks in %v", n, window)
	// One at start, then one per second after the previous ended.
	if n < 4 || n > 7 {
		t.Errorf("%d checks in %v with a 1 s interval, want about 5", n, window)
	}
	// The log keeps the last 5 (fewer when a loaded machine made the
	// checks slower than the window allows).
	if h := e.health(name); h.Status != "healthy" || len(h.Log) < min(n, 5) || len(h.Log) > 5 {
		t.Errorf("health %s with %d log entries after %d checks, want healthy with the last 5 at most", h.Status, len(h.Log), n)
	}
	unit := e.inspect(name).Unit
	if got := unitProperty(t, unit, "StatusText"); got != "healthy" {
		t.Errorf("unit StatusText %q, want healthy", got)
	}
	if ps := e.must("ps"); !strings.Contains(ps, "(healthy)") {
		t.Errorf("ps does not show the health:\n%s", ps)
	}
	if got := unitProperty(t, "ctr-health@"+name+".timer", "AccuracyUSec"); got != "50ms" {
		t.Errorf("timer AccuracyUSec %s, want 50ms", got)
	}
}

func TestHealthcheckTurnsUnhealthyAfterExactlyRetriesFailures(t *testing.T) {
	e := newEnv(t)
	name := e.name("sick")
	e.runChecked(name, "--health-retries", "3")
	e.waitFor("healthy", 10*time.Second, func() bool { return e.health(name).Status == "healthy" })
	e.execIn(name, "rm", "/tmp/ok")
	var seen []string
	var h health
	e.waitFor("unhealthy", 15*time.Second, func() bool {
		h = e.health(name)
		if s := fmt.Sprintf("%s/%d", h.Status, h.FailingStreak); len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		return h.Status == "unhealthy"
	})
	t.Logf("statuses seen: %v", seen)
	for _, s := range seen {
		if s == "unhealthy/1" || s == "unhealthy/2" {
			t.Errorf("unhealthy before 3 failures: %v", seen)
		}
	}
	if h.FailingStreak != 3 {
		t.Errorf("turned unhealthy with a streak of %d, want exactly 3", h.FailingStreak)
	}
	if got := unitProperty(t, e.inspect(name).Unit, "StatusText"); got != "unhealthy" {
		t.Errorf("unit StatusText %q, want unhealthy", got)
	}
	if out := e.must("inspect", name); !strings.Contains(out, `"ExitCode": 1`) {
		t.Errorf("log does not show the failures:\n%s", out)
	}
	// Manual check: exit 1 and "unhealthy", as podman.
	if r := e.ctr("healthcheck", "run", name); r.code != 1 || strings.TrimSpace(r.stdout) != "unhealthy" {
		t.Errorf("healthcheck run: %s; want exit 1, unhealthy", r)
	}
	e.execIn(name, "touch", "/tmp/ok")
	if r := e.ctr("healthcheck", "run", name); r.code != 0 {
		t.Errorf("healthcheck run after the fix: %s", r)
	}
	if h := e.health(name); h.Status != "healthy" || h.FailingStreak != 0 {
		t.Errorf("after a pass: %+v", h)
	}
}

func TestHealthcheckStartPeriodHidesEarlyFailures(t *testing.T) {
	e := newEnv(t)
	name := e.name("slow")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "false", "--health-interval", "500ms",
		"--health-retries", "1", "--health-start-period", "3s", "--", "sleep", "1000")
	time.Sleep(2 * time.Second)
	h := e.health(name)
	if h.Status != "starting" || h.FailingStreak != 0 || len(h.Log) < 2 {
		t.Errorf("inside the start period: %s streak %d with %d results; want starting, no streak, failures logged", h.Status, h.FailingStreak, len(h.Log))
	}
	e.waitFor("unhealthy after the start period", 10*time.Second, func() bool { h = e.health(name); return h.Status == "unhealthy" })
	first := h.Log[len(h.Log)-1].Start
	if started := e.inspect(name).State.StartedAt; first.Sub(started) < 3*time.Second {
		t.Errorf("the failure that counted started %v after the container, inside the 3 s start period", first.Sub(started))
	}
}

func TestHealthOnFailureKillLetsRestartPolicyDecide(t *testing.T) {
	e := newEnv(t)
	name := e.name("kill")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "false", "--health-interval", "500ms",
		"--health-retries", "1", "--health-on-failure", "kill", "--", "sleep", "1000")
	c := e.waitStatus(name, "exited", 10*time.Second)
	if c.State.ExitCode != 137 || c.RestartCount != 0 {
		t.Errorf("after kill with --restart no: exit %d restarts %d; want 137 and no restart", c.State.ExitCode, c.RestartCount)
	}
	if got := unitProperty(t, c.Unit, "ExecMainStatus"); got != "9" {
		t.Errorf("unit ExecMainStatus %s, want 9 (SIGKILL through systemd)", got)
	}
	e.assertNoHealthUnits("the unhealthy container was killed")

	other := e.name("kill-again")
	e.must("run", "-d", "--name", other, "--restart", "on-failure", "--rootfs", rootfs, "--health-cmd", "false", "--health-interval", "500ms",
		"--health-retries", "1", "--health-on-failure", "kill", "--", "sleep", "1000")
	e.waitFor("a restart by systemd", 15*time.Second, func() bool { return e.inspect(other).RestartCount >= 1 })
}

func TestHealthOnFailureRestartIsCountedBySystemd(t *testing.T) {
	e := newEnv(t)
	name := e.name("restart")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "false", "--health-interval", "500ms",
		"--health-retries", "1", "--health-on-failure", "restart", "--", "sleep", "1000")
	first := e.inspect(name).State.Pid
	var c container
	e.waitFor("a restart", 15*time.Second, func() bool { c = e.inspect(name); return c.RestartCount >= 1 })
	if n, _ := strconv.Atoi(unitProperty(t, c.Unit, "NRestarts")); n < 1 {
		t.Errorf("unit NRestarts %d: the restart was not systemd's", n)
	}
	c = e.waitStatus(name, "running", 10*time.Second)
	if c.State.Pid == first {
		t.Errorf("still the same init %d after a restart", first)
	}
}

func TestHealthOnFailureStopStopsTheUnit(t *testing.T) {
	e := newEnv(t)
	name := e.name("stop")
	e.must("run", "-d", "--name", name, "--restart", "always", "--rootfs", rootfs, "--health-cmd", "false", "--health-interval", "500ms",
		"--health-retries", "1", "--health-on-failure", "stop", "--", "sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`)
	c := e.waitStatus(name, "exited", 10*time.Second)
	time.Sleep(time.Second)
	if c = e.inspect(name); c.State.Status != "exited" || c.RestartCount != 0 || c.State.ExitCode != 0 {
		t.Errorf("after stop: %+v restarts %d; want exited by the stop signal and not restarted", c.State, c.RestartCount)
	}
	if got := unitProperty(t, c.Unit, "ActiveState"); got == "active" || got == "activating" {
		t.Errorf("unit is %s", got)
	}
	e.assertNoHealthUnits("the unhealthy container was stopped")
}

func TestSdnotifyHealthyMakesRunWaitForTheFirstPass(t *testing.T) {
	e := newEnv(t)
	name := e.name("ready")
	start := time.Now()
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--sdnotify", "healthy", "--health-cmd", "test -e /tmp/ready",
		"--health-interval", "300ms", "--", "sh", "-c", `sleep 2; touch /tmp/ready; trap "exit 0" TERM; sleep 1000 & wait`)
	returned := time.Now()
	if took := returned.Sub(start); took < 2*time.Second {
		t.Errorf("run -d returned after %v, before the container could be healthy (2 s)", took)
	}
	h := e.health(name)
	if h.Status != "healthy" || len(h.Log) == 0 {
		t.Fatalf("after run -d: health %+v, want healthy", h)
	}
	var passed time.Time
	for _, r := range h.Log {
		if r.ExitCode == 0 && passed.IsZero() {
			passed = r.End
		}
	}
	if passed.After(returned) {
		t.Errorf("first passing check ended at %v, after run -d returned at %v", passed, returned)
	}
	unit := e.inspect(name).Unit
	for prop, want := range map[string]string{"Type": "notify", "ActiveState": "active", "StatusText": "healthy"} {
		if got := unitProperty(t, unit, prop); got != want {
			t.Errorf("unit %s = %s, want %s", prop, got, want)
		}
	}
	if c := e.inspect(name); c.State.Pid != mustAtoi(t, unitProperty(t, unit, "MainPID")) || !pidAlive(c.State.Pid) || comm(c.State.Pid) != "sh" {
		t.Errorf("main pid %d (%s): want the container's init", c.State.Pid, comm(c.State.Pid))
	}
	e.must("stop", name)
	e.assertNoHealthUnits("stop")
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNoCheckUnitsRemainAfterAnyStop(t *testing.T) {
	e := newEnv(t)
	name := e.name("tidy")
	e.runChecked(name, "--restart", "on-failure")
	timer := "ctr-health@" + name + ".timer"
	if got := unitProperty(t, timer, "ActiveState"); got != "active" {
		t.Fatalf("timer %s is %s after run", timer, got)
	}

	e.must("stop", name)
	e.assertNoHealthUnits("stop")

	e.must("start", name)
	e.must("restart", name)
	if got := unitProperty(t, timer, "ActiveState"); got != "active" {
		t.Errorf("timer is %s after restart", got)
	}
	systemctl(t, "daemon-reload")
	if got := unitProperty(t, timer, "ActiveState"); got != "active" {
		t.Errorf("timer is %s after daemon-reload", got)
	}

	// Killed: systemd restarts the container, and the timer with it.
	pid := e.inspect(name).State.Pid
	syscall.Kill(pid, syscall.SIGKILL)
	e.waitFor("a restart", 10*time.Second, func() bool { c := e.inspect(name); return c.RestartCount == 1 && c.State.Status == "running" })
	e.waitFor("the timer back", 5*time.Second, func() bool { return unitProperty(t, timer, "ActiveState") == "active" })
	e.waitFor("a check of the new run", 5*time.Second, func() bool { h := e.health(name); return h.Status == "healthy" })

	// Paused: no timer; unpaused: checks resume.
	if r := e.ctr("pause", name); r.code == 0 {
		e.assertNoHealthUnits("pause")
		e.must("unpause", name)
		before := len(e.health(name).Log)
		e.waitFor("checks to resume", 5*time.Second, func() bool { h := e.health(name); return len(h.Log) > before || len(h.Log) == 5 })
	} else {
		t.Logf("pause unavailable here: %s", r)
	}

	e.must("rm", "-f", name)
	e.assertNoHealthUnits("rm -f")

	// kill -9 of the main process of a container that is not restarted.
	name = e.name("once")
	e.runChecked(name)
	syscall.Kill(e.inspect(name).State.Pid, syscall.SIGKILL)
	e.waitStatus(name, "exited", 10*time.Second)
	e.assertNoHealthUnits("kill -9 of the main process")
}

func TestNoCheckUnitsRemainAfterManyStartStopCycles(t *testing.T) {
	e := newEnv(t)
	name := e.name("cycle")
	e.runChecked(name)
	for i := range 50 {
		e.must("stop", name)
		if left := e.healthUnits(); len(left) != 0 && i%10 == 0 {
			e.assertNoHealthUnits(fmt.Sprintf("stop %d", i+1))
		}
		e.must("start", name)
	}
	// The last run is checked like the first.
	e.waitFor("a check of the last run", 10*time.Second, func() bool { return e.health(name).Status == "healthy" })
	e.must("stop", name)
	e.assertNoHealthUnits("50 start/stop cycles")
}

func TestHealthcheckOptionsAreValidated(t *testing.T) {
	e := newEnv(t)
	for _, bad := range [][]string{
		{"--health-cmd", "true", "--health-interval", "10"},
		{"--health-cmd", "true", "--health-on-failure", "explode"},
		{"--health-interval", "1s"},
		{"--health-cmd", "true", "--no-healthcheck"},
		{"--health-cmd", "[1]"},
		{"--sdnotify", "healthy"},
	} {
		args := append([]string{"create", "--name", e.name("bad"), "--rootfs", rootfs}, bad...)
		r := e.ctr(append(args, "--", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, "healthcheck") {
			t.Errorf("create %v: %s; want exit 125 naming the healthcheck", bad, r)
		}
	}
	if out := e.must("ps", "-a", "--format", "{{.Name}}"); strings.TrimSpace(out) != "" {
		t.Errorf("bad options left containers: %q", out)
	}
}

// TestHealthBenchmark prints the CPU time (user+sys of ctr-unit and all
// it ran) and the wall time of one healthcheck run, and the machine's CPU
// use (from /proc/stat, so other work on the machine shows too) over 10 s
// without containers and with 50 containers checked every second. It
// prints figures and asserts nothing about them; run it with
// CTR_UNIT_BENCH=1 -run TestHealthBenchmark -v.
func TestHealthBenchmark(t *testing.T) {
	if os.Getenv("CTR_UNIT_BENCH") == "" {
		t.Skip("set CTR_UNIT_BENCH=1 to run the healthcheck benchmark")
	}
	e := newEnv(t)
	name := e.name("bench")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--health-cmd", "true", "--health-interval", "disable", "--", "sleep", "1000")
	const runs = 50
	var cpu, wall time.Duration
	for range runs {
		c := e.cmd("healthcheck", "run", name)
		start := time.Now()
		if err := c.Run(); err != nil {
			t.Fatal(err)
		}
		wall += time.Since(start)
		cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	t.Logf("one healthcheck run (%s): %.1f ms CPU (user+sys), %.1f ms wall, mean of %d", layout, ms(cpu/runs), ms(wall/runs), runs)
	e.must("rm", "-f", name)

	const n, window = 50, 10 * time.Second
	idle := cpuBusy(window)
	for i := range n {
		e.must("run", "-d", "--name", e.name(fmt.Sprintf("c%d", i)), "--rootfs", rootfs, "--health-cmd", "true", "--health-interval", "1s", "--", "sleep", "1000")
	}
	time.Sleep(2 * time.Second)
	busy := cpuBusy(window)
	t.Logf("%d containers checked every second (%s): %.0f%% of a core busy machine-wide over %v, %.0f%% before they ran", n, layout, busy*100, window, idle*100)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuBusy measures how many cores were busy on average over d.
func cpuBusy(d time.Duration) float64 {
	read := func() (busy, total float64) {
		data, _ := os.ReadFile("/proc/stat")
		f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1:]
		for i, v := range f {
			x, _ := strconv.ParseFloat(v, 64)
			total += x
			if i != 3 && i != 4 { // idle, iowait
				busy += x
			}
		}
		return
	}
	b0, t0 := read()
	time.Sleep(d)
	b1, t1 := read()
	cores := 0
	data, _ := os.ReadFile("/proc/stat")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "cpu") && !strings.HasPrefix(l, "cpu ") {
			cores++
		}
	}
	return (b1 - b0) / (t1 - t0) * float64(cores)
}
