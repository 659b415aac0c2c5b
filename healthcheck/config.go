// Package healthcheck holds the pure side of container healthchecks: the
// check's settings, docker's status rules, the result log, what a check
// tells systemd, and the properties of the timer that schedules the
// checks. The options are parsed with the container's other settings
// (package container); running checks and talking to systemd happen in
// the supervisor.
package healthcheck

import (
	"strings"
	"time"
)

// Defaults as in podman and docker.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 30 * time.Second
	DefaultRetries  = 3
)

// Action is what happens when a container turns unhealthy.
type Action string

const (
	ActionNone    Action = "none"
	ActionKill    Action = "kill"
	ActionRestart Action = "restart"
	ActionStop    Action = "stop"
)

// Probe is one check command and its schedule. Test is in docker's form:
// ["CMD", arg...] runs arg... directly, ["CMD-SHELL", s] runs s with
// /bin/sh -c.
type Probe struct {
	Test     []string      `json:"Test"`
	Interval time.Duration `json:"Interval"`
	Timeout  time.Duration `json:"Timeout"`
	Retries  int           `json:"Retries"`
}

// Argv is the command line to run inside the container.
func (p Probe) Argv() []string {
	if len(p.Test) == 2 && p.Test[0] == "CMD-SHELL" {
		return []string{"/bin/sh", "-c", p.Test[1]}
	}
	return p.Test[1:]
}

// Config is a container's healthcheck, stored with its definition.
type Config struct {
	Probe
	StartPeriod time.Duration `json:"StartPeriod"`
	OnFailure   Action        `json:"OnFailure"`
	// Startup, if set, gates the regular checks: they begin once it has
	// passed Successes times in a row.
	Startup *Startup `json:"Startup,omitempty"`
	// ReadyWhenHealthy makes the container's unit report ready only after
	// the first passing check (podman's --sdnotify=healthy).
	ReadyWhenHealthy bool `json:"ReadyWhenHealthy,omitempty"`
}

// Startup is podman's startup probe. Retries > 0 restarts the container
// after that many failures in a row; Successes is how many passes in a
// row end it (at least one).
type Startup struct {
	Probe
	Successes int `json:"Successes"`
}

// Scheduled reports whether a timer runs the checks (an interval of 0,
// "disable", leaves them to `healthcheck run`).
func (c *Config) Scheduled() bool { return c.Interval > 0 }

// Period is how often the timer fires: the shortest interval in use, so
// that both the startup and the regular checks come on time.
func (c *Config) Period() time.Duration {
	if c.Startup != nil && c.Startup.Interval < c.Interval {
		return c.Startup.Interval
	}
	return c.Interval
}

// Notification is what a check tells the container's unit (sd_notify):
// its new status, READY=1 when that makes a ready-when-healthy container
// ready, and WATCHDOG=trigger for a restart (the unit's watchdog restarts
// it). "" if nothing.
func (c *Config) Notification(status string, out Outcome) string {
	var lines []string
	if out.Changed {
		if status == Healthy && c.ReadyWhenHealthy {
			lines = append(lines, "READY=1")
		}
		lines = append(lines, "STATUS="+status)
	}
	if out.Act == ActionRestart {
		lines = append(lines, "WATCHDOG=trigger")
	}
	return strings.Join(lines, "\n")
}
