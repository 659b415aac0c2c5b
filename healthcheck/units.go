package healthcheck

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/coreos/go-systemd/v22/unit"
	"github.com/godbus/dbus/v5"
)

// TimerUnit and ServiceUnit name the units that check container name:
// ctr-NAME-health.timer fires ctr-NAME-health.service. The name is
// escaped as unit names are, so "-health" cannot come from a name.
func TimerUnit(name string) string   { return "ctr-" + unit.UnitNameEscape(name) + "-health.timer" }
func ServiceUnit(name string) string { return "ctr-" + unit.UnitNameEscape(name) + "-health.service" }

// serviceGrace is how much longer than the check's own timeout systemd
// lets a check unit run before killing it.
const serviceGrace = 30 * time.Second

type monotonic struct {
	Base string
	USec uint64
}

type execCommand struct {
	Path          string
	Argv          []string
	IgnoreFailure bool
}

type exitStatusSet struct {
	Codes   []int32
	Signals []int32
}

func prop(name string, value any) sd.Property {
	return sd.Property{Name: name, Value: dbus.MakeVariant(value)}
}

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
func (c *Config) TimerProperties(containerUnit string, first time.Duration) []sd.Property {
	return []sd.Property{
		prop("Description", "ctr-unit healthcheck timer of "+containerUnit),
		prop("TimersMonotonic", []monotonic{
			{"OnActiveSec", uint64(first / time.Microsecond)},
			{"OnUnitInactiveSec", uint64(c.Period() / time.Microsecond)},
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
func (c *Config) ServiceProperties(argv []string) []sd.Property {
	timeout := c.Timeout
	if c.Startup != nil {
		timeout = max(timeout, c.Startup.Timeout)
	}
	return []sd.Property{
		prop("Description", "ctr-unit healthcheck"),
		prop("Type", "oneshot"),
		prop("ExecStart", []execCommand{{Path: argv[0], Argv: argv}}),
		prop("DefaultDependencies", false),
		prop("CollectMode", "inactive-or-failed"),
		prop("SuccessExitStatus", exitStatusSet{Codes: []int32{1}, Signals: []int32{}}),
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
