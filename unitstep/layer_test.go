package unitstep

import (
	"os"
	"slices"
	"testing"
)

// The lean start hands over to ctr-unit's when the layer named in the
// bundle is not mounted, and only then.
func TestLayerUnmountedHandsOver(t *testing.T) {
	d := Dirs{RuntimeDir: t.TempDir()}
	steps := Steps{Dirs: d}
	bundle := d.Bundle("web")
	full := []string{"/usr/bin/ctr-unit", "--state-dir", "/var/lib/ctr-unit", "start", "web"}
	check := func(what string, want []string) {
		t.Helper()
		argv, err := steps.LayerUnmounted("web")
		if err != nil || !slices.Equal(argv, want) {
			t.Errorf("%s: %q, %v; want %q", what, argv, err, want)
		}
	}
	if err := WriteLayerRoot(t.TempDir(), "", false, full); err != nil {
		t.Fatal(err)
	}
	check("no bundle yet", nil)
	for _, c := range []struct {
		what    string
		dir     string
		mounted bool
		want    []string
	}{
		{"mounted", "/proc", true, nil},
		{"no longer mounted", t.TempDir(), true, full},
		{"a plain directory (vfs)", t.TempDir(), false, nil},
		{"no layer", "", false, nil},
	} {
		if err := os.MkdirAll(bundle, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := WriteLayerRoot(bundle, c.dir, c.mounted, full); err != nil {
			t.Fatal(err)
		}
		check(c.what, c.want)
	}
}
