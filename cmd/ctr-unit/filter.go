package main

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/ctr-unit/ctr-unit/supervisor"
)

// psFilter is ps's --filter, as podman's: a container must match every
// key given, and one of each key's values.
type psFilter map[string][]string

// psStatuses are the status= values, podman's names (stopped is exited).
var psStatuses = map[string]supervisor.Status{
	"created": supervisor.StatusCreated, "running": supervisor.StatusRunning, "paused": supervisor.StatusPaused,
	"restarting": supervisor.StatusRestarting, "stopping": supervisor.StatusStopping, "exited": supervisor.StatusExited,
	"stopped": supervisor.StatusExited, "starting": supervisor.StatusStarting,
}

// parsePSFilters reads --filter KEY=VALUE arguments.
func parsePSFilters(args []string) (psFilter, error) {
	f := psFilter{}
	for _, a := range args {
		key, value, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("invalid filter %q: want KEY=VALUE", a)
		}
		switch key {
		case "name":
			if _, err := regexp.Compile(value); err != nil {
				return nil, fmt.Errorf("filter %q: %w", a, err)
			}
		case "status":
			if _, ok := psStatuses[value]; !ok {
				return nil, fmt.Errorf("filter %q: unknown container state %q (created, running, paused, restarting, stopping, exited)", a, value)
			}
		case "id", "label":
		default:
			return nil, fmt.Errorf("%s is an invalid filter (name, id, label, status)", key)
		}
		f[key] = append(f[key], value)
	}
	return f, nil
}

// match reports whether the container i describes passes the filter.
func (f psFilter) match(i *supervisor.Info) bool {
	for key, values := range f {
		if !f.matchKey(key, values, i) {
			return false
		}
	}
	return true
}

func (f psFilter) matchKey(key string, values []string, i *supervisor.Info) bool {
	if key == "label" {
		// Every label asked for, as in podman.
		for _, v := range values {
			if !hasLabel(i.Config.Labels, v) {
				return false
			}
		}
		return true
	}
	for _, v := range values {
		switch key {
		case "name":
			if ok, _ := regexp.MatchString(v, i.Config.Name); ok {
				return true
			}
		case "id":
			if strings.HasPrefix(i.Config.ID, v) {
				return true
			}
		case "status":
			if psStatuses[v] == i.Status {
				return true
			}
		}
	}
	return false
}

// hasLabel matches label=KEY (or KEY=: any value) or label=KEY=VALUE; KEY may be a
// glob pattern, as in podman.
func hasLabel(labels map[string]string, want string) bool {
	key, value, withValue := strings.Cut(want, "=")
	for k, v := range labels {
		if withValue && value != "" && v != value {
			continue
		}
		if k == key {
			return true
		}
		if ok, _ := path.Match(key, k); ok {
			return true
		}
	}
	return false
}
