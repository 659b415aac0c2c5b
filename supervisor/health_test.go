package supervisor

import (
	"syscall"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
)

func healthService(t *testing.T, policy string, h *healthcheck.Config) units.Service {
	t.Helper()
	p, err := ParseRestartPolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Name: "web", Unit: units.TransientService("web"), Command: []string{"true"}, Restart: p, StopSignal: Signal(syscall.SIGTERM), StopTimeout: 10, Health: h}
	return buildService(cfg, newSteps("/usr/bin/ctr-unit", "", Paths{StateDir: "/var/lib/ctr-unit", RuntimeDir: "/run/ctr-unit"}, ""))
}

func check(onFailure healthcheck.Action) *healthcheck.Config {
	return &healthcheck.Config{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: time.Second, Retries: 3}, OnFailure: onFailure}
}

// Restarts asked for by a check come through the watchdog: its own
// result, which no kill by a user has.
func TestApplyHealthRestartsThroughTheWatchdog(t *testing.T) {
	withStartupRetries := check(healthcheck.ActionNone)
	withStartupRetries.Startup = &healthcheck.Startup{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: time.Second, Retries: 2}, Successes: 1}
	withStartupNoRetries := check(healthcheck.ActionNone)
	withStartupNoRetries.Startup = &healthcheck.Startup{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: time.Second}, Successes: 1}
	for _, tc := range []struct {
		name, policy string
		h            *healthcheck.Config
		restart      string
		watchdog     syscall.Signal
		noLimit      bool
		burst        uint32
	}{
		{"restart, policy no", "no", check(healthcheck.ActionRestart), units.RestartOnWatchdog, syscall.SIGKILL, true, 0},
		{"restart, on-failure:3", "on-failure:3", check(healthcheck.ActionRestart), units.RestartOnFailure, syscall.SIGKILL, false, 4},
		{"restart, always", "always", check(healthcheck.ActionRestart), units.RestartAlways, syscall.SIGKILL, true, 0},
		{"startup retries, policy no", "no", withStartupRetries, units.RestartOnWatchdog, syscall.SIGKILL, true, 0},
		{"startup without retries", "no", withStartupNoRetries, units.RestartNo, 0, false, 0},
		{"kill", "no", check(healthcheck.ActionKill), units.RestartNo, 0, false, 0},
		{"stop", "no", check(healthcheck.ActionStop), units.RestartNo, 0, false, 0},
		{"no healthcheck", "no", nil, units.RestartNo, 0, false, 0},
	} {
		s := healthService(t, tc.policy, tc.h)
		if s.Restart != tc.restart || s.WatchdogSignal != tc.watchdog || s.NoStartLimit != tc.noLimit || s.StartLimitBurst != tc.burst {
			t.Errorf("%s: Restart=%s WatchdogSignal=%d NoStartLimit=%v StartLimitBurst=%d; want %s %d %v %d", tc.name,
				s.Restart, s.WatchdogSignal, s.NoStartLimit, s.StartLimitBurst, tc.restart, tc.watchdog, tc.noLimit, tc.burst)
		}
	}
}

func TestHealthNotification(t *testing.T) {
	plain, ready := check(healthcheck.ActionRestart), check(healthcheck.ActionNone)
	ready.ReadyWhenHealthy = true
	for _, tc := range []struct {
		h      *healthcheck.Config
		status string
		out    healthcheck.Outcome
		want   string
	}{
		{plain, healthcheck.Healthy, healthcheck.Outcome{}, ""},
		{plain, healthcheck.Healthy, healthcheck.Outcome{Changed: true}, "STATUS=healthy"},
		{ready, healthcheck.Healthy, healthcheck.Outcome{Changed: true}, "READY=1\nSTATUS=healthy"},
		{ready, healthcheck.Unhealthy, healthcheck.Outcome{Changed: true}, "STATUS=unhealthy"},
		{plain, healthcheck.Unhealthy, healthcheck.Outcome{Changed: true, Act: healthcheck.ActionRestart}, "STATUS=unhealthy\nWATCHDOG=trigger"},
		// A startup probe out of retries: still starting, restarted.
		{plain, healthcheck.Starting, healthcheck.Outcome{Act: healthcheck.ActionRestart}, "WATCHDOG=trigger"},
		// kill and stop go over D-Bus.
		{plain, healthcheck.Unhealthy, healthcheck.Outcome{Act: healthcheck.ActionKill}, ""},
		{plain, healthcheck.Unhealthy, healthcheck.Outcome{Act: healthcheck.ActionStop}, ""},
	} {
		if got := healthNotification(tc.h, tc.status, tc.out); got != tc.want {
			t.Errorf("healthNotification(%s, %+v) = %q, want %q", tc.status, tc.out, got, tc.want)
		}
	}
}
