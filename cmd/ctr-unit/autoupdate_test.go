package main

import (
	"testing"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
)

// How auto-update makes each kind of container anew from its image.
func TestRemakeWay(t *testing.T) {
	made := []string{"--name=web", "--label=io.containers.autoupdate=registry", "app:1"}
	transient := units.Status{FragmentPath: "/run/systemd/transient/ctr-web.service"}
	for _, c := range []struct {
		what  string
		cfg   container.Config
		unit  units.Status
		want  remaking
		fails bool
	}{
		{"a definition file", container.Config{Name: "web", Image: "app:1", Source: "/etc/ctr-unit/web.container", Unit: units.TemplateInstance("web")}, units.Status{FragmentPath: "/usr/lib/systemd/system/ctr@.service"}, remakeByRestart, false},
		{"a unit of generate --new", container.Config{Name: "web", Image: "app:1", Unit: "ctr-web.service", CreateCommand: made}, units.Status{FragmentPath: "/etc/systemd/system/ctr-web.service"}, remakeByUnit, false},
		{"run -d", container.Config{Name: "web", Image: "app:1", Unit: "ctr-web.service", CreateCommand: made}, transient, remakeByRun, false},
		{"create", container.Config{Name: "web", Image: "app:1", Unit: units.TemplateInstance("web"), CreateCommand: made}, units.Status{FragmentPath: "/usr/lib/systemd/system/ctr@.service"}, remakeByCreate, false},
		{"a rootfs directory", container.Config{Name: "web", Rootfs: "/srv/web", Unit: "ctr-web.service", CreateCommand: made}, transient, 0, true},
		{"made by an older ctr-unit", container.Config{Name: "web", Image: "app:1", Unit: "ctr-web.service"}, transient, 0, true},
	} {
		got, err := remakeWay(&c.cfg, c.unit)
		if (err != nil) != c.fails || (!c.fails && got != c.want) {
			t.Errorf("%s: %v, %v; want %v (fails: %v)", c.what, got, err, c.want, c.fails)
		}
	}
}
