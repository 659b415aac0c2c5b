//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	old := strings.Replace(string(current), "internal start "+name, "internal start-post "+name, 1)
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
