package ociruntime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestEachContainerHasAStateRootOfItsOwn(t *testing.T) {
	r := &Runc{Path: "/usr/sbin/runc", Root: "/run/ctr-unit/runc"}
	for _, argv := range [][]string{r.CreateArgv("web", "/b", "/b/pid", "/b/log"), r.StartArgv("web")} {
		i := slices.Index(argv, "--root")
		if i < 0 || argv[i+1] != "/run/ctr-unit/runc/web" {
			t.Errorf("%q: want --root /run/ctr-unit/runc/web", argv)
		}
	}
	if r.StateRoot("web") == r.StateRoot("db") {
		t.Error("two containers share a state root")
	}
}

func TestForgetRemovesOneContainersStateOnly(t *testing.T) {
	r := &Runc{Root: t.TempDir()}
	for _, id := range []string{"web", "db"} {
		dir := filepath.Join(r.StateRoot(id), id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Forget("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.StateRoot("web")); !os.IsNotExist(err) {
		t.Errorf("web's state root is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.StateRoot("db"), "db", "state.json")); err != nil {
		t.Errorf("db's state went with web's: %v", err)
	}
	if err := r.Forget("web"); err != nil {
		t.Errorf("forgetting a container twice: %v", err)
	}
}

// Asking runc about a container it keeps no state of would make runc
// create the state root again; a check refuses first.
func TestProbeOfAForgottenContainerLeavesNoStateRoot(t *testing.T) {
	r := &Runc{Path: "/nonexistent/runc", Root: t.TempDir()}
	if _, err := r.Probe("gone", []string{"true"}, time.Second, filepath.Join(t.TempDir(), "pid"), 100); !errors.Is(err, ErrNoContainer) {
		t.Errorf("Probe: %v, want ErrNoContainer", err)
	}
	if entries, _ := os.ReadDir(r.Root); len(entries) != 0 {
		t.Errorf("state roots appeared: %v", entries)
	}
}
