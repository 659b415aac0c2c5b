// Package healthcheck holds the pure side of container healthchecks:
// parsing and validating the options, docker's status rules, the result
// log, and the systemd properties of the timer that schedules the checks.
// Running checks and talking to systemd happen in the supervisor.
package healthcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults as in podman and docker.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 30 * time.Second
	DefaultRetries  = 3
)

// ErrInvalid marks bad healthcheck options.
var ErrInvalid = errors.New("invalid healthcheck")

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

// Options are the healthcheck flags as the user gave them; the zero value
// is "nothing given". A count of 0 means the default, as in docker and
// podman.
type Options struct {
	Cmd           string
	Interval      string
	Timeout       string
	Retries       int
	StartPeriod   string
	OnFailure     string
	NoHealthcheck bool

	StartupCmd      string
	StartupInterval string
	StartupTimeout  string
	StartupRetries  int
	StartupSuccess  int

	// SdNotify is podman's --sdnotify: "" or "conmon" (ready once
	// started) or "healthy".
	SdNotify string
}

// Parse validates o and returns the healthcheck, or nil if the container
// has none.
func Parse(o Options) (*Config, error) {
	switch o.SdNotify {
	case "", "conmon", "healthy":
	default:
		return nil, fmt.Errorf("%w: --sdnotify %q: use conmon or healthy", ErrInvalid, o.SdNotify)
	}
	test, err := ParseCommand(o.Cmd)
	if err != nil {
		return nil, fmt.Errorf("%w: --health-cmd: %w", ErrInvalid, err)
	}
	if o.NoHealthcheck && test != nil {
		return nil, fmt.Errorf("%w: --no-healthcheck conflicts with --health-cmd", ErrInvalid)
	}
	if test == nil {
		if given := o.given(); given != "" {
			return nil, fmt.Errorf("%w: %s needs --health-cmd", ErrInvalid, given)
		}
		return nil, nil
	}
	c := &Config{Probe: Probe{Test: test, Retries: DefaultRetries}, OnFailure: ActionNone, ReadyWhenHealthy: o.SdNotify == "healthy"}
	if c.Interval, err = parseDuration("--health-interval", o.Interval, DefaultInterval, true); err != nil {
		return nil, err
	}
	if c.Timeout, err = parseDuration("--health-timeout", o.Timeout, DefaultTimeout, false); err != nil {
		return nil, err
	}
	if c.StartPeriod, err = parseDuration("--health-start-period", o.StartPeriod, 0, true); err != nil {
		return nil, err
	}
	switch {
	case o.Retries < 0:
		return nil, fmt.Errorf("%w: --health-retries must not be negative", ErrInvalid)
	case o.Retries > 0:
		c.Retries = o.Retries
	}
	switch a := Action(o.OnFailure); a {
	case "":
	case ActionNone, ActionKill, ActionRestart, ActionStop:
		c.OnFailure = a
	default:
		return nil, fmt.Errorf("%w: --health-on-failure %q: use none, kill, restart or stop", ErrInvalid, o.OnFailure)
	}
	if c.ReadyWhenHealthy && c.Interval == 0 {
		return nil, fmt.Errorf("%w: --sdnotify=healthy needs a check interval", ErrInvalid)
	}
	if c.Startup, err = o.startup(); err != nil {
		return nil, err
	}
	return c, nil
}

func (o Options) startup() (*Startup, error) {
	test, err := ParseCommand(o.StartupCmd)
	if err != nil {
		return nil, fmt.Errorf("%w: --health-startup-cmd: %w", ErrInvalid, err)
	}
	if test == nil {
		if o.StartupInterval != "" || o.StartupTimeout != "" || o.StartupRetries != 0 || o.StartupSuccess != 0 {
			return nil, fmt.Errorf("%w: the --health-startup-* options need --health-startup-cmd", ErrInvalid)
		}
		return nil, nil
	}
	if o.StartupRetries < 0 || o.StartupSuccess < 0 {
		return nil, fmt.Errorf("%w: --health-startup-retries and --health-startup-success must not be negative", ErrInvalid)
	}
	s := &Startup{Probe: Probe{Test: test, Retries: o.StartupRetries}, Successes: max(o.StartupSuccess, 1)}
	if s.Interval, err = parseDuration("--health-startup-interval", o.StartupInterval, DefaultInterval, false); err != nil {
		return nil, err
	}
	if s.Timeout, err = parseDuration("--health-startup-timeout", o.StartupTimeout, DefaultTimeout, false); err != nil {
		return nil, err
	}
	return s, nil
}

// given names a regular healthcheck option that was set, or "".
func (o Options) given() string {
	switch {
	case o.Interval != "":
		return "--health-interval"
	case o.Timeout != "":
		return "--health-timeout"
	case o.Retries != 0:
		return "--health-retries"
	case o.StartPeriod != "":
		return "--health-start-period"
	case o.OnFailure != "" && o.OnFailure != string(ActionNone):
		return "--health-on-failure"
	case o.StartupCmd != "":
		return "--health-startup-cmd"
	case o.SdNotify == "healthy":
		return "--sdnotify=healthy"
	}
	return ""
}

// ParseCommand reads a check command: a JSON array is the exec form
// (docker's ["CMD", ...], ["CMD-SHELL", "..."] and ["NONE"] are
// understood too), anything else is run with /bin/sh -c. "" and "none"
// mean no check.
func ParseCommand(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return nil, nil
	}
	if !strings.HasPrefix(s, "[") {
		return []string{"CMD-SHELL", s}, nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		return nil, fmt.Errorf("%q is not a JSON array of strings: %w", s, err)
	}
	if len(argv) > 0 {
		switch argv[0] {
		case "NONE":
			return nil, nil
		case "CMD":
			argv = argv[1:]
		case "CMD-SHELL":
			if len(argv) != 2 || argv[1] == "" {
				return nil, fmt.Errorf("%q: CMD-SHELL takes exactly one command string", s)
			}
			return argv, nil
		}
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("%q: the command is empty", s)
	}
	return append([]string{"CMD"}, argv...), nil
}

// parseDuration reads a Go duration ("500ms", "1m30s"). "disable" (where
// allowed) and "0" give 0; an empty value gives def.
func parseDuration(flag, s string, def time.Duration, zeroOK bool) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	if zeroOK && s == "disable" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w: %s %q: use a duration such as 500ms, 30s or 1m30s", ErrInvalid, flag, s)
	case d < 0:
		return 0, fmt.Errorf("%w: %s %q must not be negative", ErrInvalid, flag, s)
	case d == 0 && !zeroOK:
		return 0, fmt.Errorf("%w: %s must be longer than 0", ErrInvalid, flag)
	case d > 0 && d < time.Millisecond:
		return 0, fmt.Errorf("%w: %s %q must be at least 1ms", ErrInvalid, flag, s)
	}
	return d, nil
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
