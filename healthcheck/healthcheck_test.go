package healthcheck

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

func TestProbeArgv(t *testing.T) {
	if got := (Probe{Test: []string{"CMD-SHELL", "exit 1"}}).Argv(); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "exit 1"}) {
		t.Errorf("shell form argv = %q", got)
	}
	if got := (Probe{Test: []string{"CMD", "/x", "y"}}).Argv(); !reflect.DeepEqual(got, []string{"/x", "y"}) {
		t.Errorf("exec form argv = %q", got)
	}
}

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func result(at time.Duration, code int) Result {
	return Result{Start: t0.Add(at), End: t0.Add(at + 10*time.Millisecond), ExitCode: code}
}

func TestRecordDockerRules(t *testing.T) {
	c := &Config{Probe: Probe{Retries: 3}, OnFailure: ActionNone}
	st := Fresh(42, t0)
	var out Outcome
	// Failures before any success, no start period: they count.
	for i, want := range []string{Starting, Starting, Unhealthy} {
		st, out = c.Record(st, result(time.Duration(i)*time.Second, 1), false)
		if st.Status != want || st.FailingStreak != i+1 {
			t.Fatalf("failure %d: %s streak %d; want %s streak %d", i+1, st.Status, st.FailingStreak, want, i+1)
		}
	}
	if !out.Changed || out.Act != "" {
		t.Errorf("turning unhealthy: %+v, want changed and no action (none)", out)
	}
	st, _ = c.Record(st, result(5*time.Second, 0), false)
	if st.Status != Healthy || st.FailingStreak != 0 {
		t.Errorf("after a pass: %s streak %d", st.Status, st.FailingStreak)
	}
	st, _ = c.Record(st, result(6*time.Second, 1), false)
	if st.Status != Healthy || st.FailingStreak != 1 {
		t.Errorf("one failure after healthy: %s streak %d; want still healthy", st.Status, st.FailingStreak)
	}
}

func TestRecordStartPeriod(t *testing.T) {
	c := &Config{Probe: Probe{Retries: 1}, StartPeriod: 10 * time.Second, OnFailure: ActionKill}
	st := Fresh(1, t0)
	st, out := c.Record(st, result(2*time.Second, 1), false)
	if st.Status != Starting || st.FailingStreak != 0 || out.Act != "" {
		t.Errorf("failure inside the start period counted: %+v %+v", st, out)
	}
	st, out = c.Record(st, result(11*time.Second, 1), false)
	if st.Status != Unhealthy || out.Act != ActionKill {
		t.Errorf("failure after the start period: %s %+v; want unhealthy and kill", st.Status, out)
	}
	// A pass inside the start period ends it: later failures count.
	st = Fresh(2, t0)
	st, _ = c.Record(st, result(1*time.Second, 0), false)
	st, _ = c.Record(st, result(2*time.Second, 1), false)
	if st.Status != Unhealthy {
		t.Errorf("failure after the first pass inside the start period: %s, want unhealthy", st.Status)
	}
}

func TestRecordActsOnlyWhenTurningUnhealthy(t *testing.T) {
	c := &Config{Probe: Probe{Retries: 1}, OnFailure: ActionStop}
	st, out := c.Record(Fresh(1, t0), result(0, 1), false)
	if out.Act != ActionStop {
		t.Fatalf("first unhealthy: %+v", out)
	}
	st.Reported = st.Status
	_, out = c.Record(st, result(time.Second, 1), false)
	if out.Act != "" || out.Changed {
		t.Errorf("still unhealthy: %+v, want nothing to do", out)
	}
}

func TestLogKeepsFiveAndCapsOutput(t *testing.T) {
	c := &Config{Probe: Probe{Retries: 3}}
	st := Fresh(1, t0)
	for i := range 8 {
		r := result(time.Duration(i)*time.Second, 0)
		r.Output = strings.Repeat("x", 5000)
		st, _ = c.Record(st, r, false)
	}
	if len(st.Log) != MaxLogEntries || !st.Log[0].Start.Equal(t0.Add(3*time.Second)) {
		t.Errorf("log has %d entries starting %v; want the last 5", len(st.Log), st.Log[0].Start)
	}
	if len(st.Log[4].Output) != MaxOutputLen {
		t.Errorf("output kept %d bytes, want %d", len(st.Log[4].Output), MaxOutputLen)
	}
}

func TestStartupProbe(t *testing.T) {
	c := &Config{Probe: Probe{Retries: 1, Interval: 30 * time.Second}, Startup: &Startup{Probe: Probe{Retries: 2, Interval: time.Second}, Successes: 2}}
	st := Fresh(1, t0)
	if !c.InStartup(st) || c.ProbeFor(st).Interval != time.Second || c.Period() != time.Second {
		t.Fatal("a fresh run must begin with the startup probe, the timer at its interval")
	}
	st, out := c.Record(st, result(0, 1), true)
	if st.Status != Starting || out.Act != "" {
		t.Errorf("one startup failure: %s %+v", st.Status, out)
	}
	st, out = c.Record(st, result(time.Second, 1), true)
	if out.Act != ActionRestart {
		t.Errorf("startup failures reached retries: %+v, want restart", out)
	}
	st, _ = c.Record(st, result(2*time.Second, 0), true)
	if !c.InStartup(st) {
		t.Error("one pass ended a startup probe that needs two")
	}
	st, _ = c.Record(st, result(3*time.Second, 0), true)
	if c.InStartup(st) || st.Status != Starting {
		t.Errorf("two passes: in startup %v, status %s; want regular checks, still starting", c.InStartup(st), st.Status)
	}
	// The timer fires every second; regular checks wait their 30 s.
	last := st.Log[len(st.Log)-1].End
	if c.Due(st, last.Add(time.Second)) || !c.Due(st, last.Add(30*time.Second)) {
		t.Error("regular checks not spaced by their interval")
	}
}

func TestForRunStartsAfreshForANewInit(t *testing.T) {
	st := State{Status: Unhealthy, FailingStreak: 4, Pid: 10, Reported: Unhealthy, Log: []Result{{}}}
	if got := ForRun(st, 10, t0); !reflect.DeepEqual(got, st) {
		t.Errorf("same init: state changed to %+v", got)
	}
	got := ForRun(st, 11, t0)
	if got.Status != Starting || got.FailingStreak != 0 || len(got.Log) != 0 || got.Reported != "" || got.Pid != 11 {
		t.Errorf("new init: %+v, want a fresh state", got)
	}
}

func TestUnitNamesAndTimer(t *testing.T) {
	names := []struct{ name, unit, timer, service string }{
		{"my-web", "ctr-my-web.service", "ctr-health@my-web.timer", "ctr-health@my-web.service"},
		// A container's unit and another's checks never share a name.
		{"web", "ctr@web.service", "ctr-health@web.timer", "ctr-health@web.service"},
		// A container running since an older ctr-unit keeps its names.
		{"my-web", `ctr-my\x2dweb.service`, `ctr-my\x2dweb-health.timer`, `ctr-my\x2dweb-health.service`},
		{"a.b", `ctr@a.b.service`, "ctr-health@a.b.timer", "ctr-health@a.b.service"},
	}
	for _, n := range names {
		if timer, service := Units(n.name, n.unit); timer != n.timer || service != n.service {
			t.Errorf("Units(%s, %s) = %s, %s; want %s, %s", n.name, n.unit, timer, service, n.timer, n.service)
		}
	}
	c := &Config{Probe: Probe{Interval: time.Second, Timeout: 2 * time.Second}}
	m := map[string]any{}
	for _, p := range c.TimerProperties("ctr-x.service", 0) {
		m[p.Name] = p.Value
	}
	if got := m["TimersMonotonic"].([]units.Monotonic); !reflect.DeepEqual(got, []units.Monotonic{{Base: "OnActiveSec", USec: 0}, {Base: "OnUnitInactiveSec", USec: 1_000_000}}) {
		t.Errorf("TimersMonotonic = %v", got)
	}
	if m["AccuracyUSec"] != uint64(50_000) || m["DefaultDependencies"] != false {
		t.Errorf("accuracy %v default deps %v", m["AccuracyUSec"], m["DefaultDependencies"])
	}
	if !reflect.DeepEqual(m["BindsTo"], []string{"ctr-x.service"}) || !reflect.DeepEqual(m["After"], []string{"ctr-x.service"}) {
		t.Errorf("BindsTo %v After %v", m["BindsTo"], m["After"])
	}
	if Accuracy(30*time.Second) != time.Second || Accuracy(10*time.Millisecond) != time.Millisecond {
		t.Error("accuracy bounds")
	}
}
