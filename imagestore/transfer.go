package imagestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	storage "go.podman.io/storage"
	"golang.org/x/sys/unix"
)

// An image comes into the store from outside (a pull, a load, an import)
// layer by layer, bottom first, and its image record last: until then the
// layers it has are dangling, referenced by nothing. Each such operation
// holds the store's transfer lock shared; taking dangling layers away (after
// a failure, or in image prune) needs it exclusive, so that no layer
// another operation still builds on goes away under it.

const (
	transferLockFile = "ctr-unit-transfer.lock"
	tmpDirName       = "ctr-unit-tmp"
)

// Transfer is one operation that moves images in or out of the store
// (pushes and saves hold the lock too: it guards the scratch directory).
type Transfer struct {
	s    *Store
	lock *os.File
	// existed are the images there before it began, made those it
	// stored that were not.
	existed map[string]bool
	made    []string
	tmp     string
}

// BeginTransfer starts a transfer. When no other one runs, the scratch
// files earlier ones left (killed mid-way) go first.
func (s *Store) BeginTransfer() (*Transfer, error) {
	lock, err := os.OpenFile(filepath.Join(s.s.GraphRoot(), transferLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	tmp := filepath.Join(s.s.GraphRoot(), tmpDirName)
	if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		// Alone: nothing in tmp is in use.
		_ = os.RemoveAll(tmp)
	}
	// Turns the exclusive lock shared, or waits for a cleanup to end.
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		lock.Close()
		return nil, err
	}
	imgs, err := s.s.Images()
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("list images: %w", err)
	}
	a := &Transfer{s: s, lock: lock, existed: map[string]bool{}, tmp: tmp}
	for _, img := range imgs {
		a.existed[img.ID] = true
	}
	return a, nil
}

// TmpDir is where the operation keeps its scratch files: on the store's
// file system (not /run's memory), and cleaned after a crash.
func (a *Transfer) TmpDir() string { return a.tmp }

// Stored notes an image the operation stored, for Undo.
func (a *Transfer) Stored(id string) {
	if !a.existed[id] && !slices.Contains(a.made, id) {
		a.made = append(a.made, id)
	}
}

// Done ends a successful operation.
func (a *Transfer) Done() {
	a.lock.Close()
}

// Undo ends a failed operation: the images it stored go, then, if no
// other operation is adding, every dangling layer. Layers left because
// another one was running are used by the next pull of their image, or
// removed by image prune.
func (a *Transfer) Undo() error {
	defer a.lock.Close()
	var errs []error
	for i := len(a.made) - 1; i >= 0; i-- {
		if err := a.s.deleteImageRecord(a.made[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if unix.Flock(int(a.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		if _, err := a.s.removeDanglingLayers(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("taking back what was stored: %w", err)
	}
	return nil
}

// deleteImageRecord deletes an image but not its layers: the dangling
// ones go under the exclusive lock, once no transfer may build on them.
func (s *Store) deleteImageRecord(id string) error {
	if _, err := s.s.Image(id); errors.Is(err, storage.ErrImageUnknown) {
		return nil
	}
	if err := s.s.Delete(id); err != nil && !errors.Is(err, storage.ErrImageUnknown) && !errors.Is(err, storage.ErrLayerUnknown) {
		return fmt.Errorf("remove image %s: %w", shortID(id), err)
	}
	return nil
}

// PruneLayers removes the layers no image or container uses, which an
// operation killed mid-way leaves. It waits while images are being added.
func (s *Store) PruneLayers(ctx context.Context) (int, error) {
	lock, err := os.OpenFile(filepath.Join(s.s.GraphRoot(), transferLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("image store lock: %w", err)
	}
	defer lock.Close()
	for unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for images being added: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = os.RemoveAll(filepath.Join(s.s.GraphRoot(), tmpDirName))
	return s.removeDanglingLayers()
}

// removeDanglingLayers deletes every layer that no image and no container
// uses, top layers first. The caller holds the transfer lock exclusive.
func (s *Store) removeDanglingLayers() (int, error) {
	// Layers are listed first: a container's layer is made together with
	// the container under the layer store's lock, so any layer listed here
	// has its container in the list read after.
	layers, err := s.s.Layers()
	if err != nil {
		return 0, fmt.Errorf("list layers: %w", err)
	}
	imgs, err := s.s.Images()
	if err != nil {
		return 0, fmt.Errorf("list images: %w", err)
	}
	ctrs, err := s.s.Containers()
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	parent := map[string]string{}
	for _, l := range layers {
		parent[l.ID] = l.Parent
	}
	used := map[string]bool{}
	mark := func(id string) {
		for id != "" && !used[id] {
			used[id] = true
			id = parent[id]
		}
	}
	for _, img := range imgs {
		mark(img.TopLayer)
		for _, m := range img.MappedTopLayers {
			mark(m)
		}
	}
	for _, c := range ctrs {
		mark(c.LayerID)
	}
	depth := func(id string) int {
		d := 0
		for ; id != "" && d <= len(layers); id = parent[id] {
			d++
		}
		return d
	}
	var dangling []string
	for _, l := range layers {
		if !used[l.ID] {
			dangling = append(dangling, l.ID)
		}
	}
	slices.SortFunc(dangling, func(a, b string) int { return depth(b) - depth(a) })
	var errs []error
	n := 0
	for _, id := range dangling {
		// Storage refuses a layer something uses after all.
		if err := s.s.DeleteLayer(id); err != nil && !errors.Is(err, storage.ErrLayerUnknown) {
			errs = append(errs, fmt.Errorf("remove layer %s: %w", shortID(id), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
