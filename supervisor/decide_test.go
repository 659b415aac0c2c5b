package supervisor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
)

func TestDeriveStatus(t *testing.T) {
	started := container.State{StartedAt: time.Unix(1, 0)}
	cases := []struct {
		name   string
		unit   units.Status
		st     container.State
		exited bool
		frozen bool
		want   Status
	}{
		{"never started", units.Status{}, container.State{}, false, false, StatusCreated},
		{"running", units.Status{ActiveState: "active", SubState: "running"}, started, false, false, StatusRunning},
		{"frozen", units.Status{ActiveState: "active"}, started, false, true, StatusPaused},
		{"waiting for restart", units.Status{ActiveState: "activating", SubState: "auto-restart"}, started, true, false, StatusRestarting},
		{"starting", units.Status{ActiveState: "activating", SubState: "start"}, started, false, false, StatusStarting},
		{"stopping", units.Status{ActiveState: "deactivating"}, started, false, false, StatusStopping},
		{"failed unit", units.Status{ActiveState: "failed"}, started, true, false, StatusExited},
		{"unit gone after exit", units.Status{}, started, true, false, StatusExited},
		// A frozen cgroup of a unit systemd no longer runs is not paused.
		{"gone while frozen", units.Status{}, started, true, true, StatusExited},
	}
	for _, c := range cases {
		if got := DeriveStatus(c.unit, c.st, c.exited, c.frozen); got != c.want {
			t.Errorf("%s: DeriveStatus = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestStateChecks(t *testing.T) {
	if err := checkRemove("web", StatusRunning, false); !errors.Is(err, ErrRunning) {
		t.Errorf("rm of running: %v, want ErrRunning", err)
	}
	for _, s := range []Status{StatusRunning, StatusPaused, StatusExited, StatusCreated} {
		if err := checkRemove("web", s, true); err != nil {
			t.Errorf("rm -f of %s: %v", s, err)
		}
	}
	if err := checkRemove("web", StatusExited, false); err != nil {
		t.Errorf("rm of exited: %v", err)
	}
	if err := checkSignal("web", StatusPaused); !errors.Is(err, ErrPaused) {
		t.Errorf("checkSignal(paused) = %v, want ErrPaused", err)
	}
	if err := checkSignal("web", StatusRunning); err != nil {
		t.Errorf("checkSignal(running) = %v", err)
	}
	if err := checkSignal("web", StatusExited); !errors.Is(err, ErrNotRunning) {
		t.Errorf("kill of exited: %v, want ErrNotRunning", err)
	}
	if err := checkPause("web", StatusPaused); !errors.Is(err, ErrPaused) {
		t.Errorf("pause of paused: %v", err)
	}
	if err := checkPause("web", StatusCreated); !errors.Is(err, ErrNotRunning) {
		t.Errorf("pause of created: %v", err)
	}
	if err := checkUnpause("web", StatusRunning); !errors.Is(err, ErrNotPaused) {
		t.Errorf("unpause of running: %v", err)
	}
	if err := checkUnpause("web", StatusPaused); err != nil {
		t.Errorf("unpause of paused: %v", err)
	}
}

func TestDecideStartAndStop(t *testing.T) {
	for _, c := range []struct {
		status Status
		attach bool
		want   startAction
		err    error
	}{
		{StatusCreated, false, startUnit, nil},
		{StatusExited, false, startUnit, nil},
		{StatusRunning, false, startNothing, nil},
		{StatusRunning, true, startUnit, ErrRunning},
		{StatusPaused, false, startUnit, ErrRunning},
		{StatusRestarting, false, startUnit, ErrRunning},
		{StatusStopping, false, startUnit, ErrRunning},
	} {
		got, err := decideStart("web", c.status, c.attach)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("start of %s (attach %v): %v, %v; want %v, %v", c.status, c.attach, got, err, c.want, c.err)
		}
	}
	if p := decideStop(StatusPaused, true); !p.thawFirst || !p.stopUnit {
		t.Errorf("stop of paused: %+v, want thaw then stop", p)
	}
	if p := decideStop(StatusRunning, true); p.thawFirst || !p.stopUnit {
		t.Errorf("stop of running: %+v", p)
	}
	if p := decideStop(StatusExited, false); p.thawFirst || p.stopUnit {
		t.Errorf("stop of a container without a unit: %+v, want nothing to stop", p)
	}
}

func TestDecideFreeze(t *testing.T) {
	if how, err := decideFreeze(cgroupmgr.Unified, false, true); how != freezeBySystemd || err != nil {
		t.Errorf("v2: %v %v; want systemd's FreezeUnit", how, err)
	}
	if how, err := decideFreeze(cgroupmgr.Hybrid, true, true); how != freezeByV1 || err != nil {
		t.Errorf("hybrid: %v %v; want the v1 freezer", how, err)
	}
	for _, c := range []struct {
		mode          cgroupmgr.Mode
		freezer, root bool
		why           string
	}{
		{cgroupmgr.Legacy, true, false, "needs root"},
		{cgroupmgr.Hybrid, false, true, "not mounted"},
		{cgroupmgr.Unavailable, true, true, "no cgroup filesystem"},
	} {
		_, err := decideFreeze(c.mode, c.freezer, c.root)
		if !errors.Is(err, ErrCannotPause) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%v freezer=%v root=%v: %v, want ErrCannotPause saying %q", c.mode, c.freezer, c.root, err, c.why)
		}
	}
}

func TestStartsAtBoot(t *testing.T) {
	transient := func(policy string) *container.Config {
		p, _ := container.ParseRestartPolicy(policy)
		return &container.Config{Unit: units.TransientService("x"), Restart: p}
	}
	cases := []struct {
		cfg  *container.Config
		st   container.State
		want bool
	}{
		{transient("always"), container.State{}, true},
		{transient("always"), container.State{StoppedByUser: true}, true},
		{transient("unless-stopped"), container.State{}, true},
		{transient("unless-stopped"), container.State{StoppedByUser: true}, false},
		{transient("on-failure:3"), container.State{}, false},
		{transient("no"), container.State{}, false},
		// systemctl enable decides for unit-file containers.
		{&container.Config{Unit: units.TemplateInstance("x"), Restart: container.RestartPolicy{Name: container.PolicyAlways}}, container.State{}, false},
	}
	for _, c := range cases {
		if got := startsAtBoot(c.cfg, c.st); got != c.want {
			t.Errorf("%s %s stoppedByUser=%v: %v, want %v", c.cfg.Unit, c.cfg.Restart, c.st.StoppedByUser, got, c.want)
		}
	}
}

// stop -t waits what it is asked, longer or shorter than the container's
// own timeout.
func TestDecideStopWait(t *testing.T) {
	own := 10 * time.Second
	d := func(s time.Duration) *time.Duration { return &s }
	for _, c := range []struct {
		asked *time.Duration
		how   stopWait
		wait  time.Duration
	}{
		{nil, waitOwn, own},
		{d(own), waitOwn, own},
		{d(0), waitShorter, 0},
		{d(2 * time.Second), waitShorter, 2 * time.Second},
		{d(20 * time.Second), waitLonger, 20 * time.Second},
	} {
		how, wait := decideStopWait(own, c.asked)
		if how != c.how || wait != c.wait {
			t.Errorf("asked %v: %v %v, want %v %v", c.asked, how, wait, c.how, c.wait)
		}
	}
	if got := stopKillWarning(container.Signal(15), "web", 5*time.Second); got != "StopSignal SIGTERM failed to stop container web in 5 seconds, resorting to SIGKILL" {
		t.Errorf("warning %q", got)
	}
	if got := stopKillWarning(container.Signal(15), "web", 0); got != "" {
		t.Errorf("-t 0 warns: %q", got)
	}
	// kill reaches a container that hangs in its stop, as in podman.
	if err := checkSignal("web", StatusStopping); err != nil {
		t.Errorf("checkSignal(stopping) = %v", err)
	}
}

// A pull that failed after the last run is how the last start ended; a
// run since keeps its own exit.
func TestPullFailure(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	before, failed, after := t0, t0.Add(time.Minute), t0.Add(2*time.Minute)
	ran := &container.Exit{ExitCode: 0, StartedAt: before, FinishedAt: before.Add(time.Second)}
	for _, c := range []struct {
		what     string
		ex       *container.Exit
		st       container.State
		msg      string
		wantCode int
		wantErr  string
	}{
		{"no failure", ran, container.State{StartedAt: before}, "", 0, ""},
		{"failed after the last run", ran, container.State{StartedAt: before}, "no such image", 125, "no such image"},
		{"failed before any run", nil, container.State{}, "no such image", 125, "no such image"},
		{"started since", ran, container.State{StartedAt: after}, "no such image", 0, ""},
		{"ran since", &container.Exit{ExitCode: 3, StartedAt: after, FinishedAt: after}, container.State{StartedAt: before}, "no such image", 3, ""},
	} {
		got := pullFailure(c.ex, c.st, c.msg, failed)
		if got == nil || got.ExitCode != c.wantCode || got.Error != c.wantErr {
			t.Errorf("%s: %+v; want exit %d, error %q", c.what, got, c.wantCode, c.wantErr)
		}
	}
}
