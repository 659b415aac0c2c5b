package units

import (
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
)

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
