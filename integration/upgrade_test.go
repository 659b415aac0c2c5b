//go:build integration

package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	old := strings.Replace(string(current), " prepare-start "+name+"\n", " no-such-step "+name+"\n", 1)
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

// previousVersion builds, once, the ctr-unit (and ctr-unit-step) of the
// last commit before unit names were verbatim (hack/previous-version),
// from this checkout's git history, and returns its directory and commit.
// The box has no network: the modules it builds with are in the module
// cache already (make runs hack/previous-version --download).
func previousVersion(t *testing.T) (dir, rev string) {
	t.Helper()
	previous.once.Do(func() {
		out, err := exec.Command("../hack/previous-version").Output()
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				err = fmt.Errorf("%w: %s", err, exit.Stderr)
			}
			previous.err = fmt.Errorf("hack/previous-version: %w", err)
			return
		}
		previous.rev = strings.TrimSpace(string(out))
		previous.dir = filepath.Join(filepath.Dir(binary), "previous")
		src := filepath.Join(previous.dir, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			previous.err = err
			return
		}
		archive := fmt.Sprintf("git -C .. archive %s | tar -x -C %s", previous.rev, src)
		if out, err := exec.Command("sh", "-c", archive).CombinedOutput(); err != nil {
			previous.err = fmt.Errorf("%s: %v: %s", archive, err, out)
			return
		}
		build := exec.Command("go", "build", "-o", previous.dir+"/", "./cmd/ctr-unit", "./cmd/ctr-unit-step")
		build.Dir = src
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOPROXY=off")
		if out, err := build.CombinedOutput(); err != nil {
			previous.err = fmt.Errorf("build %s: %v: %s", previous.rev, err, out)
		}
	})
	if previous.err != nil {
		t.Fatal(previous.err)
	}
	return previous.dir, previous.rev
}

var previous struct {
	once     sync.Once
	dir, rev string
	err      error
}

// escaped is a container's name as the previous version wrote it in unit
// names.
func escaped(name string) string { return strings.ReplaceAll(name, "-", `\x2d`) }

// Containers made by the version that escaped unit names
// (ctr@my\x2dweb.service) keep working through the upgrade: the package's
// refresh-units renames the unit of a stopped one, with its drop-ins and
// enablement; a running one (transient with checks, or defined in a
// file) keeps its unit, drop-in and checks until it stops, and is renamed
// by the next command.
func TestContainersOfTheVersionThatEscapedNamesSurviveTheUpgrade(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	oldDir, rev := previousVersion(t)
	old := func(args ...string) {
		t.Helper()
		full := append([]string{"--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir}, args...)
		if out, err := exec.Command(filepath.Join(oldDir, "ctr-unit"), full...).CombinedOutput(); err != nil {
			t.Fatalf("previous ctr-unit %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	newTemplate, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	oldTemplate, err := exec.Command("git", "-C", "..", "show", rev+":packaging/ctr@.service").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The previous version's package.
	if err := os.WriteFile(templatePath, oldTemplate, 0o644); err != nil {
		t.Fatal(err)
	}
	e.useGenerator(filepath.Join(oldDir, "ctr-unit"), "previous-ctr-unit")
	systemctl(t, "daemon-reload")

	// Made with create, enabled, not running.
	web := e.name("old-web")
	oldWeb := `ctr@` + escaped(web) + ".service"
	old("create", "--name", web, "--rootfs", rootfs, "--", "sh", "-c", termable)
	systemctl(t, "enable", oldWeb)
	// Running as a transient unit, with checks.
	run := e.name("old-run")
	oldRun := "ctr-" + escaped(run) + ".service"
	old("run", "-d", "--name", run, "--health-cmd", "true", "--health-interval", "1s", "--rootfs", rootfs, "--", "sh", "-c", termable)
	oldTimer := "ctr-" + escaped(run) + "-health.timer"
	// Defined in a file, running.
	def := e.name("old-def")
	oldDef := `ctr@` + escaped(def) + ".service"
	e.defineFile(def, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sh -c '%s'\n", rootfs, termable))
	systemctl(t, "daemon-reload")
	systemctl(t, "start", oldDef)
	for _, u := range []string{oldRun, oldTimer, oldDef} {
		if got := isActive(u); got != "active" {
			t.Fatalf("before the upgrade, %s is %s", u, got)
		}
	}

	// The upgrade: the new package's files, then its postinst.
	if err := os.WriteFile(templatePath, newTemplate, 0o644); err != nil {
		t.Fatal(err)
	}
	e.useGenerator(binary, "ctr-unit")
	systemctl(t, "daemon-reload")
	if out := e.must("internal", "refresh-units"); strings.TrimSpace(out) != web {
		t.Errorf("refresh-units printed %q, want %s (the running ones wait)", out, web)
	}

	// The stopped one has its new name, with its drop-in and enablement.
	newWeb := "ctr@" + web + ".service"
	if got := e.inspect(web).Unit; got != newWeb {
		t.Errorf("unit of %s: %s, want %s", web, got, newWeb)
	}
	for _, p := range []string{"/etc/systemd/system/" + oldWeb + ".d", "/etc/systemd/system/multi-user.target.wants/" + oldWeb} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is left: %v", p, err)
		}
	}
	if got := systemctl(t, "is-enabled", newWeb); got != "enabled" {
		t.Errorf("%s is %s after the upgrade, want enabled", newWeb, got)
	}
	systemctl(t, "start", "ctr@"+web)
	if got := e.inspect(web).State.Status; got != "running" {
		t.Errorf("systemctl start ctr@%s: %s", web, got)
	}

	// The running ones keep their units until they stop.
	if got := e.inspect(run); got.Unit != oldRun || got.State.Status != "running" {
		t.Errorf("%s after the upgrade: %s in %s, want running in %s", run, got.State.Status, got.Unit, oldRun)
	}
	if r := e.ctr("healthcheck", "run", run); r.code != 0 {
		t.Errorf("healthcheck run %s: %s", run, r)
	}
	if paths := unitProperty(t, oldDef, "DropInPaths"); !strings.Contains(paths, "50-ctr-unit.conf") {
		t.Errorf("the generator dropped the running %s's drop-in: %q", oldDef, paths)
	}
	e.must("stop", run, def)
	for _, u := range []string{oldRun, oldTimer, oldDef} {
		if got := isActive(u); got != "inactive" {
			t.Errorf("after stop, %s is %s", u, got)
		}
	}
	for _, n := range []string{run, def} {
		if got := e.inspect(n).State; got.Status != "exited" || got.ExitCode != 0 {
			t.Errorf("%s after stop: %+v, want exited 0", n, got)
		}
	}
	// Stopped, they are renamed by the next command (inspect's).
	if got := e.inspect(run).Unit; got != "ctr-"+run+".service" {
		t.Errorf("unit of %s after its stop: %s", run, got)
	}
	if got := e.inspect(def).Unit; got != "ctr@"+def+".service" {
		t.Errorf("unit of %s after its stop: %s", def, got)
	}
	e.must("start", run)
	if got := isActive("ctr-health@" + run + ".timer"); got != "active" {
		t.Errorf("checks of %s after its start: %s", run, got)
	}
	systemctl(t, "daemon-reload")
	systemctl(t, "start", "ctr@"+def)
	if got := e.inspect(def).State.Status; got != "running" {
		t.Errorf("systemctl start ctr@%s: %s", def, got)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "unit_names")); err != nil {
		t.Errorf("no marker once every unit has its name: %v", err)
	}
}
