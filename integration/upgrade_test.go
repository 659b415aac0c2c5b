//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// A drop-in written by an older ctr-unit may name steps this one no longer
// has; systemd starts such units by itself (at boot, systemctl start), so
// the package's postinst rewrites them with refresh-units.
func TestRefreshUnitsRewritesDropInsOfAnOlderVersion(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	name := e.name("old")
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	unit := units.TemplateInstance(name)
	dropIn := filepath.Join("/etc/systemd/system", unit+".d", "50-ctr-unit.conf")
	current, err := os.ReadFile(dropIn)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(current), " start "+name+"\n", " start-post "+name+"\n", 1)
	if old == string(current) {
		t.Fatalf("drop-in has no start step to age:\n%s", current)
	}
	if err := os.WriteFile(dropIn, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	systemctl(t, "daemon-reload")
	if err := exec.Command("systemctl", "start", unit).Run(); err == nil {
		t.Fatalf("%s started with a step this ctr-unit does not have", unit)
	}
	exec.Command("systemctl", "reset-failed", unit).Run()

	if out := e.must("internal", "refresh-units"); strings.TrimSpace(out) != name {
		t.Errorf("refresh-units printed %q, want %s", out, name)
	}
	if got, _ := os.ReadFile(dropIn); string(got) != string(current) {
		t.Errorf("drop-in after refresh-units:\n%s\nwant:\n%s", got, current)
	}
	systemctl(t, "start", unit)
	if s := e.inspect(name).State.Status; s != "running" {
		t.Errorf("after refresh-units and systemctl start: %s, want running", s)
	}
	if out := e.must("internal", "refresh-units"); out != "" {
		t.Errorf("a second refresh-units rewrote %q", out)
	}
}

// A container started by a ctr-unit from before per-container runc roots
// keeps running through an upgrade: its unit (ExecStart runc create with
// the shared root, then the start-post step) restarts, its checks reach it
// through runc, and its stop records the exit and leaves nothing.
func TestContainerOfAnOlderVersionSurvivesTheUpgrade(t *testing.T) {
	e := newEnv(t)
	name := e.name("legacy")
	e.must("run", "-d", "--name", name, "--restart", "always", "--health-cmd", "true", "--health-interval", "1h",
		"--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("stop", name) // keeps the record and the bundle; the unit is gone
	unit := e.inspect(name).Unit
	self, err := filepath.Abs(binary)
	if err != nil {
		t.Fatal(err)
	}
	step := func(s string) string {
		return strings.Join([]string{self, "--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir, "internal", s, name}, " ")
	}
	shared := filepath.Join(e.runtimeDir, "runc")
	bundle := filepath.Join(e.runtimeDir, "containers", name)
	// The unit as the older ctr-unit made it.
	out, err := exec.Command("systemd-run", "--quiet", "--unit", unit, "--slice", "system.slice",
		"-p", "Type=forking", "-p", "NotifyAccess=all", "-p", "GuessMainPID=no", "-p", "Delegate=yes", "-p", "KillMode=mixed",
		"-p", "UnsetEnvironment=NOTIFY_SOCKET", "-p", "Restart=always", "-p", "RestartSec=100ms",
		"-p", "ExecStartPost="+step("start-post"), "-p", "ExecStopPost="+step("stop-post"),
		"--", "runc", "--root", shared, "create", "--pid-file", filepath.Join(bundle, "pid"), "--bundle", bundle, name).CombinedOutput()
	if err != nil {
		journal, _ := exec.Command("journalctl", "-u", unit, "-o", "cat", "--no-pager").CombinedOutput()
		t.Fatalf("systemd-run of the older unit: %v: %s\njournal of %s:\n%s", err, out, unit, journal)
	}
	if _, err := os.Stat(filepath.Join(shared, name, "state.json")); err != nil {
		t.Fatalf("runc's state is not where the older ctr-unit kept it: %v", err)
	}
	c := e.waitStatus(name, "running", 10*time.Second)
	if r := e.ctr("healthcheck", "run", name); r.code != 0 {
		t.Errorf("healthcheck of the older container: %s, want healthy (exit 0)", r)
	}

	// systemd restarts it by the older unit's own steps.
	systemctl(t, "kill", "--kill-who=main", "--signal=KILL", unit)
	e.waitFor(unit+" to restart", 10*time.Second, func() bool {
		c2 := e.inspect(name)
		return c2.State.Status == "running" && c2.State.Pid != c.State.Pid
	})
	if got := unitProperty(t, unit, "NRestarts"); got != "1" {
		t.Errorf("NRestarts = %s, want 1", got)
	}

	e.must("stop", name)
	if got := e.inspect(name).State; got.Status != "exited" || got.ExitCode != 0 {
		t.Errorf("after stop: %+v, want exited 0", got)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Errorf("runc state left after stop: %v", entries)
	}
	if pidAlive(c.State.Pid) {
		t.Errorf("the first init %d is still alive", c.State.Pid)
	}
}
