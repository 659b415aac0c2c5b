package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/rootfs"
)

// ErrVolumeInUse is returned when removing a volume containers use.
var ErrVolumeInUse = errors.New("volume is in use by a container")

// Sizes measures an image container's file system; a container with a
// rootfs directory has none (nil).
func (s *Supervisor) Sizes(name string) (*rootfs.Sizes, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, err
	}
	return s.fs.Sizes(cfg)
}

// Export writes a container's file system as a tar.
func (s *Supervisor) Export(name string, w io.Writer) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	return s.fs.Export(cfg, w)
}

// MountContainer mounts a container's layer for inspection and returns
// where; UnmountContainer takes that mount back.
func (s *Supervisor) MountContainer(name string) (string, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return "", err
	}
	return s.fs.Mount(cfg)
}

// UnmountContainer undoes one MountContainer.
func (s *Supervisor) UnmountContainer(name string) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	return s.fs.Unmount(cfg)
}

// containersUsing lists the containers match accepts, by name.
func (s *Supervisor) containersUsing(match func(*container.Config) bool) ([]string, error) {
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		cfg, err := s.store.Config(n)
		if errors.Is(err, container.ErrNoSuchContainer) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if match(cfg) {
			out = append(out, n)
		}
	}
	return out, nil
}

// RemoveImage removes an image (or one of its names). One that containers
// use is refused unless force, which removes those containers first, as
// podman rmi -f does.
func (s *Supervisor) RemoveImage(ctx context.Context, ref string, force bool) (untagged bool, err error) {
	store, err := s.fs.Images("")
	if err != nil {
		return false, err
	}
	// The name ref found the image by (a short name may mean
	// docker.io/library/N as well as localhost/N): only that name goes
	// when the image keeps others.
	img, name, err := store.Resolve(ref)
	if err != nil {
		return false, err
	}
	if name == "" || len(img.Names) < 2 || !slices.Contains(img.Names, name) {
		users, err := s.containersUsing(func(c *container.Config) bool { return c.ImageID == img.ID })
		if err != nil {
			return false, err
		}
		if len(users) > 0 && !force {
			return false, fmt.Errorf("%w: %s is used by container(s) %s; remove them first or use rmi -f", imagestore.ErrImageInUse, ref, strings.Join(users, ", "))
		}
		for _, n := range users {
			if err := s.Remove(ctx, n, true); err != nil {
				return false, err
			}
		}
	}
	return store.Remove(ref, force)
}

func usesVolume(name string) func(*container.Config) bool {
	return func(c *container.Config) bool {
		return slices.ContainsFunc(c.Mounts, func(m container.Mount) bool { return m.Type == container.MountVolume && m.Name == name })
	}
}

// RemoveVolume removes a named volume. One that containers use is refused
// unless force, which removes those containers first.
func (s *Supervisor) RemoveVolume(ctx context.Context, name string, force bool) error {
	vols, err := s.fs.Volumes()
	if err != nil {
		return err
	}
	if _, err := vols.Get(name); err != nil {
		return err
	}
	users, err := s.containersUsing(usesVolume(name))
	if err != nil {
		return err
	}
	if len(users) > 0 && !force {
		return fmt.Errorf("%w: volume %s is used by container(s) %s; remove them first or use volume rm -f", ErrVolumeInUse, name, strings.Join(users, ", "))
	}
	for _, n := range users {
		if err := s.Remove(ctx, n, true); err != nil {
			return err
		}
	}
	return vols.Remove(name)
}

// VolumeUsers lists the containers that use a volume.
func (s *Supervisor) VolumeUsers(name string) ([]string, error) {
	return s.containersUsing(usesVolume(name))
}
