package units

import (
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
)

func TestUnitNamesAreVerbatim(t *testing.T) {
	for _, name := range []string{"web", "my-web", "a.b_c", "0.9-rc", "Upper-Low", "x-"} {
		tr, inst := TransientService(name), TemplateInstance(name)
		if tr != "ctr-"+name+".service" || inst != "ctr@"+name+".service" {
			t.Errorf("%s: %s, %s; want the name verbatim", name, tr, inst)
		}
		if IsLegacy(tr) || IsLegacy(inst) || Current(inst) != inst {
			t.Errorf("%s or %s taken for a legacy name", tr, inst)
		}
	}
}

func TestLegacyNames(t *testing.T) {
	cases := []struct {
		old, current string
	}{
		{`ctr@my\x2dweb.service`, "ctr@my-web.service"},
		{`ctr-my\x2dweb.service`, "ctr-my-web.service"},
		{`ctr-0.9\x2drc\x2d2.service`, "ctr-0.9-rc-2.service"},
	}
	for _, c := range cases {
		if !IsLegacy(c.old) || Current(c.old) != c.current || Legacy(c.current) != c.old {
			t.Errorf("%s: legacy %v, current %s, back %s", c.old, IsLegacy(c.old), Current(c.old), Legacy(c.current))
		}
		// As systemd-escape wrote the name before.
		name := c.current[4 : len(c.current)-len(".service")]
		if got := c.old[:4] + unit.UnitNameEscape(name) + ".service"; got != c.old {
			t.Errorf("systemd-escape gives %s, want %s", got, c.old)
		}
	}
	for _, n := range []string{"ctr@web.service", `my\x2dweb.service`, `ctr@my\x2dweb.timer`, "ctr@.service"} {
		if IsLegacy(n) {
			t.Errorf("%s taken for a legacy container unit", n)
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
