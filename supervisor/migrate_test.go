package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/units"
)

// ageUnit makes name's record and unit files look as an older ctr-unit
// left them: the unit's name escaped, its drop-in directory (with an
// admin's drop-in beside ctr-unit's) and its enablement under that name.
func ageUnit(t *testing.T, sv *Supervisor, name string) (old string) {
	t.Helper()
	cfg, err := sv.store.Config(name)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg.Unit
	old = units.Legacy(cur)
	if units.IsTemplateInstance(cur) {
		from, to := filepath.Join(sv.unitDir, units.DropInDir(cur)), filepath.Join(sv.unitDir, units.DropInDir(old))
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, "60-admin.conf"), []byte("[Service]\nNice=5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wants := filepath.Join(sv.unitDir, "multi-user.target.wants")
		if err := os.MkdirAll(wants, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/usr/lib/systemd/system/ctr@.service", filepath.Join(wants, old)); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Unit = old
	if err := sv.store.SaveDefined(cfg); err != nil {
		t.Fatal(err)
	}
	return old
}

// Units named by an older ctr-unit get their current names once they do
// not run; a running one keeps its unit until it stops, and the marker
// that ends the search is written only when none is left.
func TestLegacyUnitsAreRenamedOnceStopped(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	sd.template = true
	ctx := context.Background()
	create(t, sv, "my-web", true)
	create(t, sv, "my-job", false)
	create(t, sv, "plain", false)
	oldWeb, oldJob := ageUnit(t, sv, "my-web"), ageUnit(t, sv, "my-job")
	if oldWeb != `ctr@my\x2dweb.service` || oldJob != `ctr-my\x2djob.service` {
		t.Fatalf("aged to %s, %s", oldWeb, oldJob)
	}
	sd.run(oldJob, "/run/systemd/transient/"+oldJob, nil) // still running
	sd.units[oldWeb] = &fakeUnit{st: units.Status{Unit: oldWeb, LoadState: "loaded", ActiveState: "failed"}}
	sd.called()

	if err := sv.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := sd.called(), "ResetFailed "+oldWeb+"; Reload"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	web, _ := sv.store.Config("my-web")
	job, _ := sv.store.Config("my-job")
	if web.Unit != "ctr@my-web.service" || job.Unit != oldJob {
		t.Errorf("units after refresh: %s, %s; want ctr@my-web.service and the running %s", web.Unit, job.Unit, oldJob)
	}
	dir := filepath.Join(sv.unitDir, "ctr@my-web.service.d")
	if drop, err := os.ReadFile(filepath.Join(dir, units.DropInFile)); err != nil || !strings.Contains(string(drop), `stop-post my-web ctr@my-web.service`) {
		t.Errorf("ctr-unit's drop-in under the new name: %v\n%s", err, drop)
	}
	if _, err := os.Stat(filepath.Join(dir, "60-admin.conf")); err != nil {
		t.Errorf("the admin's drop-in did not move: %v", err)
	}
	if _, err := os.Stat(filepath.Join(sv.unitDir, units.DropInDir(oldWeb))); !os.IsNotExist(err) {
		t.Errorf("the old drop-in directory is left: %v", err)
	}
	wants := filepath.Join(sv.unitDir, "multi-user.target.wants")
	if target, err := os.Readlink(filepath.Join(wants, "ctr@my-web.service")); err != nil || target != "/usr/lib/systemd/system/ctr@.service" {
		t.Errorf("enablement under the new name: %q, %v", target, err)
	}
	if _, err := os.Lstat(filepath.Join(wants, oldWeb)); !os.IsNotExist(err) {
		t.Errorf("the old enablement is left: %v", err)
	}
	marker := filepath.Join(sv.dirs.StateDir, verbatimMarker)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker written while %s runs: %v", oldJob, err)
	}
	// Check units follow the unit: the running container keeps its own.
	if got := healthUnits(job); got[0] != `ctr-my\x2djob-health.timer` {
		t.Errorf("check units of the running container: %v", got)
	}

	// Once it stopped, the next command renames it and the search ends.
	if err := sd.Stop(ctx, oldJob); err != nil {
		t.Fatal(err)
	}
	sd.called()
	if err := sv.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if job, _ = sv.store.Config("my-job"); job.Unit != "ctr-my-job.service" {
		t.Errorf("after its stop: %s", job.Unit)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("no marker once all are renamed: %v", err)
	}
	sd.called()
	if err := sv.Refresh(ctx, nil); err != nil || sd.called() != "" {
		t.Errorf("a refresh after the marker talked to systemd: %v", err)
	}
}

// refresh-units (the package's postinst) renames what it can and says so.
func TestRefreshDropInsRenamesLegacyUnits(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	sd.template = true
	create(t, sv, "my-web", true)
	ageUnit(t, sv, "my-web")
	sd.called()
	changed, err := sv.RefreshDropIns(context.Background())
	if err != nil || strings.Join(changed, " ") != "my-web" {
		t.Errorf("RefreshDropIns: %v, %v", changed, err)
	}
	if got := sd.called(); got != "Reload" {
		t.Errorf("calls %s, want one reload", got)
	}
	if changed, err = sv.RefreshDropIns(context.Background()); err != nil || len(changed) != 0 {
		t.Errorf("second RefreshDropIns: %v, %v", changed, err)
	}
}
