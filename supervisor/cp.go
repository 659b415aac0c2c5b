package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/chrootarchive"
	"go.podman.io/storage/pkg/idtools"

	"github.com/ctr-unit/ctr-unit/container"
)

// CopyFromContainer copies path in container name to dest on the host, as
// podman cp: a file or a directory (with "/." its contents), into dest if
// that is a directory. The path is resolved inside the container's root
// and read from a process chrooted there, so no symlink in the container
// leads outside it. Owners and modes are kept.
func (s *Supervisor) CopyFromContainer(ctx context.Context, name, path, dest string) error {
	return s.withRoot(ctx, name, func(cfg *container.Config, root string) error {
		src, err := resolveIn(root, path)
		if err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
		info, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("container %s: %s: %w", name, path, errors.Unwrap(err))
		}
		if hasTrailingSlash(path) && !info.IsDir() {
			return fmt.Errorf("container %s: %s is not a directory", name, path)
		}
		srcInfo := archive.CopyInfo{Path: src, Exists: true, IsDir: info.IsDir()}
		dir, base := archive.SplitPathDirEntry(src)
		content, err := chrootarchive.Tar(dir, &archive.TarOptions{
			Compression: archive.Uncompressed, IncludeFiles: []string{base}, IncludeSourceDir: true,
		}, root)
		if err != nil {
			return fmt.Errorf("container %s: read %s: %w", name, path, err)
		}
		defer content.Close()
		dstInfo, err := archive.CopyInfoDestinationPath(dest)
		if err != nil {
			return fmt.Errorf("copy to %s: %w", dest, err)
		}
		dstDir, prepared, err := archive.PrepareArchiveCopy(content, srcInfo, dstInfo)
		if err != nil {
			return fmt.Errorf("copy %s:%s to %s: %w", name, path, dest, err)
		}
		defer prepared.Close()
		if err := archive.Untar(prepared, dstDir, &archive.TarOptions{NoOverwriteDirNonDir: true, NoLchown: false}); err != nil {
			return fmt.Errorf("copy %s:%s to %s: %w", name, path, dest, err)
		}
		return nil
	})
}

// CopyToContainer copies src on the host to path in container name, as
// podman cp does: written by a process chrooted in the container's root,
// so no symlink there leads outside it; the copies belong to the
// container's user (podman cp's --archive), modes are kept.
func (s *Supervisor) CopyToContainer(ctx context.Context, src, name, path string) error {
	srcInfo, err := archive.CopyInfoSourcePath(src, true)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return s.withRoot(ctx, name, func(cfg *container.Config, root string) error {
		dst, err := resolveIn(root, path)
		if err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
		dstInfo := archive.CopyInfo{Path: dst}
		switch info, err := os.Stat(dst); {
		case err == nil:
			dstInfo.Exists, dstInfo.IsDir = true, info.IsDir()
		case errors.Is(err, fs.ErrNotExist):
			if hasTrailingSlash(path) {
				return fmt.Errorf("container %s: directory %s does not exist", name, path)
			}
			parent, perr := os.Stat(filepath.Dir(dst))
			if perr != nil || !parent.IsDir() {
				return fmt.Errorf("container %s: directory %s does not exist", name, filepath.Dir(filepath.Clean("/"+path)))
			}
		default:
			return fmt.Errorf("container %s: %s: %w", name, path, err)
		}
		content, err := archive.TarResource(srcInfo)
		if err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		defer content.Close()
		dstDir, prepared, err := archive.PrepareArchiveCopy(content, srcInfo, dstInfo)
		if err != nil {
			return fmt.Errorf("copy %s to %s:%s: %w", src, name, path, err)
		}
		defer prepared.Close()
		opts := &archive.TarOptions{NoOverwriteDirNonDir: true, ChownOpts: &idtools.IDPair{UID: int(cfg.UID), GID: int(cfg.GID)}}
		if err := chrootarchive.UntarWithRoot(prepared, dstDir, opts, root); err != nil {
			return fmt.Errorf("copy %s to %s:%s: %w", src, name, path, err)
		}
		return nil
	})
}

// withRoot runs fn with the root of container name as the host sees it:
// for a running container the root its processes see (its volumes and
// tmpfs included), through its init; for a stopped one its rootfs
// directory or its layer, mounted meanwhile, with the container locked so
// it does not start meanwhile.
func (s *Supervisor) withRoot(ctx context.Context, name string, fn func(*container.Config, string) error) error {
	info, _, err := s.current(ctx, name)
	if err != nil {
		return err
	}
	if info.Status.Live() {
		pid, _, ok := s.runningInit(name)
		if !ok {
			return fmt.Errorf("%w: %s is %s but its init is gone", ErrNotRunning, name, info.Status)
		}
		return fn(info.Config, fmt.Sprintf("/proc/%d/root", pid))
	}
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	root, err := s.fs.Mount(info.Config)
	if err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	defer func() { _ = s.fs.Unmount(info.Config) }()
	return fn(info.Config, root)
}

// resolveIn resolves a container path inside root, symlinks included,
// keeping a trailing "/" or "/." that says what the user meant.
func resolveIn(root, path string) (string, error) {
	p, err := securejoin.SecureJoin(root, filepath.Clean("/"+path))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return archive.PreserveTrailingDotOrSeparator(p, path), nil
}

func hasTrailingSlash(p string) bool {
	return strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")
}
