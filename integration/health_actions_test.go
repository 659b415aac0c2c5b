//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stateRecord reads a container's state record as ctr-unit stores it.
func (e *env) stateRecord(name string) (st struct {
	StoppedByUser bool
	RestartCount  int
}) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.stateDir, "containers", name, "state.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// readIn reads a file inside a running container ("" if it is missing).
func (e *env) readIn(name, path string) string {
	e.t.Helper()
	out, err := e.execCmd(name, "cat", path).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// While the startup probe has not passed, the regular check neither runs
// nor counts; after --health-startup-success passes in a row, the
// regular check takes over. Every check appends to one file in the
// container: S- (startup failed), S+ (startup passed), R (regular).
func TestHealthStartupProbeGatesTheRegularCheck(t *testing.T) {
	e := newEnv(t)
	name := e.name("startup")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs,
		"--health-cmd", "echo R >> /tmp/seq", "--health-interval", "500ms", "--health-retries", "1",
		"--health-startup-cmd", "if test -e /tmp/started; then echo S+ >> /tmp/seq; else echo S- >> /tmp/seq; exit 1; fi",
		"--health-startup-interval", "200ms", "--health-startup-success", "2",
		"--", "sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`)
	unit := e.inspect(name).Unit

	e.waitFor("3 failed startup checks", 10*time.Second, func() bool { return strings.Count(e.readIn(name, "/tmp/seq"), "S-") >= 3 })
	h := e.health(name)
	if seq := e.readIn(name, "/tmp/seq"); strings.Contains(seq, "R") || strings.Contains(seq, "S+") {
		t.Fatalf("regular check ran before the startup probe passed: %q", seq)
	}
	if h.Status != "starting" || h.FailingStreak != 0 {
		t.Errorf("while the startup probe fails: %s with a failing streak of %d; want starting, 0 (--health-retries 1 must not apply)", h.Status, h.FailingStreak)
	}
	if got := unitProperty(t, unit, "StatusText"); got != "starting" {
		t.Errorf("unit StatusText %q, want starting", got)
	}

	e.execIn(name, "touch", "/tmp/started")
	e.waitFor("healthy", 10*time.Second, func() bool { return e.health(name).Status == "healthy" })
	e.waitFor("a few regular checks", 10*time.Second, func() bool { return strings.Count(e.readIn(name, "/tmp/seq"), "R") >= 3 })
	seq := strings.Fields(e.readIn(name, "/tmp/seq"))
	first := -1
	for i, s := range seq {
		if s == "R" {
			first = i
			break
		}
	}
	t.Logf("checks: %v", seq)
	if first < 2 || seq[first-1] != "S+" || seq[first-2] != "S+" || (first > 2 && seq[first-3] == "S+") {
		t.Errorf("regular checks began after %v; want after exactly 2 startup passes in a row", seq[:max(first, 0)])
	}
	for _, s := range seq[first:] {
		if s != "R" {
			t.Errorf("the startup probe ran again after it passed: %v", seq)
			break
		}
	}
	if got := unitProperty(t, unit, "StatusText"); got != "healthy" {
		t.Errorf("unit StatusText %q, want healthy", got)
	}
	// The regular check now counts: one failure (--health-retries 1)
	// makes the container unhealthy.
	// In one exec: a check between the two would write the file again.
	e.execIn(name, "sh", "-c", "rm /tmp/seq && mkdir /tmp/seq") // "echo >> /tmp/seq" now fails
	e.waitFor("unhealthy", 10*time.Second, func() bool { return e.health(name).Status == "unhealthy" })
}

// A startup probe that fails --health-startup-retries times in a row
// restarts the container, as podman does, through systemd (counted in
// NRestarts) even with --restart no. Each check notes which run of the
// container it saw (its init's start time) in a host directory.
func TestHealthStartupProbeFailuresRestartTheContainer(t *testing.T) {
	e := newEnv(t)
	name := e.name("startfail")
	dir := t.TempDir()
	e.must("run", "-d", "--name", name, "--restart", "no", "--rootfs", rootfs, "-v", dir+":/root",
		"--health-cmd", "true", "--health-interval", "1s",
		"--health-startup-cmd", "cut -d' ' -f22 /proc/1/stat >> /root/tries; exit 1",
		"--health-startup-interval", "200ms", "--health-startup-retries", "3",
		"--", "sleep", "1000")
	c := e.inspect(name)
	first := c.State.Pid
	e.waitFor("two restarts", 20*time.Second, func() bool { c = e.inspect(name); return c.RestartCount >= 2 })
	if n := mustAtoi(t, unitProperty(t, c.Unit, "NRestarts")); n < 2 {
		t.Errorf("unit NRestarts %d: the restarts were not systemd's", n)
	}
	if got := unitProperty(t, c.Unit, "Restart"); got != "on-watchdog" {
		t.Errorf("unit Restart=%s, want on-watchdog (--restart no, restarted only by its checks)", got)
	}
	c = e.waitStatus(name, "running", 10*time.Second)
	if c.State.Pid == first {
		t.Errorf("still the first init %d", first)
	}
	data, err := os.ReadFile(filepath.Join(dir, "tries"))
	if err != nil {
		t.Fatal(err)
	}
	// Checks per run, in order; the last run may still be counting.
	var runs []int
	last := ""
	for _, l := range strings.Fields(string(data)) {
		if l != last {
			runs = append(runs, 0)
			last = l
		}
		runs[len(runs)-1]++
	}
	t.Logf("startup checks per run: %v", runs)
	if len(runs) < 2 {
		t.Fatalf("checks saw %d runs, want at least 2", len(runs))
	}
	for i, n := range runs[:len(runs)-1] {
		if n != 3 {
			t.Errorf("run %d was restarted after %d failed startup checks, want exactly 3", i+1, n)
		}
	}
	if h := e.health(name); h.Status != "starting" {
		t.Errorf("health of the new run %s, want starting", h.Status)
	}
	if st := e.stateRecord(name); st.StoppedByUser {
		t.Errorf("a restart by the startup probe marked the container stopped by the user")
	}
}

// The restart action goes through systemd's watchdog: the unit's result
// is "watchdog", which only a check produces. A user's kill -s KILL of
// the same container is left to the restart policy (here no).
func TestHealthOnFailureRestartLeavesUserKillsToThePolicy(t *testing.T) {
	e := newEnv(t)
	name := e.name("userkill")
	e.runChecked(name, "--restart", "no", "--health-on-failure", "restart", "--health-retries", "1")
	e.waitFor("healthy", 10*time.Second, func() bool { return e.health(name).Status == "healthy" })
	unit := e.inspect(name).Unit
	if got := unitProperty(t, unit, "WatchdogSignal"); got != "9" {
		t.Errorf("unit WatchdogSignal=%s, want 9 (SIGKILL)", got)
	}
	if got := unitProperty(t, unit, "RestartForceExitStatus"); got != "" {
		t.Errorf("unit RestartForceExitStatus=%q: a user's kill would restart it", got)
	}
	e.must("kill", "-s", "KILL", name)
	c := e.waitStatus(name, "exited", 10*time.Second)
	time.Sleep(time.Second) // a restart would come after RestartSec (100 ms)
	if c = e.inspect(name); c.State.Status != "exited" || c.RestartCount != 0 || c.State.ExitCode != 137 {
		t.Errorf("after kill -s KILL with --restart no: %s, exit %d, %d restarts; want exited, 137, none", c.State.Status, c.State.ExitCode, c.RestartCount)
	}
	e.assertNoHealthUnits("a user's kill")

	// Unhealthy: restarted by systemd, for the watchdog.
	e.must("start", name)
	e.execIn(name, "rm", "/tmp/ok")
	e.waitFor("a restart", 15*time.Second, func() bool { c = e.inspect(name); return c.RestartCount >= 1 })
	if n := mustAtoi(t, unitProperty(t, unit, "NRestarts")); n < 1 {
		t.Errorf("unit NRestarts %d: the restart was not systemd's", n)
	}
	out := journal(t, unit)
	if !strings.Contains(out, "Watchdog request") || !strings.Contains(out, "'watchdog'") {
		t.Errorf("journal of %s does not show the watchdog restart:\n%s", unit, out)
	}
	e.waitStatus(name, "running", 10*time.Second)
}

// --health-on-failure=stop stops the container as ctr-unit stop does:
// marked stopped by the user (an unless-stopped container stays down at
// boot) with its restart count kept. kill leaves the decision to the
// restart policy, as ctr-unit kill does, so it marks nothing.
func TestHealthOnFailureStopMarksStoppedByUserKillDoesNot(t *testing.T) {
	e := newEnv(t)
	stopped := e.name("stopped")
	e.runChecked(stopped, "--restart", "unless-stopped", "--health-on-failure", "stop", "--health-retries", "1")
	e.waitFor("healthy", 10*time.Second, func() bool { return e.health(stopped).Status == "healthy" })
	// One restart by systemd first, to see the count kept.
	if err := killPid(e.inspect(stopped).State.Pid); err != nil {
		t.Fatal(err)
	}
	e.waitFor("a restart", 10*time.Second, func() bool { c := e.inspect(stopped); return c.RestartCount == 1 && c.State.Status == "running" })
	e.waitFor("healthy again", 10*time.Second, func() bool { return e.health(stopped).Status == "healthy" })
	if st := e.stateRecord(stopped); st.StoppedByUser {
		t.Fatalf("stopped by the user before anything stopped it")
	}
	e.execIn(stopped, "rm", "/tmp/ok")
	c := e.waitStatus(stopped, "exited", 10*time.Second)
	if st := e.stateRecord(stopped); !st.StoppedByUser || st.RestartCount != 1 {
		t.Errorf("record after the stop action: %+v; want stopped by the user, 1 restart", st)
	}
	if c.RestartCount != 1 {
		t.Errorf("inspect RestartCount %d after the unit is gone, want 1", c.RestartCount)
	}
	e.assertNoHealthUnits("the stop action")

	killed := e.name("killed")
	e.runChecked(killed, "--restart", "unless-stopped", "--health-on-failure", "kill", "--health-retries", "1")
	e.waitFor("healthy", 10*time.Second, func() bool { return e.health(killed).Status == "healthy" })
	e.execIn(killed, "rm", "/tmp/ok")
	e.waitFor("a restart by the policy", 15*time.Second, func() bool { return e.inspect(killed).RestartCount >= 1 })
	if st := e.stateRecord(killed); st.StoppedByUser {
		t.Errorf("the kill action marked the container stopped by the user; its policy restarted it")
	}
}

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
