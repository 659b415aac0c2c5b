// Package volume keeps named volumes: directories under the state
// directory that containers mount, filled once from the image's content
// at the mount point.
package volume

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/names"
)

var (
	// ErrNoSuchVolume is returned for a name no volume has.
	ErrNoSuchVolume = errors.New("no such volume")
	// ErrExists is returned when creating a volume whose name is taken.
	ErrExists = errors.New("volume already exists")
	// ErrBadName marks a volume name that cannot be used.
	ErrBadName = errors.New("invalid volume name")
)

const maxNameLen = 128

// ValidName checks a volume name (as podman: letters, digits, _.-).
func ValidName(name string) error {
	if len(name) > maxNameLen || !names.Valid(name) {
		return fmt.Errorf("%w: %q: use letters, digits and _.- (starting with a letter or digit)", ErrBadName, name)
	}
	return nil
}

// Volume describes one volume.
type Volume struct {
	Name       string    `json:"Name"`
	Mountpoint string    `json:"Mountpoint"`
	CreatedAt  time.Time `json:"CreatedAt"`
	// CopiedUp records that the volume was filled (or found non-empty)
	// once: it is never filled again, even if emptied later.
	CopiedUp bool `json:"CopiedUp"`
}

// Store keeps volumes below one directory: NAME/_data holds the content,
// NAME/volume.json the record.
type Store struct{ dir string }

const (
	dataDir    = "_data"
	recordFile = "volume.json"
)

// Open opens (creating if needed) the volume directory.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open volume directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Create makes a new, empty volume.
func (s *Store) Create(name string) (Volume, error) {
	if err := ValidName(name); err != nil {
		return Volume{}, err
	}
	tmp, err := os.MkdirTemp(s.dir, ".new-")
	if err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	v := Volume{Name: name, Mountpoint: filepath.Join(s.dir, name, dataDir), CreatedAt: time.Now()}
	err = os.Mkdir(filepath.Join(tmp, dataDir), 0o755)
	if err == nil {
		err = writeRecord(filepath.Join(tmp, recordFile), v)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	// The rename claims the name: of two creates, one wins.
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
			return Volume{}, fmt.Errorf("%w: %s", ErrExists, name)
		}
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	return v, nil
}

// Get reads a volume's record.
func (s *Store) Get(name string) (Volume, error) {
	if err := ValidName(name); err != nil {
		return Volume{}, err
	}
	var v Volume
	data, err := os.ReadFile(filepath.Join(s.dir, name, recordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return v, fmt.Errorf("%w: %s (see ctr-unit volume ls)", ErrNoSuchVolume, name)
	}
	if err == nil {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
		return v, fmt.Errorf("read volume %s: %w", name, err)
	}
	return v, nil
}

// Ensure returns the volume, creating it if it does not exist (as a
// container's -v NAME:/path does).
func (s *Store) Ensure(name string) (Volume, error) {
	v, err := s.Get(name)
	if errors.Is(err, ErrNoSuchVolume) {
		v, err = s.Create(name)
		if errors.Is(err, ErrExists) {
			return s.Get(name)
		}
	}
	return v, err
}

// List returns every volume, by name.
func (s *Store) List() ([]Volume, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Volume
	for _, e := range entries {
		if !e.IsDir() || ValidName(e.Name()) != nil {
			continue
		}
		v, err := s.Get(e.Name())
		if errors.Is(err, ErrNoSuchVolume) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a volume and its content. Whether containers still use it
// is the caller's to check.
func (s *Store) Remove(name string) error {
	if _, err := s.Get(name); err != nil {
		return err
	}
	gone := filepath.Join(s.dir, fmt.Sprintf(".rm-%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(filepath.Join(s.dir, name), gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// CopyUp fills a volume from rootfs at ctrPath the first time a container
// uses it, and only if it is empty: content already there is never
// overwritten (CVE-2020-1726). ctrPath is resolved inside rootfs, so
// symlinks and .. in the image cannot point the copy outside it. It
// reports whether anything was copied. copyTree copies a directory's
// content, owners, modes and times into another (the image store's copy,
// which the caller links: this package stays out of the binaries that
// have no image store).
func (s *Store) CopyUp(name, rootfs, ctrPath string, copyTree func(src, dst string) error) (bool, error) {
	v, err := s.Get(name)
	if err != nil {
		return false, err
	}
	unlock, err := s.lock(name)
	if err != nil {
		return false, err
	}
	defer unlock()
	if v, err = s.Get(name); err != nil || v.CopiedUp {
		return false, err
	}
	copied := false
	empty, err := isEmptyDir(v.Mountpoint)
	if err != nil {
		return false, fmt.Errorf("volume %s: %w", name, err)
	}
	if empty {
		src, err := securejoin.SecureJoin(rootfs, ctrPath)
		if err != nil {
			return false, fmt.Errorf("volume %s: resolve %s in the container: %w", name, ctrPath, err)
		}
		if info, err := os.Stat(src); err == nil && info.IsDir() {
			if err := copyTree(src, v.Mountpoint); err != nil {
				return false, fmt.Errorf("volume %s: copy %s from the image: %w", name, ctrPath, err)
			}
			// The copy leaves out the directory itself: the volume's top
			// takes its owner and mode, as podman's copy-up does, so an
			// image's non-root user can write to its volume.
			if err := takeOwnerAndMode(v.Mountpoint, info); err != nil {
				return false, fmt.Errorf("volume %s: %w", name, err)
			}
			copied = true
		}
	}
	v.CopiedUp = true
	if err := writeRecord(filepath.Join(s.dir, name, recordFile), v); err != nil {
		return copied, fmt.Errorf("volume %s: %w", name, err)
	}
	return copied, nil
}

// takeOwnerAndMode gives dir the owner and mode of the directory info
// describes.
func takeOwnerAndMode(dir string, info os.FileInfo) error {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dir, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dir, info.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
}

func (s *Store) lock(name string) (func(), error) {
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("lock volume %s: %w", name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock volume %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

func writeRecord(path string, v Volume) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, append(data, '\n'), 0o600, renameio.WithTempDir(filepath.Dir(path)))
}
