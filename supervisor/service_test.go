package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
)

func TestBuildServiceCarriesTheContainer(t *testing.T) {
	cfg := &Config{
		Name: "web", Unit: units.TransientService("web"), Rootfs: "/r", Command: []string{"sh"},
		Restart: RestartPolicy{Name: PolicyOnFailure, MaxRetries: 2}, StopSignal: Signal(syscall.SIGINT), StopTimeout: 7,
	}
	p := Paths{StateDir: "/var/lib/ctr-unit", RuntimeDir: "/run/ctr-unit"}
	s := buildService(cfg, newSteps("/usr/bin/ctr-unit", "/usr/libexec/ctr-unit/ctr-unit-step", p, "/opt/runc"))

	// One step creates the container, names its init as the main process
	// and starts it; another records the exit. The lean binary does both.
	for step, cmds := range map[string][][]string{"start": {s.ExecStart}, "stop-post": s.ExecStopPost} {
		if len(cmds) != 1 || cmds[0][0] != "/usr/libexec/ctr-unit/ctr-unit-step" || cmds[0][len(cmds[0])-1] != "web" || !slices.Contains(cmds[0], step) {
			t.Errorf("%s step = %v", step, cmds)
		}
		if !slices.Contains(cmds[0], "/var/lib/ctr-unit") || !slices.Contains(cmds[0], "/run/ctr-unit") || !slices.Contains(cmds[0], "/opt/runc") {
			t.Errorf("%s step does not carry the state and runtime dirs and the runtime: %v", step, cmds)
		}
	}
	if stop := s.ExecStopPost[0]; !slices.Equal(stop[len(stop)-4:], []string{"stop-post", "--unit", cfg.Unit, "web"}) {
		t.Errorf("the stop step is not told the container's unit: %v", stop)
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

// ctr-unit does a step itself where the lean binary cannot (an image's
// layer to unmount, checks to schedule) or is not installed.
func TestStepsFallBackToCtrUnit(t *testing.T) {
	p := Paths{StateDir: "/s", RuntimeDir: "/r"}
	lean := newSteps("/usr/bin/ctr-unit", "/usr/libexec/ctr-unit/ctr-unit-step", p, "")
	plain := &Config{Name: "web", Unit: "ctr-web.service"}
	image := &Config{Name: "web", Unit: "ctr-web.service", Image: "busybox", LayerID: "abc"}
	checked := &Config{Name: "web", Unit: "ctr-web.service", Health: &healthcheck.Config{Probe: healthcheck.Probe{Interval: time.Second}}}
	if !checked.Health.Scheduled() {
		t.Fatal("the checked container's checks are not scheduled")
	}
	for _, c := range []struct {
		what        string
		st          steps
		cfg         *Config
		start, stop string
	}{
		{"plain", lean, plain, "/usr/libexec/ctr-unit/ctr-unit-step", "/usr/libexec/ctr-unit/ctr-unit-step"},
		{"image", lean, image, "/usr/libexec/ctr-unit/ctr-unit-step", "/usr/bin/ctr-unit"},
		{"checked", lean, checked, "/usr/bin/ctr-unit", "/usr/libexec/ctr-unit/ctr-unit-step"},
		{"without ctr-unit-step", newSteps("/usr/bin/ctr-unit", "", p, ""), plain, "/usr/bin/ctr-unit", "/usr/bin/ctr-unit"},
		{"for another machine", lean.withoutStep(), plain, "/usr/bin/ctr-unit", "/usr/bin/ctr-unit"},
	} {
		start, stop := c.st.start(c.cfg), c.st.stopPost(c.cfg)
		if start[0] != c.start || stop[0] != c.stop {
			t.Errorf("%s: start %v, stop %v; want %s and %s", c.what, start, stop, c.start, c.stop)
		}
		for _, argv := range [][]string{start, stop} {
			if argv[0] == "/usr/bin/ctr-unit" && argv[len(argv)-3] != "internal" {
				t.Errorf("%s: ctr-unit's step %v is not an internal command", c.what, argv)
			}
		}
	}
}
