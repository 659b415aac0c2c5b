package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

func TestBuildServiceCarriesTheContainer(t *testing.T) {
	cfg := &Config{
		Name: "web", Unit: units.TransientService("web"), Rootfs: "/r", Command: []string{"sh"},
		Restart: RestartPolicy{Name: PolicyOnFailure, MaxRetries: 2}, StopSignal: Signal(syscall.SIGINT), StopTimeout: 7,
	}
	p := Paths{StateDir: "/var/lib/ctr-unit", RuntimeDir: "/run/ctr-unit"}
	s := buildService(cfg, newSteps("/usr/bin/ctr-unit", p, "/opt/runc"))

	// One step creates the container, names its init as the main process
	// and starts it; another records the exit.
	for step, cmds := range map[string][][]string{"start": {s.ExecStart}, "stop-post": s.ExecStopPost} {
		if len(cmds) != 1 || cmds[0][0] != "/usr/bin/ctr-unit" || !slices.Equal(cmds[0][len(cmds[0])-3:], []string{"internal", step, "web"}) {
			t.Errorf("%s step = %v", step, cmds)
		}
		if !slices.Contains(cmds[0], "/var/lib/ctr-unit") || !slices.Contains(cmds[0], "/run/ctr-unit") || !slices.Contains(cmds[0], "/opt/runc") {
			t.Errorf("%s step does not carry the state and runtime dirs and the runtime: %v", step, cmds)
		}
	}
	if len(s.ExecStartPre) != 0 {
		t.Errorf("a rootfs container has a start-pre step %v: it costs every start", s.ExecStartPre)
	}
	if !slices.Equal(s.UnsetEnvironment, []string{"NOTIFY_SOCKET"}) {
		t.Errorf("UnsetEnvironment = %v: runc must not see NOTIFY_SOCKET", s.UnsetEnvironment)
	}
	if s.KillSignal != syscall.SIGINT || s.TimeoutStop != 7*time.Second || s.SyslogIdentifier != "web" || s.Slice != "system.slice" {
		t.Errorf("signal %v timeout %v identifier %q slice %q", s.KillSignal, s.TimeoutStop, s.SyslogIdentifier, s.Slice)
	}
	if s.Restart != units.RestartOnFailure || s.StartLimitBurst != 3 {
		t.Errorf("restart %s burst %d", s.Restart, s.StartLimitBurst)
	}

	spec := buildSpec(cfg)
	if spec.CgroupsPath != units.ControlGroup(s.Slice, cfg.Unit)+"/ctr" {
		t.Errorf("runc's cgroupsPath %q is not below the unit's own cgroup in %s", spec.CgroupsPath, s.Slice)
	}
}
