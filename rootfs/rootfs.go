// Package rootfs is a container's file system: its image's read-write
// layer, its named volumes (made, and filled from the image on first
// use), the user names looked up inside it, and the mount of its root that
// the unit makes before runc runs.
package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	"go.podman.io/storage/pkg/archive"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/unitstep"
	"github.com/ctr-unit/ctr-unit/volume"
)

// FS reaches the file systems of the containers kept in one state
// directory. It opens the image store on first use, once per driver, and
// Close closes it. Its methods may be called from several goroutines at
// once (run -d flushes a new container while it starts it).
type FS struct {
	dirs unitstep.Dirs
	// driver is the image store's driver for new layers ("" detects).
	driver string
	mu     sync.Mutex // guards stores
	stores map[string]*imagestore.Store
}

// New returns the file systems of the containers kept in dirs.
func New(dirs unitstep.Dirs, driver string) *FS {
	return &FS{dirs: dirs, driver: driver, stores: map[string]*imagestore.Store{}}
}

// StorageOptions say where the image store of dirs lives: layers under
// the state directory, mount counts under the runtime directory (gone at
// reboot, as the mounts are).
func StorageOptions(dirs unitstep.Dirs, driver string) imagestore.Options {
	return imagestore.Options{
		GraphRoot: filepath.Join(dirs.StateDir, "storage"),
		RunRoot:   filepath.Join(dirs.RuntimeDir, "storage"),
		Driver:    driver,
	}
}

// Images opens the image store with the given driver ("" is FS's), or
// returns the one open already. FS closes it.
func (f *FS) Images(driver string) (*imagestore.Store, error) {
	if driver == "" {
		driver = f.driver
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.stores[driver]; ok {
		return s, nil
	}
	s, err := imagestore.Open(StorageOptions(f.dirs, driver))
	if err != nil {
		return nil, err
	}
	f.stores[driver] = s
	return s, nil
}

// layerStore is the image store holding an image container's layer; nil
// for a container without one (a rootfs directory).
func (f *FS) layerStore(cfg *container.Config) (*imagestore.Store, error) {
	if cfg.LayerID == "" {
		return nil, nil
	}
	return f.Images(cfg.StorageDriver)
}

// Close closes the image stores FS opened.
func (f *FS) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for d, s := range f.stores {
		errs = append(errs, s.Close())
		delete(f.stores, d)
	}
	return errors.Join(errs...)
}

// Volumes opens the named volumes.
func (f *FS) Volumes() (*volume.Store, error) {
	return volume.Open(filepath.Join(f.dirs.StateDir, "volumes"))
}

// ResolveImage resolves o.Image in the image store and fills what the
// options leave unset from the image's config (container.ApplyImage).
func (f *FS) ResolveImage(o container.Options) (container.Options, error) {
	if o.Image == "" {
		return o, nil
	}
	store, err := f.Images("")
	if err != nil {
		return o, err
	}
	// The name a pull found it by, when there was one: a short name
	// could mean another image here.
	ref := o.Image
	if o.ImageName != "" {
		ref = o.ImageName
	}
	img, err := store.Inspect(ref)
	if err != nil {
		return o, fmt.Errorf("container %s: %w", o.Name, err)
	}
	return container.ApplyImage(o, ImageOf(img))
}

// ImageOf is what a stored image says about its containers.
func ImageOf(img imagestore.Image) container.Image {
	c := img.Config
	out := container.Image{
		ID: img.ID, Name: img.ID, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env,
		WorkingDir: c.WorkingDir, User: c.User, StopSignal: c.StopSignal,
	}
	if len(img.Names) > 0 {
		out.Name = img.Names[0]
	}
	for p := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	slices.Sort(out.ExposedPorts)
	if h := c.Healthcheck; h != nil {
		out.Healthcheck = &container.ImageHealth{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return out
}

// Create makes what a new container's root needs before its record is
// stored: the read-write layer of an image container (cfg.LayerID and
// StorageDriver are set), and what Prepare makes. undo takes the layer
// back if the create fails after this. The layer reaches the disk with
// Sync.
func (f *FS) Create(cfg *container.Config) (undo func(), err error) {
	undo = func() {}
	var store *imagestore.Store
	if cfg.ImageID != "" {
		if store, err = f.Images(""); err != nil {
			return nil, err
		}
		cfg.StorageDriver = store.Driver()
		if cfg.LayerID, err = store.CreateContainer(cfg.ImageID, layerMetadata(cfg)); err != nil {
			return nil, fmt.Errorf("container %s: %w", cfg.Name, err)
		}
		undo = func() { _ = store.DeleteContainer(cfg.LayerID) }
	}
	if err := f.Prepare(cfg); err != nil {
		undo()
		return nil, err
	}
	return undo, nil
}

// CreateLater is Create for a container whose layer can be made while its
// unit starts (MakeLayer): an image container on overlay, whose layer's
// mount point is known before the layer exists, and whose root nothing
// needs before the start (Prepare's user name and volume copies do). It
// names the layer (cfg.LayerID, StorageDriver) and does what Prepare
// does; later is false, with nothing done, for any other container.
func (f *FS) CreateLater(cfg *container.Config) (later bool, err error) {
	if user, fill := rootNeeds(cfg); cfg.ImageID == "" || user || fill {
		return false, nil
	}
	store, err := f.Images("")
	if err != nil {
		return false, err
	}
	id := imagestore.NewContainerID()
	if _, ok := store.MountPoint(id); !ok {
		return false, nil
	}
	cfg.StorageDriver, cfg.LayerID = store.Driver(), id
	return true, f.Prepare(cfg)
}

// LayerRoot is MountLayer for a container CreateLater named a layer for:
// where MakeLayer will mount it.
func (f *FS) LayerRoot(cfg *container.Config) (dir string, mounted bool, err error) {
	store, err := f.Images(cfg.StorageDriver)
	if err != nil {
		return "", false, fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	dir, mounted = store.MountPoint(cfg.LayerID)
	return dir, mounted, nil
}

// MakeLayer makes the layer CreateLater named, unless the store has it.
// Sync flushes it to the disk.
func (f *FS) MakeLayer(cfg *container.Config) error {
	store, err := f.Images(cfg.StorageDriver)
	if err != nil {
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	if err := store.CreateContainerAs(cfg.LayerID, cfg.ImageID, layerMetadata(cfg)); err != nil && !errors.Is(err, imagestore.ErrLayerExists) {
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	return nil
}

// layerMetadata is kept with a container's layer in the image store, for
// whoever looks there.
func layerMetadata(cfg *container.Config) string {
	return fmt.Sprintf(`{"ctr-unit":%q}`, cfg.Name)
}

// Sync flushes what Create made of an image container to the disk. The
// caller syncs it before the container's own record, and may do so while
// the container starts.
func (f *FS) Sync(cfg *container.Config) error {
	store, err := f.layerStore(cfg)
	if store == nil || err != nil {
		return err
	}
	if err := store.SyncContainers(); err != nil {
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	return nil
}

// Prepare resolves what a container's definition names in its root: bind
// sources must exist; named volumes are made (if need be) and filled from
// the root on first use; a user name is looked up in the root's
// /etc/passwd. Only what needs the root mounts its layer.
func (f *FS) Prepare(cfg *container.Config) error {
	for i, m := range cfg.Mounts {
		switch m.Type {
		case container.MountBind:
			if _, err := os.Stat(m.Source); err != nil {
				return fmt.Errorf("%w: container %s: volume source %s: %w", container.ErrInvalid, cfg.Name, m.Source, err)
			}
		case container.MountVolume:
			vols, err := f.Volumes()
			if err != nil {
				return err
			}
			v, err := vols.Ensure(m.Name)
			if err != nil {
				return fmt.Errorf("container %s: %w", cfg.Name, err)
			}
			cfg.Mounts[i].Source = v.Mountpoint
		}
	}
	needsUser, needsCopy := rootNeeds(cfg)
	if !needsUser && !needsCopy {
		return nil
	}
	root := cfg.Rootfs
	if cfg.LayerID != "" {
		store, err := f.Images(cfg.StorageDriver)
		if err != nil {
			return err
		}
		dir, err := store.Mount(cfg.LayerID)
		if err != nil {
			return fmt.Errorf("container %s: %w", cfg.Name, err)
		}
		defer store.Unmount(cfg.LayerID, false)
		root = dir
	}
	if needsUser {
		uid, gid, err := LookupUser(root, cfg.User)
		if err != nil {
			return fmt.Errorf("%w: container %s: %w", container.ErrInvalid, cfg.Name, err)
		}
		cfg.UID, cfg.GID = uid, gid
	}
	if needsCopy {
		vols, err := f.Volumes()
		if err != nil {
			return err
		}
		for _, m := range cfg.Mounts {
			if m.Type == container.MountVolume {
				if _, err := vols.CopyUp(m.Name, root, m.Destination, archive.NewDefaultArchiver().CopyWithTar); err != nil {
					return fmt.Errorf("container %s: %w", cfg.Name, err)
				}
			}
		}
	}
	return nil
}

// rootNeeds says what Prepare needs a container's root for: a user name
// to look up in it, and named volumes to fill from it.
func rootNeeds(cfg *container.Config) (user, fill bool) {
	_, _, numeric := container.NumericUser(cfg.User)
	user = cfg.User != "" && !numeric
	fill = slices.ContainsFunc(cfg.Mounts, func(m container.Mount) bool { return m.Type == container.MountVolume })
	return user, fill
}

// LookupUser finds a user (and group) name in the container's /etc/passwd
// and /etc/group, resolved inside its root.
func LookupUser(root, spec string) (uid, gid uint32, err error) {
	passwd, err := securejoin.SecureJoin(root, "/etc/passwd")
	if err != nil {
		return 0, 0, err
	}
	group, err := securejoin.SecureJoin(root, "/etc/group")
	if err != nil {
		return 0, 0, err
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{}, passwd, group)
	if err != nil {
		return 0, 0, fmt.Errorf("user %q: %w", spec, err)
	}
	return uint32(u.Uid), uint32(u.Gid), nil
}

// MountLayer mounts an image container's layer, unless it is mounted
// already (a start after a failed one), and returns where, and whether
// that is a mount of its own (vfs's is a plain directory); "" for a
// container without a layer. The unit's stop step unmounts it (Release).
func (f *FS) MountLayer(cfg *container.Config) (dir string, mounted bool, err error) {
	if cfg.LayerID == "" {
		return "", false, nil
	}
	store, err := f.Images(cfg.StorageDriver)
	if err != nil {
		return "", false, fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	if dir, err = store.MountedAt(cfg.LayerID); errors.Is(err, imagestore.ErrNoSuchLayer) {
		return "", false, fmt.Errorf("container %s: %w (its layer is gone: ctr-unit rm %s, and create it again)", cfg.Name, err, cfg.Name)
	} else if err != nil {
		return "", false, fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	if dir != "" && unitstep.IsMountpoint(dir) {
		return dir, true, nil
	}
	if dir != "" {
		// Counted as mounted, yet not (unmounted by hand): count it
		// again from nothing, so that the stop step's unmount leaves none.
		if err := store.Unmount(cfg.LayerID, true); err != nil {
			return "", false, fmt.Errorf("container %s: %w", cfg.Name, err)
		}
	}
	if dir, err = store.Mount(cfg.LayerID); err != nil {
		return "", false, fmt.Errorf("container %s: %w (ctr-unit rm and create it again if its layer is gone)", cfg.Name, err)
	}
	return dir, unitstep.IsMountpoint(dir), nil
}

// MountRoot is MountLayer for a bundle written already: the start step of
// a container with scheduled checks, the start step the lean one hands
// over to when the layer is not mounted, and mount-rootfs of units of
// older versions point its root at the layer.
func (f *FS) MountRoot(cfg *container.Config, bundle string) error {
	dir, _, err := f.MountLayer(cfg)
	if err != nil || dir == "" {
		return err
	}
	if err := ociruntime.SetRoot(bundle, dir); err != nil {
		_ = f.Release(cfg)
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	return nil
}

// Release unmounts an image container's layer after it stopped. Nothing
// is left mounted, whoever mounted it; a layer never made (a run -d that
// failed to) has nothing to unmount.
func (f *FS) Release(cfg *container.Config) error {
	store, err := f.layerStore(cfg)
	if store == nil || err != nil {
		return err
	}
	if err := store.Unmount(cfg.LayerID, true); err != nil && !errors.Is(err, imagestore.ErrNoSuchLayer) {
		return err
	}
	return nil
}

// Delete deletes a removed container's layer.
func (f *FS) Delete(cfg *container.Config) error {
	store, err := f.layerStore(cfg)
	if store == nil || err != nil {
		return err
	}
	if err := store.DeleteContainer(cfg.LayerID); err != nil {
		return fmt.Errorf("remove container %s: %w", cfg.Name, err)
	}
	return nil
}

// Sizes are a container's file system sizes, as podman's inspect --size.
type Sizes struct {
	// RootFs is the image's size plus what the container wrote.
	RootFs int64
	// Rw is what the container wrote into its layer.
	Rw int64
}

// Sizes measures an image container's file system; a container with a
// rootfs directory has none (nil).
func (f *FS) Sizes(cfg *container.Config) (*Sizes, error) {
	store, err := f.layerStore(cfg)
	if store == nil || err != nil {
		return nil, err
	}
	rw, err := store.DiffSize(cfg.LayerID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	img, err := store.ImageSize(cfg.ImageID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	return &Sizes{RootFs: img + rw, Rw: rw}, nil
}

// Export writes a container's file system as a tar.
func (f *FS) Export(cfg *container.Config, w io.Writer) error {
	if cfg.LayerID == "" {
		return fmt.Errorf("%w: container %s runs from the directory %s; archive that (tar -C %s -c .)", container.ErrInvalid, cfg.Name, cfg.Rootfs, cfg.Rootfs)
	}
	store, err := f.Images(cfg.StorageDriver)
	if err != nil {
		return err
	}
	return store.Export(cfg.LayerID, w)
}

// Mount mounts a container's layer for inspection and returns where (a
// rootfs container's directory as it is); Unmount takes that mount back.
func (f *FS) Mount(cfg *container.Config) (string, error) {
	if cfg.LayerID == "" {
		return cfg.Rootfs, nil
	}
	store, err := f.Images(cfg.StorageDriver)
	if err != nil {
		return "", err
	}
	return store.Mount(cfg.LayerID)
}

// Unmount undoes one Mount.
func (f *FS) Unmount(cfg *container.Config) error {
	store, err := f.layerStore(cfg)
	if store == nil || err != nil {
		return err
	}
	return store.Unmount(cfg.LayerID, false)
}
