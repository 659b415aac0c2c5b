package imagestore

import (
	"errors"
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

// storage makes a container's layer before its container record: a
// process killed between the two leaves the layer alone. Making the
// container of that ID again, or deleting it, takes that layer too, and
// nothing of it is left; a whole one of that ID is not made twice.
func TestLayerWithoutItsContainerRecordIsMadeAgainOrDeleted(t *testing.T) {
	s := openStore(t)
	img, _ := addImage(t, s, "")
	top, err := s.s.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	halfMade := func() string {
		t.Helper()
		id := NewContainerID()
		if _, err := s.s.CreateLayer(id, top.TopLayer, nil, "", true, nil); err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := halfMade()
	if err := s.CreateContainerAs(id, img, ""); err != nil {
		t.Fatalf("make again a container whose layer alone was made: %v", err)
	}
	if c, err := s.s.Container(id); err != nil || c.LayerID != id {
		t.Fatalf("container %s: %+v, %v; want its record, on its layer", id, c, err)
	}
	if err := s.CreateContainerAs(id, img, ""); !errors.Is(err, ErrLayerExists) {
		t.Errorf("make a whole container again: %v, want ErrLayerExists", err)
	}
	for _, id := range []string{id, halfMade()} {
		if err := s.DeleteContainer(id); err != nil {
			t.Fatal(err)
		}
		if s.s.Exists(id) {
			t.Errorf("%s is in the store after DeleteContainer", id)
		}
	}
}
