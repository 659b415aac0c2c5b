//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unitOfPid is the unit ps names for a process.
func unitOfPid(t *testing.T, pid int) string {
	t.Helper()
	out, err := exec.Command("ps", "-o", "unit=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		t.Fatalf("ps -o unit -p %d: %v", pid, err)
	}
	return strings.TrimSpace(string(out))
}

// waitJournal waits until unit's journal has want.
func (e *env) waitJournal(unit, want string) {
	e.t.Helper()
	e.waitFor("journalctl -u "+unit+" to show "+want, 5*time.Second, func() bool {
		return strings.Contains(journal(e.t, unit), want)
	})
}

// A name with dashes is the unit's name as it is: systemctl, journalctl
// and ps take and show ctr@my-web and ctr-my-web, for a container made
// with create, one run as a transient unit and one defined in a file.
func TestDashedNamesAreUnitNamesVerbatim(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	say := func(what string) []string {
		return []string{"sh", "-c", fmt.Sprintf(`echo hello from %s; %s`, what, termable)}
	}

	// Made with create: an instance of ctr@.service.
	web := e.name("my-web")
	e.must(append([]string{"create", "--name", web, "--rootfs", rootfs, "--"}, say(web)...)...)
	unit := "ctr@" + web
	systemctl(t, "start", unit)
	c := e.inspect(web)
	if c.State.Status != "running" || c.Unit != unit+".service" {
		t.Fatalf("after systemctl start %s: %s in %s", unit, c.State.Status, c.Unit)
	}
	if out := systemctl(t, "status", "--no-pager", unit); !strings.Contains(out, unit+".service - ctr-unit container "+web) {
		t.Errorf("systemctl status %s:\n%s", unit, out)
	}
	e.waitJournal(unit, "hello from "+web)
	if got := unitOfPid(t, c.State.Pid); got != unit+".service" {
		t.Errorf("ps shows the init of %s in %q", web, got)
	}
	if ps := e.must("ps", "--format", "{{.Name}} {{.Unit}}"); !strings.Contains(ps, web+" "+unit+".service") {
		t.Errorf("ctr-unit ps: %q", ps)
	}
	systemctl(t, "stop", unit)
	if got := e.inspect(web).State; got.Status != "exited" || got.ExitCode != 0 {
		t.Errorf("after systemctl stop %s: %+v", unit, got)
	}
	systemctl(t, "enable", unit)
	wants := filepath.Join("/etc/systemd/system/multi-user.target.wants", unit+".service")
	if _, err := os.Lstat(wants); err != nil {
		t.Errorf("systemctl enable %s: %v", unit, err)
	}
	if got := systemctl(t, "is-enabled", unit); got != "enabled" {
		t.Errorf("is-enabled %s: %s", unit, got)
	}
	e.must("rm", web)
	if _, err := os.Lstat(wants); !os.IsNotExist(err) {
		t.Errorf("rm left %s: %v", wants, err)
	}

	// Run as a transient unit.
	job := e.name("my-job")
	e.must(append([]string{"run", "-d", "--name", job, "--rootfs", rootfs, "--"}, say(job)...)...)
	tunit := "ctr-" + job
	if got := isActive(tunit); got != "active" {
		t.Fatalf("systemctl is-active %s: %s", tunit, got)
	}
	e.waitJournal(tunit, "hello from "+job)
	if got := unitOfPid(t, e.inspect(job).State.Pid); got != tunit+".service" {
		t.Errorf("ps shows the init of %s in %q", job, got)
	}
	systemctl(t, "stop", tunit)
	if got := e.inspect(job).State; got.Status != "exited" {
		t.Errorf("after systemctl stop %s: %+v", tunit, got)
	}

	// Defined in a file.
	def := e.name("my-def")
	e.defineFile(def, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sh -c 'echo hello from %%N; %s'\n", rootfs, termable))
	systemctl(t, "daemon-reload")
	dunit := "ctr@" + def
	systemctl(t, "start", dunit)
	if got := e.inspect(def); got.State.Status != "running" || got.Unit != dunit+".service" {
		t.Errorf("after systemctl start %s: %+v", dunit, got)
	}
	e.waitJournal(dunit, "hello from "+def)
	systemctl(t, "stop", dunit)
	if got := isActive(dunit); got != "inactive" {
		t.Errorf("after systemctl stop %s: %s", dunit, got)
	}
}
