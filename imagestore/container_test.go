package imagestore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A container's layer is recorded where SyncContainers flushes it, and
// gone from there once deleted: were storage's layout to change, the
// sync would find nothing to flush and say nothing.
func TestSyncContainersFindsTheRecords(t *testing.T) {
	s := openStore(t)
	img, _ := addImage(t, s, "")
	id, err := s.CreateContainer(img, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncContainers(); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.volatileRecords() {
		if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), id) {
			t.Errorf("%s: %v; want a record of %s in it", p, err, id)
		}
	}
	if err := s.DeleteContainer(id); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.volatileRecords() {
		if b, err := os.ReadFile(p); err != nil || strings.Contains(string(b), id) {
			t.Errorf("%s after delete: %v; want no record of %s", p, err, id)
		}
	}
}

// The records are volatile, the layer's mount is not: overlay's
// "volatile" would leave a layer that cannot be mounted after a crash.
func TestContainerLayerMountIsNotVolatile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	s, err := Open(Options{GraphRoot: filepath.Join(dir, "graph"), RunRoot: filepath.Join(dir, "run"), Driver: "overlay"})
	if err != nil {
		t.Skipf("no overlay here: %v", err)
	}
	defer s.Close()
	img, _ := addImage(t, s, "")
	id, err := s.CreateContainer(img, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.DeleteContainer(id)
	root, err := s.Mount(id)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unmount(id, true)
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for line := range strings.Lines(string(info)) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == root {
			found = true
			if strings.Contains(line, "volatile") {
				t.Errorf("layer mounted volatile: %s", line)
			}
		}
	}
	if !found {
		t.Fatalf("no mount at %s", root)
	}
}
