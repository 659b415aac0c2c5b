package supervisor

import (
	"errors"
	"testing"

	"github.com/ctr-unit/ctr-unit/units"
)

func TestParseRestartPolicy(t *testing.T) {
	good := map[string]RestartPolicy{
		"":               {Name: PolicyNo},
		"no":             {Name: PolicyNo},
		"always":         {Name: PolicyAlways},
		"unless-stopped": {Name: PolicyUnlessStopped},
		"on-failure":     {Name: PolicyOnFailure},
		"on-failure:0":   {Name: PolicyOnFailure},
		"on-failure:5":   {Name: PolicyOnFailure, MaxRetries: 5},
	}
	for in, want := range good {
		got, err := ParseRestartPolicy(in)
		if err != nil || got != want {
			t.Errorf("ParseRestartPolicy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "always:3", "on-failure:-1", "on-failure:x", "no:1", "On-Failure"} {
		if _, err := ParseRestartPolicy(bad); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("ParseRestartPolicy(%q) = %v, want ErrInvalidPolicy", bad, err)
		}
	}
}

func TestRestartPolicyMapsToSystemd(t *testing.T) {
	cases := []struct {
		policy  string
		restart string
		burst   uint32
		noLimit bool
	}{
		{"no", units.RestartNo, 0, false},
		{"on-failure", units.RestartOnFailure, 0, true},
		// The first start plus two restarts, over the unit's whole life.
		{"on-failure:2", units.RestartOnFailure, 3, false},
		{"always", units.RestartAlways, 0, true},
		{"unless-stopped", units.RestartAlways, 0, true},
	}
	for _, c := range cases {
		p, err := ParseRestartPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		var s units.Service
		p.apply(&s)
		if s.Restart != c.restart || s.StartLimitBurst != c.burst || s.NoStartLimit != c.noLimit || s.StartLimitInterval != 0 {
			t.Errorf("%s: Restart=%s burst=%d noLimit=%v interval=%v; want %s %d %v 0",
				c.policy, s.Restart, s.StartLimitBurst, s.NoStartLimit, s.StartLimitInterval, c.restart, c.burst, c.noLimit)
		}
		if p.String() != c.policy {
			t.Errorf("String() = %q, want %q", p.String(), c.policy)
		}
	}
}

func TestStartsAtBoot(t *testing.T) {
	transient := func(policy string) *Config {
		p, _ := ParseRestartPolicy(policy)
		return &Config{Unit: units.TransientService("x"), Restart: p}
	}
	cases := []struct {
		cfg  *Config
		st   State
		want bool
	}{
		{transient("always"), State{}, true},
		{transient("always"), State{StoppedByUser: true}, true},
		{transient("unless-stopped"), State{}, true},
		{transient("unless-stopped"), State{StoppedByUser: true}, false},
		{transient("on-failure:3"), State{}, false},
		{transient("no"), State{}, false},
		// systemctl enable decides for unit-file containers.
		{&Config{Unit: units.TemplateInstance("x"), Restart: RestartPolicy{Name: PolicyAlways}}, State{}, false},
	}
	for _, c := range cases {
		if got := startsAtBoot(c.cfg, c.st); got != c.want {
			t.Errorf("%s %s stoppedByUser=%v: %v, want %v", c.cfg.Unit, c.cfg.Restart, c.st.StoppedByUser, got, c.want)
		}
	}
}
