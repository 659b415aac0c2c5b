package unitstep

import (
	"os"
	"slices"
	"testing"
	"time"
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

// While run -d holds the layer root, the unit's steps wait for it; once
// released (or where nothing holds it) they go on at once.
func TestAwaitLayerRootWaitsForTheHolder(t *testing.T) {
	bundle := t.TempDir()
	if err := AwaitLayerRoot(bundle); err != nil {
		t.Fatalf("no layer root: %v", err)
	}
	if err := WriteLayerRoot(bundle, "/proc", true, []string{"ctr-unit", "start", "web"}); err != nil {
		t.Fatal(err)
	}
	release, err := HoldLayerRoot(bundle)
	if err != nil {
		t.Fatal(err)
	}
	awaited := make(chan error, 1)
	go func() { awaited <- AwaitLayerRoot(bundle) }()
	select {
	case err := <-awaited:
		t.Fatalf("AwaitLayerRoot returned (%v) while the layer root was held", err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case err := <-awaited:
		if err != nil {
			t.Fatalf("AwaitLayerRoot after the release: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitLayerRoot still waits after the release")
	}
	if err := AwaitLayerRoot(bundle); err != nil {
		t.Fatalf("released: %v", err)
	}
}
