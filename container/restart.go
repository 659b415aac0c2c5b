package container

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ctr-unit/ctr-unit/units"
)

// Restart policy names, as in podman and docker.
const (
	PolicyNo            = "no"
	PolicyOnFailure     = "on-failure"
	PolicyAlways        = "always"
	PolicyUnlessStopped = "unless-stopped"
)

// ErrInvalidPolicy is returned for a restart policy ctr-unit does not know.
var ErrInvalidPolicy = errors.New("invalid restart policy")

// RestartPolicy is a container's restart policy. MaxRetries applies to
// on-failure only; 0 means unlimited.
type RestartPolicy struct {
	Name       string `json:"Name"`
	MaxRetries int    `json:"MaximumRetryCount"`
}

func (p RestartPolicy) String() string {
	if p.Name == PolicyOnFailure && p.MaxRetries > 0 {
		return fmt.Sprintf("%s:%d", p.Name, p.MaxRetries)
	}
	return p.Name
}

// ParseRestartPolicy parses "no", "on-failure[:N]", "always" or
// "unless-stopped". The empty string means "no".
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	switch name {
	case "", PolicyNo, PolicyAlways, PolicyUnlessStopped:
		if hasCount {
			return RestartPolicy{}, fmt.Errorf("%w %q: only on-failure takes a retry count", ErrInvalidPolicy, s)
		}
		if name == "" {
			name = PolicyNo
		}
		return RestartPolicy{Name: name}, nil
	case PolicyOnFailure:
		p := RestartPolicy{Name: name}
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return RestartPolicy{}, fmt.Errorf("%w %q: the retry count must be a whole number >= 0", ErrInvalidPolicy, s)
			}
			p.MaxRetries = n
		}
		return p, nil
	}
	return RestartPolicy{}, fmt.Errorf("%w %q: use no, on-failure[:N], always or unless-stopped", ErrInvalidPolicy, s)
}

// apply sets the service's restart settings so that systemd, the only
// restart authority, carries the policy out.
//
// on-failure:N means N restarts over the container's life, not a rate: a
// start limit of N+1 starts (the first start and N restarts) whose
// interval never ends. always and unless-stopped restart without limit;
// they differ only at boot, which ctr-unit decides. A stop by the user is
// never followed by a restart: systemd restarts only on exits it did not
// cause itself.
func (p RestartPolicy) apply(s *units.Service) {
	switch p.Name {
	case PolicyOnFailure:
		s.Restart = units.RestartOnFailure
		if p.MaxRetries > 0 {
			s.StartLimitBurst = uint32(p.MaxRetries) + 1
		} else {
			s.NoStartLimit = true
		}
	case PolicyAlways, PolicyUnlessStopped:
		s.Restart = units.RestartAlways
		s.NoStartLimit = true
	default:
		s.Restart = units.RestartNo
	}
}

// Performed turns systemd's NRestarts into the restarts that happened.
// systemd counts a restart when it schedules it, before the start limit
// refuses it, so with on-failure:N a container that used up its retries
// shows N+1.
func (p RestartPolicy) Performed(nRestarts uint32) uint32 {
	if p.Name == PolicyOnFailure && p.MaxRetries > 0 {
		return min(nRestarts, uint32(p.MaxRetries))
	}
	return nRestarts
}
