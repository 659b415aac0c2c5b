// Package imagestore keeps images and container filesystems in a
// containers/storage store (go.podman.io/storage): it loads OCI and
// docker archives and plain rootfs tarballs as images, lists, inspects and
// removes them, and gives each container a read-write layer over its image
// that can be mounted, measured, exported and deleted.
//
// A binary using this package must call storage's reexec.Init() first
// thing in main: the overlay driver re-executes itself to mount.
package imagestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	storage "go.podman.io/storage"
	"go.podman.io/storage/types"
)

var (
	// ErrNoSuchImage is returned for a reference no image matches.
	ErrNoSuchImage = errors.New("no such image")
	// ErrImageInUse is returned when removing an image containers use.
	ErrImageInUse = errors.New("image is in use by a container")
	// ErrBadArchive marks an archive that cannot be loaded: corrupt,
	// truncated or of an unknown layout.
	ErrBadArchive = errors.New("bad image archive")
	// ErrBadName marks an image name that cannot be used.
	ErrBadName = errors.New("invalid image name")
	// ErrNoSuchLayer is returned for a container layer the store lacks.
	ErrNoSuchLayer = errors.New("no such container layer")
)

// Drivers tried, in order, when none is chosen: overlay where the kernel
// supports it, vfs (a full copy per layer) everywhere else.
var driverPriority = []string{"overlay", "vfs"}

// Options say where the store lives.
type Options struct {
	// GraphRoot keeps layers and image records (persistent).
	GraphRoot string
	// RunRoot keeps mount counts and locks (under /run: gone at reboot,
	// as the mounts are).
	RunRoot string
	// Driver is "overlay" or "vfs"; "" detects (a store keeps the driver
	// it was first used with).
	Driver string
}

// Store is an open image store.
type Store struct {
	s storage.Store
}

// Open opens (creating if needed) the store o describes.
func Open(o Options) (*Store, error) {
	if o.GraphRoot == "" || o.RunRoot == "" {
		return nil, errors.New("image store: graph root and run root must be set")
	}
	opts := types.StoreOptions{
		GraphRoot:           o.GraphRoot,
		RunRoot:             o.RunRoot,
		GraphDriverName:     o.Driver,
		GraphDriverPriority: driverPriority,
		// The driver would otherwise bind-mount its home onto itself to
		// make it private; that mount outlives every command and blocks
		// removing the state directory.
		GraphDriverOptions: []string{"overlay.skip_mount_home=true"},
	}
	s, err := storage.GetStore(opts)
	if err != nil {
		return nil, fmt.Errorf("open image store at %s: %w", o.GraphRoot, err)
	}
	return &Store{s: s}, nil
}

// Close releases the store. Layers stay mounted: their mounts belong to
// running containers (storage's Shutdown would also take the layer lock
// and try to unmount the driver's home, neither of which a short-lived
// command needs).
func (s *Store) Close() error {
	s.s.Free()
	return nil
}

// Driver names the storage driver in use.
func (s *Store) Driver() string { return s.s.GraphDriverName() }

// HealthConfig is a docker-format healthcheck from an image config. The
// OCI image spec has no such field; docker and podman images carry it.
type HealthConfig struct {
	Test        []string      `json:"Test,omitempty"`
	Interval    time.Duration `json:"Interval,omitempty"`
	Timeout     time.Duration `json:"Timeout,omitempty"`
	StartPeriod time.Duration `json:"StartPeriod,omitempty"`
	Retries     int           `json:"Retries,omitempty"`
}

// Config is what an image says about the containers run from it.
type Config struct {
	v1.ImageConfig
	Healthcheck *HealthConfig `json:"Healthcheck,omitempty"`
}

// configFile is an image config blob: OCI's, or docker's, which has the
// same fields plus Healthcheck.
type configFile struct {
	v1.Image
	// Shadows v1.Image's Config (the shallower field wins).
	Config Config `json:"config"`
}

// Image describes one stored image.
type Image struct {
	ID           string    `json:"Id"`
	Names        []string  `json:"Names"`
	Created      time.Time `json:"Created"`
	Size         int64     `json:"Size"`
	TopLayer     string    `json:"TopLayer"`
	Architecture string    `json:"Architecture,omitempty"`
	OS           string    `json:"Os,omitempty"`
	Config       Config    `json:"Config"`
}

// Big-data key of the image's config blob.
const configKey = "config"

// Images lists every image, newest first.
func (s *Store) Images() ([]Image, error) {
	imgs, err := s.s.Images()
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]Image, 0, len(imgs))
	for i := range imgs {
		img, err := s.describe(&imgs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

func (s *Store) describe(img *storage.Image) (Image, error) {
	out := Image{ID: img.ID, Names: img.Names, Created: img.Created, TopLayer: img.TopLayer}
	if out.Names == nil {
		out.Names = []string{}
	}
	data, err := s.s.ImageBigData(img.ID, configKey)
	if err != nil {
		return out, fmt.Errorf("image %s: read config: %w", shortID(img.ID), err)
	}
	var cf configFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return out, fmt.Errorf("image %s: parse config: %w", shortID(img.ID), err)
	}
	out.Config, out.Architecture, out.OS = cf.Config, cf.Architecture, cf.OS
	if cf.Created != nil {
		out.Created = *cf.Created
	}
	if size, err := s.s.ImageSize(img.ID); err == nil {
		out.Size = size
	}
	return out, nil
}

// Inspect resolves ref (a name, an ID or a unique ID prefix) and
// describes the image.
func (s *Store) Inspect(ref string) (Image, error) {
	img, err := s.lookup(ref)
	if err != nil {
		return Image{}, err
	}
	return s.describe(img)
}

// lookup resolves a reference: an exact name (with ":latest" implied),
// a full ID, or a unique prefix of one.
func (s *Store) lookup(ref string) (*storage.Image, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty reference", ErrNoSuchImage)
	}
	if name, err := NormalizeName(ref); err == nil {
		if img, err := s.s.Image(name); err == nil {
			return img, nil
		}
	}
	if img, err := s.s.Image(ref); err == nil {
		return img, nil
	}
	imgs, err := s.s.Images()
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var match *storage.Image
	for i := range imgs {
		if strings.HasPrefix(imgs[i].ID, strings.TrimPrefix(ref, "sha256:")) {
			if match != nil {
				return nil, fmt.Errorf("%w: %q matches more than one image; give more of the ID", ErrNoSuchImage, ref)
			}
			match = &imgs[i]
		}
	}
	if match == nil {
		return nil, fmt.Errorf("%w: %s (see ctr-unit images)", ErrNoSuchImage, ref)
	}
	return match, nil
}

// Remove removes an image, or with a name of an image that has several
// only that name. An image that containers use is refused unless force,
// which deletes those containers' layers first.
func (s *Store) Remove(ref string, force bool) (untagged bool, err error) {
	img, err := s.lookup(ref)
	if err != nil {
		return false, err
	}
	if name, nerr := NormalizeName(ref); nerr == nil && len(img.Names) > 1 && slices.Contains(img.Names, name) {
		if err := s.s.RemoveNames(img.ID, []string{name}); err != nil {
			return false, fmt.Errorf("untag %s: %w", name, err)
		}
		return true, nil
	}
	users, err := s.containersOf(img.ID)
	if err != nil {
		return false, err
	}
	if len(users) > 0 && !force {
		return false, fmt.Errorf("%w: %s is used by %d container(s); remove them first or use rmi -f", ErrImageInUse, ref, len(users))
	}
	for _, c := range users {
		if err := s.DeleteContainer(c); err != nil {
			return false, err
		}
	}
	if _, err := s.s.DeleteImage(img.ID, true); err != nil {
		return false, fmt.Errorf("remove image %s: %w", ref, err)
	}
	return false, nil
}

// containersOf lists the container layers made from an image.
func (s *Store) containersOf(imageID string) ([]string, error) {
	cs, err := s.s.Containers()
	if err != nil {
		return nil, fmt.Errorf("list container layers: %w", err)
	}
	var ids []string
	for _, c := range cs {
		if c.ImageID == imageID {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// Layers lists the IDs of every layer in the store (image layers and
// containers' read-write layers), for checks and tests.
func (s *Store) Layers() ([]string, error) {
	ls, err := s.s.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	ids := make([]string, 0, len(ls))
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids, nil
}

// NormalizeName turns NAME[:TAG] into the stored form: tag "latest" when
// none is given, docker.io/library/ and localhost/ prefixes dropped so that
// names from docker-archives and plain names meet.
func NormalizeName(ref string) (string, error) {
	name := ref
	for _, p := range []string{"docker.io/library/", "docker.io/", "localhost/"} {
		name = strings.TrimPrefix(name, p)
	}
	if name == "" || strings.ContainsAny(name, "@ \t\n") {
		return "", fmt.Errorf("%w: %q: use NAME[:TAG]", ErrBadName, ref)
	}
	repo, tag := name, "latest"
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	if !validRepo(repo) || !validTag(tag) {
		return "", fmt.Errorf("%w: %q: use lower-case NAME[:TAG] (letters, digits, ._-/)", ErrBadName, ref)
	}
	return repo + ":" + tag, nil
}

func validRepo(s string) bool {
	if s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:", r)) {
			return false
		}
	}
	// A 64-hex name would be taken for an ID.
	return !isHexID(s)
}

func validTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ShortID is the 12-character form of an image or layer ID.
func ShortID(id string) string { return shortID(id) }

// tmpDir is where the store keeps scratch files (same file system as the
// layers, not /run's memory).
func (s *Store) tmpDir() (string, error) {
	dir := filepath.Join(s.s.GraphRoot(), "ctr-unit-tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}
