package units

import (
	"errors"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"web", "a", "Web-1.prod_2", "0x", strings.Repeat("a", MaxNameLen)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-web", ".web", "_web", "we b", "we/b", "wé", "a\\b", strings.Repeat("a", MaxNameLen+1)} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestUnitNamesEscapeAndRoundTrip(t *testing.T) {
	cases := map[string]string{
		"web":       "ctr-web.service",
		"my-web":    `ctr-my\x2dweb.service`,
		"a.b_c":     "ctr-a.b_c.service",
		"0.9-rc":    `ctr-0.9\x2drc.service`,
		"Upper-Low": `ctr-Upper\x2dLow.service`,
	}
	for name, want := range cases {
		got := TransientService(name)
		if got != want {
			t.Errorf("TransientService(%q) = %q, want %q", name, got, want)
		}
		// systemd's %i gives the name back unescaped.
		escaped := strings.TrimSuffix(strings.TrimPrefix(got, "ctr-"), ".service")
		if back := unit.UnitNameUnescape(escaped); back != name {
			t.Errorf("unescaping %q gives %q, want %q", escaped, back, name)
		}
		if inst := TemplateInstance(name); inst != "ctr@"+escaped+".service" {
			t.Errorf("TemplateInstance(%q) = %q", name, inst)
		}
	}
}

func TestControlGroup(t *testing.T) {
	cases := []struct{ slice, unit, want string }{
		{"system.slice", "ctr-web.service", "/system.slice/ctr-web.service"},
		{"system-ctr.slice", "ctr@web.service", "/system.slice/system-ctr.slice/ctr@web.service"},
		{"", "x.service", "/x.service"},
		{"-.slice", "x.service", "/x.service"},
	}
	for _, c := range cases {
		if got := ControlGroup(c.slice, c.unit); got != c.want {
			t.Errorf("ControlGroup(%q, %q) = %q, want %q", c.slice, c.unit, got, c.want)
		}
	}
}

func TestSignalNumber(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "SIGTERM": 15, "sigkill": 9, "9": 9, "HUP": 1, "USR1": 10} {
		got, err := SignalNumber(in)
		if err != nil || int(got) != want {
			t.Errorf("SignalNumber(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "99", "-1"} {
		if _, err := SignalNumber(bad); err == nil {
			t.Errorf("SignalNumber(%q) succeeded, want an error", bad)
		}
	}
}
