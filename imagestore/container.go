package imagestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	storage "go.podman.io/storage"
	storarchive "go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/stringid"

	"github.com/ctr-unit/ctr-unit/jsonfile"
)

// CreateContainer makes a read-write layer over an image for one
// container and returns its ID, which names both the store's container
// record and its layer. metadata is kept with it (e.g. the container's
// name, for whoever looks into the store).
//
// The store writes its records of the container and its layer without
// waiting for the disk (storage's "volatile" records, as podman's --rm
// containers have), which a start would otherwise wait for: the caller
// flushes them with SyncContainers, before its own record that names the
// layer or, where that record comes first (CreateContainerAs), after it.
// Open keeps the layer's mount itself durable.
func (s *Store) CreateContainer(imageID, metadata string) (string, error) {
	id := NewContainerID()
	return id, s.CreateContainerAs(id, imageID, metadata)
}

// NewContainerID is a new ID for CreateContainerAs.
func NewContainerID() string { return stringid.GenerateRandomID() }

// CreateContainerAs is CreateContainer with the ID chosen beforehand
// (NewContainerID), so that a record can name the layer before it is made.
// A layer of that ID made already fails with ErrLayerExists; one without
// its container record, which storage makes after the layer (a process
// killed between the two), is made again.
func (s *Store) CreateContainerAs(id, imageID, metadata string) error {
	create := func() error {
		_, err := s.s.CreateContainer(id, nil, imageID, id, metadata, &storage.ContainerOptions{Volatile: true})
		return err
	}
	err := create()
	if errors.Is(err, storage.ErrDuplicateID) && s.layerOnly(id) {
		if err = s.s.DeleteLayer(id); err == nil {
			err = create()
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, storage.ErrImageUnknown):
			return fmt.Errorf("%w: %s", ErrNoSuchImage, imageID)
		case errors.Is(err, storage.ErrDuplicateID):
			return fmt.Errorf("%w: %s", ErrLayerExists, shortID(id))
		}
		return fmt.Errorf("create container layer: %w", err)
	}
	return nil
}

// layerOnly says whether id is a layer without a container record.
func (s *Store) layerOnly(id string) bool {
	if _, err := s.s.Container(id); !errors.Is(err, storage.ErrContainerUnknown) {
		return false
	}
	_, err := s.s.Layer(id)
	return err == nil
}

// MountPoint is where Mount will mount layer id, when the driver says so
// beforehand: overlay mounts each layer at its own "merged" directory;
// vfs's root is a copy, made only with the layer, so its ok is false.
// Mount's own answer is the one that counts: a caller that wrote this
// down compares it with Mount's.
func (s *Store) MountPoint(id string) (dir string, ok bool) {
	if s.Driver() != "overlay" {
		return "", false
	}
	return filepath.Join(s.s.GraphRoot(), "overlay", id, "merged"), true
}

// Mount mounts a container's layer (counted: each Mount needs an
// Unmount) and returns where its root filesystem is.
func (s *Store) Mount(id string) (string, error) {
	dir, err := s.s.Mount(id, "")
	if err != nil {
		return "", fmt.Errorf("mount container layer %s: %w", shortID(id), s.notFound(id, err))
	}
	return dir, nil
}

// Unmount takes back one Mount; with all, every mount of the layer, as
// after the container stopped however it stopped. Unmounting a layer
// that is not mounted succeeds.
func (s *Store) Unmount(id string, all bool) error {
	for {
		mounted, err := s.s.Unmount(id, all)
		if errors.Is(err, storage.ErrLayerNotMounted) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmount container layer %s: %w", shortID(id), s.notFound(id, err))
		}
		if !all || !mounted {
			return nil
		}
	}
}

// MountedAt says where the layer is mounted, as the store counts it; ""
// if it is not.
func (s *Store) MountedAt(id string) (string, error) {
	l, err := s.s.Layer(id)
	if err != nil {
		return "", s.notFound(id, err)
	}
	if l.MountCount == 0 {
		return "", nil
	}
	return l.MountPoint, nil
}

// DeleteContainer unmounts and deletes a container's layer. Deleting one
// that is gone succeeds.
func (s *Store) DeleteContainer(id string) error {
	if !s.s.Exists(id) {
		return nil
	}
	if err := s.Unmount(id, true); err != nil {
		return err
	}
	err := s.s.DeleteContainer(id)
	if errors.Is(err, storage.ErrNotAContainer) {
		// A layer without its container record (CreateContainerAs).
		if err = s.s.DeleteLayer(id); errors.Is(err, storage.ErrLayerUnknown) {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
		return fmt.Errorf("delete container layer %s: %w", shortID(id), err)
	}
	// A layer back after a crash would keep its image in use.
	return s.SyncContainers()
}

// SyncContainers flushes the store's records of the containers made by
// CreateContainer (and of those deleted since) to the disk.
func (s *Store) SyncContainers() error {
	for _, p := range s.volatileRecords() {
		for _, q := range []string{p, filepath.Dir(p)} {
			if err := jsonfile.Sync(q); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("image store: save container layers: %w", err)
			}
		}
	}
	return nil
}

// volatileRecords are the files of the store's volatile records: those of
// the layers, then those of the containers (storage's own layout).
func (s *Store) volatileRecords() []string {
	root, driver := s.s.GraphRoot(), s.s.GraphDriverName()
	return []string{
		filepath.Join(root, driver+"-layers", "volatile-layers.json"),
		filepath.Join(root, driver+"-containers", "volatile-containers.json"),
	}
}

// DiffSize is how many bytes a container wrote into its layer.
func (s *Store) DiffSize(id string) (int64, error) {
	l, err := s.s.Layer(id)
	if err != nil {
		return 0, s.notFound(id, err)
	}
	n, err := s.s.DiffSize(l.Parent, l.ID)
	if err != nil {
		return 0, fmt.Errorf("size of container layer %s: %w", shortID(id), err)
	}
	return n, nil
}

// ImageSize is the size of an image's layers.
func (s *Store) ImageSize(imageID string) (int64, error) {
	n, err := s.s.ImageSize(imageID)
	if err != nil {
		return 0, fmt.Errorf("size of image %s: %w", shortID(imageID), err)
	}
	return n, nil
}

// Export writes a container's whole file system (its image and what it
// wrote) to w as a tar.
func (s *Store) Export(id string, w io.Writer) (err error) {
	dir, err := s.Mount(id)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := s.Unmount(id, false); uerr != nil && err == nil {
			err = uerr
		}
	}()
	rc, err := storarchive.TarWithOptions(dir, &storarchive.TarOptions{})
	if err != nil {
		return fmt.Errorf("export container layer %s: %w", shortID(id), err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("export container layer %s: %w", shortID(id), err)
	}
	return nil
}

func (s *Store) notFound(id string, err error) error {
	if errors.Is(err, storage.ErrLayerUnknown) || errors.Is(err, storage.ErrContainerUnknown) || errors.Is(err, storage.ErrNotAContainer) {
		return fmt.Errorf("%w: %s: %w", ErrNoSuchLayer, shortID(id), err)
	}
	return err
}
