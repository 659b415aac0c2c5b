package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
)

// HealthOptions are podman's --health-* options, each parsed as given; a
// nil duration and a zero count were not given (the default applies).
type HealthOptions struct {
	// Cmd is the check in docker's form (["CMD", ...] or ["CMD-SHELL",
	// s]); nil if none was given.
	Cmd []string
	// Disabled: --no-healthcheck or --health-cmd none, which also turns
	// off an image's HEALTHCHECK.
	Disabled    bool
	Interval    *time.Duration // 0: "disable", no timer
	Timeout     *time.Duration
	Retries     int
	StartPeriod *time.Duration
	OnFailure   healthcheck.Action

	StartupCmd      []string
	StartupInterval *time.Duration
	StartupTimeout  *time.Duration
	StartupRetries  int
	StartupSuccess  int

	// SdNotify is podman's --sdnotify: "" or "conmon" (ready once
	// started), or "healthy".
	SdNotify string
}

// ParseHealthCommand reads a check command: a JSON array is the exec form
// (docker's ["CMD", ...], ["CMD-SHELL", "..."] and ["NONE"] are understood
// too), anything else is run with /bin/sh -c. It returns the check in
// docker's form, or nil for "", "none" and ["NONE"]: no check.
func ParseHealthCommand(s string) ([]string, error) {
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
	return healthTest(argv)
}

// healthTest checks a test in docker's array form (from a flag, a file or
// an image).
func healthTest(argv []string) ([]string, error) {
	if len(argv) > 0 {
		switch argv[0] {
		case "NONE":
			return nil, nil
		case "CMD":
			argv = argv[1:]
		case "CMD-SHELL":
			if len(argv) != 2 || argv[1] == "" {
				return nil, fmt.Errorf("%q: CMD-SHELL takes exactly one command string", argv)
			}
			return argv, nil
		}
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("the command is empty")
	}
	return append([]string{"CMD"}, argv...), nil
}

// ParseSdNotify reads --sdnotify: conmon (ready once started, the
// default) or healthy. podman's "container" would hand the socket to the
// container, which ctr-unit's units withhold from it.
func ParseSdNotify(s string) (string, error) {
	switch s {
	case "", "conmon", "healthy":
		return s, nil
	}
	return "", fmt.Errorf("%q: use conmon or healthy", s)
}

// ParseHealthAction reads --health-on-failure.
func ParseHealthAction(s string) (healthcheck.Action, error) {
	switch a := healthcheck.Action(s); a {
	case healthcheck.ActionNone, healthcheck.ActionKill, healthcheck.ActionRestart, healthcheck.ActionStop:
		return a, nil
	}
	return "", fmt.Errorf("%q: use none, kill, restart or stop", s)
}

// buildHealth turns the options into the healthcheck, or nil if the
// container has none; what is wrong between the options is reported
// against the settings involved.
func buildHealth(o HealthOptions) (*healthcheck.Config, Problems) {
	if o.Cmd == nil {
		if given := o.given(); given != "" {
			return nil, Problems{{Setting: given, Msg: "{" + given + "} needs {health-cmd}, the healthcheck's command"}}
		}
		if o.StartupCmd != nil {
			return nil, Problems{{Setting: "health-startup-cmd", Msg: "{health-startup-cmd} needs {health-cmd}, the healthcheck's command"}}
		}
		return nil, nil
	}
	if o.Disabled {
		return nil, Problems{{Setting: "no-healthcheck", Msg: "{no-healthcheck} conflicts with {health-cmd}: give one, the healthcheck or none"}}
	}
	c := &healthcheck.Config{
		Probe:            healthcheck.Probe{Test: o.Cmd, Interval: healthcheck.DefaultInterval, Timeout: healthcheck.DefaultTimeout, Retries: healthcheck.DefaultRetries},
		OnFailure:        healthcheck.ActionNone,
		ReadyWhenHealthy: o.SdNotify == "healthy",
	}
	setDuration(&c.Interval, o.Interval)
	setDuration(&c.Timeout, o.Timeout)
	setDuration(&c.StartPeriod, o.StartPeriod)
	if o.Retries > 0 {
		c.Retries = o.Retries
	}
	if o.OnFailure != "" {
		c.OnFailure = o.OnFailure
	}
	if c.ReadyWhenHealthy && c.Interval == 0 {
		return nil, Problems{{Setting: "sdnotify", Value: "healthy", Msg: "needs a healthcheck that runs on its own, but {health-interval} is disable"}}
	}
	if o.StartupCmd == nil {
		if o.StartupInterval != nil || o.StartupTimeout != nil || o.StartupRetries != 0 || o.StartupSuccess != 0 {
			return nil, Problems{{Setting: "health-startup-interval", Msg: "the startup healthcheck's {health-startup-interval}, {health-startup-timeout}, {health-startup-retries} and {health-startup-success} need {health-startup-cmd}"}}
		}
		return c, nil
	}
	s := &healthcheck.Startup{
		Probe:     healthcheck.Probe{Test: o.StartupCmd, Interval: healthcheck.DefaultInterval, Timeout: healthcheck.DefaultTimeout, Retries: o.StartupRetries},
		Successes: max(o.StartupSuccess, 1),
	}
	setDuration(&s.Interval, o.StartupInterval)
	setDuration(&s.Timeout, o.StartupTimeout)
	c.Startup = s
	return c, nil
}

func setDuration(dst *time.Duration, given *time.Duration) {
	if given != nil {
		*dst = *given
	}
}

// given names a regular check option that was set, or "".
func (o HealthOptions) given() string {
	switch {
	case o.Interval != nil:
		return "health-interval"
	case o.Timeout != nil:
		return "health-timeout"
	case o.Retries != 0:
		return "health-retries"
	case o.StartPeriod != nil:
		return "health-start-period"
	case o.OnFailure != "" && o.OnFailure != healthcheck.ActionNone:
		return "health-on-failure"
	case o.SdNotify == "healthy":
		return "sdnotify"
	}
	return ""
}
