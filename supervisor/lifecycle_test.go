package supervisor

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
)

// create stores a rootfs container named name in sv.
func create(t *testing.T, sv *Supervisor, name string, template bool) *container.Config {
	t.Helper()
	cfg, err := sv.Create(context.Background(), CreateRequest{
		Options:  container.Options{Name: name, Rootfs: t.TempDir(), Command: []string{"sleep", "1000"}},
		Template: template,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestStartStartsTheUnitOnce(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	cfg := create(t, sv, "web", false)
	if got := sd.called(); got != "" {
		t.Errorf("create talked to systemd: %s", got)
	}
	if err := sv.Start(ctx, "web", StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := sd.called(); got != "StartTransient ctr-web.service" {
		t.Errorf("start: %s", got)
	}
	// The unit's start step finds the bundle the start wrote.
	if _, err := os.Stat(sv.dirs.Bundle("web") + "/config.json"); err != nil {
		t.Errorf("no bundle: %v", err)
	}
	if st, _ := sv.store.State("web"); st.StartedAt.IsZero() || st.StoppedByUser {
		t.Errorf("state after start: %+v", st)
	}
	// Starting a running container does nothing, as in podman.
	err := sv.Start(ctx, "web", StartOptions{})
	if got := sd.called(); err != nil || got != "" {
		t.Errorf("second start: %v, calls %s", err, got)
	}
	info, err := sv.Inspect(ctx, "web")
	if err != nil || info.Status != StatusRunning || info.Config.Unit != cfg.Unit {
		t.Errorf("inspect: %+v, %v", info, err)
	}
}

// A failed unit of the container's name lingers in systemd and keeps the
// name: run -d, which skips the status query, falls back to the full
// start, which resets it first.
func TestRunDetachedOverAFailedUnit(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	sd.units["ctr-web.service"] = &fakeUnit{st: units.Status{Unit: "ctr-web.service", LoadState: "loaded", ActiveState: "failed", FragmentPath: "/run/systemd/transient/ctr-web.service"}}
	_, err := sv.RunDetached(context.Background(), CreateRequest{Options: container.Options{Name: "web", Rootfs: t.TempDir(), Command: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "StartTransient ctr-web.service; ResetFailed ctr-web.service; StartTransient ctr-web.service"
	if got := sd.called(); got != want {
		t.Errorf("calls %s\nwant  %s", got, want)
	}
}

func TestStopRecordsTheUserStopAndThawsFirst(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	create(t, sv, "web", false)
	if err := sv.Start(ctx, "web", StartOptions{}); err != nil {
		t.Fatal(err)
	}
	sd.units["ctr-web.service"].st.NRestarts = 2
	if err := sv.Pause(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	sd.called()
	if err := sv.Stop(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	want := "Thaw ctr-web.service; Stop ctr-web.service; ResetFailed ctr-web.service"
	if got := sd.called(); got != want {
		t.Errorf("stop of a paused container: %s\nwant %s", got, want)
	}
	st, _ := sv.store.State("web")
	if !st.StoppedByUser || st.RestartCount != 2 {
		t.Errorf("state after stop: %+v; want stopped by the user, 2 restarts kept", st)
	}
	// Stopping a stopped container succeeds and asks nothing of the unit.
	if err := sv.Stop(ctx, "web", nil); err != nil || strings.Contains(sd.called(), "Stop") {
		t.Errorf("second stop: %v", err)
	}
}

// A stop with a timeout shorter than the container's kills its init when
// the timeout runs out.
func TestStopWithAShortTimeoutKillsTheInit(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	create(t, sv, "web", false)
	_ = sv.Start(ctx, "web", StartOptions{})
	sd.called()
	// The fake's stop job returns at once: the kill must not come after.
	zero := time.Duration(0)
	if err := sv.Stop(ctx, "web", &zero); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if got := sd.called(); strings.Count(got, "Stop ctr-web.service") != 1 {
		t.Errorf("calls %s", got)
	}
}

func TestRestartIsAStopThenAStart(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	create(t, sv, "web", false)
	_ = sv.Start(ctx, "web", StartOptions{})
	sd.called()
	if err := sv.Restart(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	want := "Stop ctr-web.service; ResetFailed ctr-web.service; StartTransient ctr-web.service"
	if got := sd.called(); got != want {
		t.Errorf("restart: %s\nwant %s", got, want)
	}
	if st, _ := sv.store.State("web"); st.StoppedByUser {
		t.Error("a restart left the container marked as stopped by the user")
	}
}

func TestPauseFollowsTheLayout(t *testing.T) {
	for _, c := range []struct {
		mode          cgroupmgr.Mode
		pause, resume string
	}{
		{cgroupmgr.Unified, "Freeze ctr-web.service", "Thaw ctr-web.service"},
		{cgroupmgr.Hybrid, "cgroup Freeze /system.slice/ctr-web.service/ctr", "cgroup Thaw /system.slice/ctr-web.service/ctr"},
	} {
		sv, sd := testSupervisor(t, c.mode)
		ctx := context.Background()
		create(t, sv, "web", false)
		if err := sv.Pause(ctx, "web"); !errors.Is(err, ErrNotRunning) {
			t.Errorf("%v: pause of a created container: %v", c.mode, err)
		}
		_ = sv.Start(ctx, "web", StartOptions{})
		sd.called()
		err := sv.Pause(ctx, "web")
		if got := sd.called(); err != nil || got != c.pause {
			t.Errorf("%v: pause: %v, calls %s", c.mode, err, got)
		}
		if info, _ := sv.Inspect(ctx, "web"); info.Status != StatusPaused {
			t.Errorf("%v: status %s after pause", c.mode, info.Status)
		}
		if err := sv.Pause(ctx, "web"); !errors.Is(err, ErrPaused) {
			t.Errorf("%v: second pause: %v", c.mode, err)
		}
		if err := sv.Kill(ctx, "web", 9, false); !errors.Is(err, ErrPaused) {
			t.Errorf("%v: kill of a paused container: %v", c.mode, err)
		}
		err = sv.Unpause(ctx, "web")
		if got := sd.called(); err != nil || got != c.resume {
			t.Errorf("%v: unpause: %v, calls %s", c.mode, err, got)
		}
	}
}

func TestRemoveRefusesALiveContainerUnlessForced(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	create(t, sv, "web", false)
	_ = sv.Start(ctx, "web", StartOptions{})
	sd.called()
	if err := sv.Remove(ctx, "web", false); !errors.Is(err, ErrRunning) {
		t.Fatalf("rm of a running container: %v", err)
	}
	if _, err := sv.store.Config("web"); err != nil || sd.called() != "" {
		t.Fatalf("a refused rm changed something: %v", err)
	}
	if err := sv.Remove(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	if got := sd.called(); !strings.Contains(got, "Stop ctr-web.service") {
		t.Errorf("rm -f: %s, want the unit stopped first", got)
	}
	if _, err := sv.store.Config("web"); !errors.Is(err, container.ErrNoSuchContainer) {
		t.Errorf("record after rm -f: %v", err)
	}
	if _, err := os.Stat(sv.dirs.Bundle("web")); !os.IsNotExist(err) {
		t.Errorf("bundle after rm -f: %v", err)
	}
}

// With ctr@.service installed, create gives a container a template
// instance: a drop-in on disk, loaded, started as a unit with a file.
func TestCreateUsesTheTemplate(t *testing.T) {
	sv, sd := testSupervisor(t, cgroupmgr.Unified)
	sd.template = true
	ctx := context.Background()
	cfg := create(t, sv, "web", true)
	if got := sd.called(); cfg.Unit != "ctr@web.service" || got != "Reload" {
		t.Fatalf("unit %s, calls %s", cfg.Unit, got)
	}
	dropIn, err := os.ReadFile(sv.dropInPath(cfg))
	if err != nil || !strings.Contains(string(dropIn), " prepare-start web\n") {
		t.Errorf("drop-in: %v\n%s", err, dropIn)
	}
	err = sv.Start(ctx, "web", StartOptions{})
	if got := sd.called(); err != nil || got != "Start ctr@web.service" {
		t.Errorf("start: %v, calls %s", err, got)
	}
	if err := sv.Remove(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sv.dropInPath(cfg)); !os.IsNotExist(err) {
		t.Errorf("drop-in left after rm: %v", err)
	}
	if got := sd.called(); !strings.Contains(got, "Disable ctr@web.service") || !strings.HasSuffix(got, "Reload") {
		t.Errorf("rm: %s", got)
	}
}

// A refused create leaves nothing stored.
func TestBadCreateStoresNothing(t *testing.T) {
	sv, _ := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	for what, o := range map[string]container.Options{
		"no rootfs dir": {Name: "web", Rootfs: "/nonexistent", Command: []string{"true"}},
		"bad env":       {Name: "web", Rootfs: t.TempDir(), Env: []string{"=x"}},
		"unknown dep":   {Name: "web", Rootfs: t.TempDir(), Command: []string{"true"}, Requires: []string{"db"}},
	} {
		if _, err := sv.Create(ctx, CreateRequest{Options: o}); err == nil {
			t.Errorf("%s: accepted", what)
		}
		if names, _ := sv.store.Names(); len(names) != 0 {
			t.Errorf("%s: stored %v", what, names)
		}
	}
}
