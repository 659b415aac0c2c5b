package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// The refresh after a boot leaves alone a container another command
// holds: that command is starting it and writing its bundle, and the
// container's boot ID is recorded only after that.
func TestRefreshLeavesAContainerBeingStartedAlone(t *testing.T) {
	if _, err := unitstep.BootID(); err != nil {
		t.Skip("no boot ID here:", err)
	}
	sv, _ := testSupervisor(t, cgroupmgr.Unified)
	ctx := context.Background()
	create(t, sv, "web", false)
	bundle := sv.dirs.Bundle("web")
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(sv.dirs.StateDir, lastBootFile)

	unlock, err := sv.store.Lock(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.refreshBoot(); err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Stat(bundle); err != nil {
		t.Errorf("the refresh removed the bundle of a container being started: %v", err)
	}

	// Not held, and never started in this boot: stale, and removed.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	if err := sv.refreshBoot(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bundle); !os.IsNotExist(err) {
		t.Errorf("the bundle of a container of an earlier boot is left: %v", err)
	}
}
