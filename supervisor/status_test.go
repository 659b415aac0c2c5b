package supervisor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/units"
)

func TestDeriveStatus(t *testing.T) {
	started := State{StartedAt: time.Unix(1, 0)}
	cases := []struct {
		name   string
		unit   units.Status
		st     State
		exited bool
		frozen bool
		want   Status
	}{
		{"never started", units.Status{}, State{}, false, false, StatusCreated},
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

func TestFreezeViaLayout(t *testing.T) {
	if by, err := freezeVia(cgroupmgr.Unified, false, true); !by || err != nil {
		t.Errorf("v2: bySystemd %v err %v; want systemd's FreezeUnit", by, err)
	}
	if by, err := freezeVia(cgroupmgr.Hybrid, true, true); by || err != nil {
		t.Errorf("hybrid: bySystemd %v err %v; want the v1 freezer", by, err)
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
		_, err := freezeVia(c.mode, c.freezer, c.root)
		if !errors.Is(err, ErrCannotPause) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%v freezer=%v root=%v: %v, want ErrCannotPause saying %q", c.mode, c.freezer, c.root, err, c.why)
		}
	}
}
