package bundle

import (
	"testing"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/healthcheck"
)

func TestStepPreparesOnlyWhatNeedsNoMore(t *testing.T) {
	const path, stamp = "/etc/ctr-unit/web.container", "1.2.3.4.5/6.7.8.9"
	defined := func() *container.Config {
		return &container.Config{Name: "web", Rootfs: "/srv/web", Source: path, SourceStamp: stamp}
	}
	for _, c := range []struct {
		name    string
		rec     *container.Config
		defined bool
		stamp   string
		want    bool
	}{
		{"record from the file as it is", defined(), true, stamp, true},
		{"create's record", &container.Config{Name: "web", Rootfs: "/srv/web"}, false, "", true},
		{"create's record beside a file", &container.Config{Name: "web", Rootfs: "/srv/web"}, true, stamp, true},
		{"file's record, file gone", defined(), false, "", true},
		{"no record yet", nil, true, stamp, false},
		{"file changed", defined(), true, "1.2.3.4.99/6.7.8.9", false},
		{"file unreadable", defined(), true, "", false},
		{"image", func() *container.Config { c := defined(); c.Image = "busybox"; return c }(), true, stamp, false},
		{"layer", func() *container.Config { c := defined(); c.LayerID = "abc"; return c }(), true, stamp, false},
		{"scheduled checks", func() *container.Config {
			c := defined()
			c.Health = &healthcheck.Config{Probe: healthcheck.Probe{Test: []string{"CMD", "true"}, Interval: 30e9}}
			return c
		}(), true, stamp, false},
	} {
		if got := StepPrepares(c.rec, c.defined, path, c.stamp); got != c.want {
			t.Errorf("%s: StepPrepares = %v, want %v", c.name, got, c.want)
		}
	}
}
