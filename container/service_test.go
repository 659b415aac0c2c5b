package container

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

var leanSteps = unitstep.Runner{
	Globals: unitstep.Globals{Dirs: unitstep.Dirs{StateDir: "/var/lib/ctr-unit", RuntimeDir: "/run/ctr-unit"}, Runtime: "/opt/runc"},
	Full:    "/usr/bin/ctr-unit",
	Lean:    "/usr/libexec/ctr-unit/ctr-unit-step",
}

func TestBuildServiceCarriesTheContainer(t *testing.T) {
	cfg := &Config{
		Name: "web", Unit: units.TransientService("web"), Rootfs: "/r", Command: []string{"sh"},
		Restart: RestartPolicy{Name: PolicyOnFailure, MaxRetries: 2}, StopSignal: Signal(syscall.SIGINT), StopTimeout: 7,
		MemoryMax: 1 << 20, PidsLimit: 9,
	}
	s := BuildService(cfg, leanSteps, []string{"ctr-db.service"})
	// One step creates the container, names its init as the main process
	// and starts it; another records the exit. The lean binary does both.
	for step, cmds := range map[unitstep.Name][][]string{unitstep.Start: {s.ExecStart}, unitstep.StopPost: s.ExecStopPost} {
		call, err := unitstep.Parse(cmds[0][1:], unitstep.Globals{})
		if len(cmds) != 1 || cmds[0][0] != leanSteps.Lean || err != nil || call.Step != step || call.Container != "web" {
			t.Errorf("%s step = %v (%+v, %v)", step, cmds, call, err)
		}
		if call.Globals != leanSteps.Globals {
			t.Errorf("%s step does not carry the state and runtime dirs and the runtime: %v", step, cmds)
		}
		if step == unitstep.StopPost && call.Unit != cfg.Unit {
			t.Errorf("the stop step is not told the container's unit: %v", cmds)
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
	if s.MemoryMax != 1<<20 || s.TasksMax != 9 || !slices.Equal(s.Requires, []string{"ctr-db.service"}) || !slices.Equal(s.After, []string{"ctr-db.service"}) {
		t.Errorf("limits %d %d requires %v after %v", s.MemoryMax, s.TasksMax, s.Requires, s.After)
	}
	spec := BuildSpec(cfg, nil)
	if spec.CgroupsPath != units.ControlGroup(s.Slice, cfg.Unit)+"/ctr" {
		t.Errorf("runc's cgroupsPath %q is not below the unit's own cgroup in %s", spec.CgroupsPath, s.Slice)
	}
}

// A template instance writes its bundle itself, in its start step (one
// process per start), and waits for the network at boot; a start step
// that waits for health leaves the bundle to a prepare step before it.
// ctr-unit-step writes it unless there is a layer to mount or checks to
// schedule.
func TestBuildServiceOfTemplateAndImage(t *testing.T) {
	stepsOf := func(bin string, argvs ...[]string) []unitstep.Name {
		var names []unitstep.Name
		for _, argv := range argvs {
			call, err := unitstep.Parse(argv[1:], unitstep.Globals{})
			if err != nil || argv[0] != bin {
				t.Errorf("step %v: %v (want %s's)", argv, err, bin)
			}
			names = append(names, call.Step)
		}
		return names
	}
	healthy := &healthcheck.Config{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second}, ReadyWhenHealthy: true}
	checked := &healthcheck.Config{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second}}
	for _, c := range []struct {
		what  string
		cfg   *Config
		pre   []unitstep.Name
		start unitstep.Name
		bin   string
	}{
		{"rootfs", &Config{Name: "web", Unit: units.TemplateInstance("web"), Rootfs: "/srv/web"}, nil, unitstep.PrepareStart, leanSteps.Lean},
		{"image", &Config{Name: "web", Unit: units.TemplateInstance("web"), Image: "app:1", LayerID: "abc"}, nil, unitstep.PrepareStart, leanSteps.Full},
		{"image not pulled yet", &Config{Name: "web", Unit: units.TemplateInstance("web"), Image: "app:1"}, nil, unitstep.PrepareStart, leanSteps.Full},
		{"scheduled checks", &Config{Name: "web", Unit: units.TemplateInstance("web"), Rootfs: "/srv/web", Health: checked}, nil, unitstep.PrepareStart, leanSteps.Full},
		{"ready when healthy", &Config{Name: "web", Unit: units.TemplateInstance("web"), Rootfs: "/srv/web", Health: healthy}, []unitstep.Name{unitstep.Prepare}, unitstep.StartHealthy, leanSteps.Full},
	} {
		s := BuildService(c.cfg, leanSteps, nil)
		if pre, start := stepsOf(leanSteps.Full, s.ExecStartPre...), stepsOf(c.bin, s.ExecStart); !slices.Equal(pre, c.pre) || !slices.Equal(start, []unitstep.Name{c.start}) {
			t.Errorf("%s: start-pre %v, start %v; want %v, %v", c.what, pre, start, c.pre, c.start)
		}
		if c.cfg.LeanPrepare() != (c.bin == leanSteps.Lean && c.start == unitstep.PrepareStart) {
			t.Errorf("%s: LeanPrepare %v disagrees with the unit's start step", c.what, c.cfg.LeanPrepare())
		}
	}

	cfg := &Config{Name: "web", Unit: units.TemplateInstance("web"), Image: "app:1", LayerID: "abc", Requires: []string{"db"}}
	s := BuildService(cfg, leanSteps, []string{"ctr@db.service"})
	if !slices.Equal(s.After, []string{"ctr@db.service", NetworkOnline}) || !slices.Equal(s.Wants, []string{NetworkOnline}) {
		t.Errorf("after %v wants %v", s.After, s.Wants)
	}
	cfg.NoNetworkWait = true
	if s := BuildService(cfg, leanSteps, nil); len(s.Wants) != 0 {
		t.Errorf("--no-network-wait: wants %v", s.Wants)
	}
}

// ctr-unit does a step itself where the lean binary cannot (an image's
// layer to unmount, checks to schedule) or is not installed; the layer is
// mounted by whoever wrote the bundle, so the start is lean.
func TestStepsFallBackToCtrUnit(t *testing.T) {
	plain := &Config{Name: "web", Unit: "ctr-web.service"}
	image := &Config{Name: "web", Unit: "ctr-web.service", Image: "busybox", LayerID: "abc"}
	checked := &Config{Name: "web", Unit: "ctr-web.service", Health: &healthcheck.Config{Probe: healthcheck.Probe{Interval: time.Second}}}
	noLean := leanSteps
	noLean.Lean = ""
	for _, c := range []struct {
		what        string
		steps       unitstep.Runner
		cfg         *Config
		start, stop string
	}{
		{"plain", leanSteps, plain, leanSteps.Lean, leanSteps.Lean},
		{"image", leanSteps, image, leanSteps.Lean, leanSteps.Full},
		{"checked", leanSteps, checked, leanSteps.Full, leanSteps.Lean},
		{"without ctr-unit-step", noLean, plain, leanSteps.Full, leanSteps.Full},
		{"for another machine", leanSteps.WithoutLean(), plain, leanSteps.Full, leanSteps.Full},
	} {
		s := BuildService(c.cfg, c.steps, nil)
		start, stop := s.ExecStart, s.ExecStopPost[0]
		if start[0] != c.start || stop[0] != c.stop {
			t.Errorf("%s: start %v, stop %v; want %s and %s", c.what, start, stop, c.start, c.stop)
		}
		for _, argv := range [][]string{start, stop} {
			if argv[0] == leanSteps.Full && !unitstep.IsInternal(argv[1:]) {
				t.Errorf("%s: ctr-unit's step %v is not an internal command", c.what, argv)
			}
		}
	}
}

func healthCheck(onFailure healthcheck.Action) *healthcheck.Config {
	return &healthcheck.Config{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: time.Second, Retries: 3}, OnFailure: onFailure}
}

// Restarts asked for by a check come through the watchdog: its own
// result, which no kill by a user has.
func TestHealthRestartsThroughTheWatchdog(t *testing.T) {
	withStartupRetries := healthCheck(healthcheck.ActionNone)
	withStartupRetries.Startup = &healthcheck.Startup{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: time.Second, Retries: 2}, Successes: 1}
	withStartupNoRetries := healthCheck(healthcheck.ActionNone)
	withStartupNoRetries.Startup = &healthcheck.Startup{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: time.Second}, Successes: 1}
	for _, tc := range []struct {
		name, policy string
		h            *healthcheck.Config
		restart      string
		watchdog     syscall.Signal
		noLimit      bool
		burst        uint32
	}{
		{"restart, policy no", "no", healthCheck(healthcheck.ActionRestart), units.RestartOnWatchdog, syscall.SIGKILL, true, 0},
		{"restart, on-failure:3", "on-failure:3", healthCheck(healthcheck.ActionRestart), units.RestartOnFailure, syscall.SIGKILL, false, 4},
		{"restart, always", "always", healthCheck(healthcheck.ActionRestart), units.RestartAlways, syscall.SIGKILL, true, 0},
		{"startup retries, policy no", "no", withStartupRetries, units.RestartOnWatchdog, syscall.SIGKILL, true, 0},
		{"startup without retries", "no", withStartupNoRetries, units.RestartNo, 0, false, 0},
		{"kill", "no", healthCheck(healthcheck.ActionKill), units.RestartNo, 0, false, 0},
		{"stop", "no", healthCheck(healthcheck.ActionStop), units.RestartNo, 0, false, 0},
		{"no healthcheck", "no", nil, units.RestartNo, 0, false, 0},
	} {
		p, err := ParseRestartPolicy(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &Config{Name: "web", Unit: units.TransientService("web"), Command: []string{"true"}, Restart: p, StopSignal: DefaultStopSignal, StopTimeout: 10, Health: tc.h}
		s := BuildService(cfg, leanSteps, nil)
		if cfg.MayRestart() != (s.Restart != units.RestartNo) {
			t.Errorf("%s: MayRestart %v with Restart=%s", tc.name, cfg.MayRestart(), s.Restart)
		}
		if s.Restart != tc.restart || s.WatchdogSignal != tc.watchdog || s.NoStartLimit != tc.noLimit || s.StartLimitBurst != tc.burst {
			t.Errorf("%s: Restart=%s WatchdogSignal=%d NoStartLimit=%v StartLimitBurst=%d; want %s %d %v %d", tc.name,
				s.Restart, s.WatchdogSignal, s.NoStartLimit, s.StartLimitBurst, tc.restart, tc.watchdog, tc.noLimit, tc.burst)
		}
	}
	// Ready once healthy: a notify unit whose start step checks.
	ready := healthCheck(healthcheck.ActionNone)
	ready.ReadyWhenHealthy = true
	s := BuildService(&Config{Name: "web", Unit: "ctr-web.service", Health: ready}, leanSteps, nil)
	if call, err := unitstep.Parse(s.ExecStart[1:], unitstep.Globals{}); s.Type != "notify" || err != nil || call.Step != unitstep.StartHealthy {
		t.Errorf("ready when healthy: type %q start %v", s.Type, s.ExecStart)
	}
}

// A definition file's own Restart= is the unit's last word on restarts.
func TestMayRestartFollowsTheFilesRestart(t *testing.T) {
	always, _ := ParseRestartPolicy("always")
	for _, tc := range []struct {
		policy RestartPolicy
		extra  []string
		want   bool
	}{
		{RestartPolicy{}, nil, false},
		{always, nil, true},
		{RestartPolicy{}, []string{"on-failure"}, true},
		{always, []string{"no"}, false},
		{always, []string{"on-failure", ""}, false},
		{RestartPolicy{}, []string{"no", "always"}, true},
	} {
		cfg := &Config{Restart: tc.policy}
		for _, v := range tc.extra {
			cfg.Extra = append(cfg.Extra, UnitSetting{Section: "Service", Name: "Restart", Value: v})
		}
		if got := cfg.MayRestart(); got != tc.want {
			t.Errorf("policy %q, file's Restart= %q: MayRestart %v", tc.policy, tc.extra, got)
		}
	}
}
