package supervisor

import (
	"errors"
	"strconv"
	"strings"

	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/healthcheck"
)

// healthKey is one healthcheck key of a definition's [Container] section:
// the same setting as a run/create flag, read into the same
// healthcheck.Options, so that healthcheck.Parse decides for both.
type healthKey struct {
	key, flag string
	startup   bool // a startup-probe setting, checked with a startup command
	set       func(o *healthcheck.Options, v string) error
}

func setInt(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("want a whole number")
	}
	*dst = n
	return nil
}

// healthKeys lists the keys as podman's quadlet names them.
var healthKeys = []healthKey{
	{key: "HealthCmd", flag: "--health-cmd", set: func(o *healthcheck.Options, v string) error { o.Cmd = v; return nil }},
	{key: "HealthInterval", flag: "--health-interval", set: func(o *healthcheck.Options, v string) error { o.Interval = v; return nil }},
	{key: "HealthTimeout", flag: "--health-timeout", set: func(o *healthcheck.Options, v string) error { o.Timeout = v; return nil }},
	{key: "HealthRetries", flag: "--health-retries", set: func(o *healthcheck.Options, v string) error { return setInt(&o.Retries, v) }},
	{key: "HealthStartPeriod", flag: "--health-start-period", set: func(o *healthcheck.Options, v string) error { o.StartPeriod = v; return nil }},
	{key: "HealthOnFailure", flag: "--health-on-failure", set: func(o *healthcheck.Options, v string) error { o.OnFailure = v; return nil }},
	{key: "HealthStartupCmd", flag: "--health-startup-cmd", set: func(o *healthcheck.Options, v string) error { o.StartupCmd = v; return nil }},
	{key: "HealthStartupInterval", flag: "--health-startup-interval", startup: true, set: func(o *healthcheck.Options, v string) error { o.StartupInterval = v; return nil }},
	{key: "HealthStartupTimeout", flag: "--health-startup-timeout", startup: true, set: func(o *healthcheck.Options, v string) error { o.StartupTimeout = v; return nil }},
	{key: "HealthStartupRetries", flag: "--health-startup-retries", startup: true, set: func(o *healthcheck.Options, v string) error { return setInt(&o.StartupRetries, v) }},
	{key: "HealthStartupSuccess", flag: "--health-startup-success", startup: true, set: func(o *healthcheck.Options, v string) error { return setInt(&o.StartupSuccess, v) }},
	// Notify=healthy is quadlet's --sdnotify=healthy.
	{key: "Notify", flag: "--sdnotify", set: func(o *healthcheck.Options, v string) error {
		switch strings.ToLower(v) {
		case "healthy":
			o.SdNotify = "healthy"
		case "", "no", "false", "0", "off":
		default:
			return errors.New("only Notify=healthy is supported (ready once the first check passes)")
		}
		return nil
	}},
}

// flagsAsKeys rewrites healthcheck.Parse's messages, which name the CLI
// flags, with the names of the file's keys. Longer flags come first where
// one is a prefix of another.
var flagsAsKeys = func() *strings.Replacer {
	pairs := []string{"--sdnotify=healthy", "Notify=healthy", "--health-startup-*", "HealthStartup*", "--no-healthcheck", "HealthCmd=none"}
	for _, k := range healthKeys {
		pairs = append(pairs, k.flag, k.key+"=")
	}
	return strings.NewReplacer(pairs...)
}()

// healthFromFile reads the Health* keys of a definition into the options
// the --health-* flags give, and checks them with healthcheck.Parse: each
// value on its own first, so that every bad one is reported with its
// line, then all together.
func healthFromFile(f *definition.File) (healthcheck.Options, definition.Problems) {
	var o healthcheck.Options
	var probs definition.Problems
	bad := func(line int, msg string) {
		probs = append(probs, definition.Problem{File: f.Path, Line: line, Msg: msg})
	}
	first := 0
	for _, k := range healthKeys {
		e, ok := f.Get(k.key)
		if !ok {
			continue
		}
		if first == 0 || e.Line < first {
			first = e.Line
		}
		if err := k.set(&o, e.Value); err != nil {
			bad(e.Line, k.key+"="+e.Value+": "+err.Error())
			continue
		}
		// The value alone, with a command that makes it meaningful.
		alone := healthcheck.Options{Cmd: "true"}
		if k.startup {
			alone.StartupCmd = "true"
		}
		if k.key == "HealthCmd" {
			alone.Cmd = ""
		}
		_ = k.set(&alone, e.Value)
		if _, err := healthcheck.Parse(alone); err != nil {
			bad(e.Line, healthMessage(err))
		}
	}
	if len(probs) == 0 && first > 0 {
		if _, err := healthcheck.Parse(o); err != nil {
			line := first
			if e, ok := f.Get("HealthCmd"); ok {
				line = e.Line
			}
			bad(line, healthMessage(err))
		}
	}
	return o, probs
}

// healthMessage is a healthcheck error in the file's terms.
func healthMessage(err error) string {
	return flagsAsKeys.Replace(strings.TrimPrefix(err.Error(), healthcheck.ErrInvalid.Error()+": "))
}
