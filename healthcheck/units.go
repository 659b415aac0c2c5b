package healthcheck

import (
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// Units names the units that check container name, whose unit is
// containerUnit: ctr-health@NAME.timer fires ctr-health@NAME.service. The
// name is verbatim, as in the container's own unit; the instance form
// keeps them apart from the unit of any container (ctr-NAME-health.service
// would be the transient unit of container NAME-health). A container whose
// unit has a legacy name (units.IsLegacy: made by an older ctr-unit, and
// running since) keeps the check units that ctr-unit gave it:
// ctr-NAME-health.timer, NAME escaped.
func Units(name, containerUnit string) (timer, service string) {
	if units.IsLegacy(containerUnit) {
		esc := strings.ReplaceAll(name, "-", `\x2d`)
		return "ctr-" + esc + "-health.timer", "ctr-" + esc + "-health.service"
	}
	return "ctr-health@" + name + ".timer", "ctr-health@" + name + ".service"
}

// serviceGrace is how much longer than the check's own timeout systemd
// lets a check unit run before killing it.
const serviceGrace = 30 * time.Second

// Accuracy is the timer's AccuracySec: a twentieth of the period, between
// 1 ms and 1 s (systemd's default of a minute would swallow short
// intervals).
func Accuracy(period time.Duration) time.Duration {
	return min(max(period/20, time.Millisecond), time.Second)
}

// TimerProperties are the transient properties of the check timer of the
// container whose unit is containerUnit. The first check comes first
// after the timer starts, every later one one period after the previous
// one ended. The timer is bound to the container's unit and ordered after
// it: it starts once the container is up, stops whenever the unit stops
// for good, and is restarted with it when systemd restarts the unit. It
// has no other dependencies, so it never holds up a shutdown.
func (c *Config) TimerProperties(containerUnit string, first time.Duration) []units.Prop {
	prop := units.P
	return []units.Prop{
		prop("Description", "ctr-unit healthcheck timer of "+containerUnit),
		prop("TimersMonotonic", []units.Monotonic{
			{Base: "OnActiveSec", USec: uint64(first / time.Microsecond)},
			{Base: "OnUnitInactiveSec", USec: uint64(c.Period() / time.Microsecond)},
		}),
		prop("AccuracyUSec", uint64(Accuracy(c.Period())/time.Microsecond)),
		prop("DefaultDependencies", false),
		prop("BindsTo", []string{containerUnit}),
		prop("After", []string{containerUnit}),
	}
}

// ServiceProperties are the transient properties of the check service,
// which runs argv (ctr-unit healthcheck run). It has no dependencies; it
// is collected even if it fails; exit status 1 (unhealthy) is a success
// for systemd, so no failed unit is left behind. Only warnings reach the
// journal: a start and a stop message per check would flood it.
func (c *Config) ServiceProperties(argv []string) []units.Prop {
	prop := units.P
	timeout := c.Timeout
	if c.Startup != nil {
		timeout = max(timeout, c.Startup.Timeout)
	}
	return []units.Prop{
		prop("Description", "ctr-unit healthcheck"),
		prop("Type", "oneshot"),
		// An instance's default slice would be system-ctr\x2dhealth.slice,
		// made for the checks and left behind.
		prop("Slice", "system.slice"),
		units.Exec("ExecStart", argv),
		prop("DefaultDependencies", false),
		prop("CollectMode", "inactive-or-failed"),
		prop("SuccessExitStatus", units.ExitStatusSet{Codes: []int32{1}, Signals: []int32{}}),
		prop("TimeoutStartUSec", uint64((timeout+serviceGrace)/time.Microsecond)),
		// A status change is sent from inside the container's unit, but
		// systemd also hands it to the unit whose main process sent it.
		prop("NotifyAccess", "all"),
		// A check every second must not hit the default start limit.
		prop("StartLimitIntervalUSec", uint64(0)),
		prop("LogLevelMax", int32(5)), // notice
		prop("SyslogLevel", int32(3)), // err: ctr-unit's own complaints pass
	}
}
