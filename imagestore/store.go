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
	"slices"
	"sort"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
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
	// ErrLayerExists is returned when making a container layer whose ID
	// the store has.
	ErrLayerExists = errors.New("container layer exists")
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
		// Containers' records are volatile (CreateContainer), their
		// layers' mounts are not: overlay's volatile mount leaves a
		// layer that cannot be mounted again after a crash.
		DisableVolatile: true,
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
	ID    string   `json:"Id"`
	Names []string `json:"Names"`
	// Digest is the digest of the image's manifest, as pulled or loaded
	// ("" for an image made here without one).
	Digest digest.Digest `json:"Digest,omitempty"`
	// RepoTags are the tagged names, RepoDigests each repository's
	// REPO@DIGEST, as podman shows them.
	RepoTags     []string  `json:"RepoTags"`
	RepoDigests  []string  `json:"RepoDigests"`
	Created      time.Time `json:"Created"`
	Size         int64     `json:"Size"`
	TopLayer     string    `json:"TopLayer"`
	Architecture string    `json:"Architecture,omitempty"`
	OS           string    `json:"Os,omitempty"`
	Config       Config    `json:"Config"`
}

// legacyConfigKey is where ctr-unit's own loader kept an image's config
// blob; containers/image keeps it under the config's digest.
const legacyConfigKey = "config"

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
	out := Image{ID: img.ID, Names: img.Names, Created: img.Created, TopLayer: img.TopLayer, Digest: img.Digest}
	if out.Names == nil {
		out.Names = []string{}
	}
	out.RepoTags, out.RepoDigests = repoNames(img)
	data, err := s.configBlob(img)
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

// configBlob reads an image's config: under the digest its manifest names
// (containers/image's key), or under ctr-unit's older key.
func (s *Store) configBlob(img *storage.Image) ([]byte, error) {
	if slices.Contains(img.BigDataNames, legacyConfigKey) {
		return s.s.ImageBigData(img.ID, legacyConfigKey)
	}
	if m, err := s.s.ImageBigData(img.ID, storage.ImageDigestBigDataKey); err == nil {
		var man struct {
			Config struct {
				Digest digest.Digest `json:"digest"`
			} `json:"config"`
		}
		if json.Unmarshal(m, &man) == nil && man.Config.Digest != "" && slices.Contains(img.BigDataNames, man.Config.Digest.String()) {
			return s.s.ImageBigData(img.ID, man.Config.Digest.String())
		}
	}
	// An image whose ID is its config's digest (what containers/image
	// makes when the manifest is gone or unusual).
	if key := "sha256:" + img.ID; slices.Contains(img.BigDataNames, key) {
		return s.s.ImageBigData(img.ID, key)
	}
	return nil, fmt.Errorf("no config blob among %v", img.BigDataNames)
}

// repoNames are an image's tagged names and its REPO@DIGEST for every
// repository it is named in and every manifest digest it has.
func repoNames(img *storage.Image) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	var repos []string
	for _, n := range img.Names {
		repo, tag, _ := splitStoredName(n)
		if tag != "" {
			tags = append(tags, n)
		}
		if !slices.Contains(repos, repo) {
			repos = append(repos, repo)
		}
	}
	ds := img.Digests
	if len(ds) == 0 && img.Digest != "" {
		ds = []digest.Digest{img.Digest}
	}
	for _, r := range repos {
		for _, d := range ds {
			digests = append(digests, r+"@"+d.String())
		}
	}
	return tags, digests
}

// Inspect resolves ref (a name, an ID or a unique ID prefix) and
// describes the image.
func (s *Store) Inspect(ref string) (Image, error) {
	img, _, err := s.lookup(ref)
	if err != nil {
		return Image{}, err
	}
	return s.describe(img)
}

// Resolve finds the image ref names and says by which of its names ("" if
// by ID).
func (s *Store) Resolve(ref string) (Image, string, error) {
	img, matched, err := s.lookup(ref)
	if err != nil {
		return Image{}, "", err
	}
	out, err := s.describe(img)
	return out, matched, err
}

// Find is Resolve without reading the image's configuration: its ID and
// the name that matched ("" for an ID).
func (s *Store) Find(ref string) (id, matched string, err error) {
	img, matched, err := s.lookup(ref)
	if err != nil {
		return "", "", err
	}
	return img.ID, matched, nil
}

// lookup resolves a reference as podman does: an ID (sha256:HEX, the full
// HEX or a unique prefix), a stored name, or a short name: localhost/NAME,
// docker.io's name, the name as ctr-unit stored it before names were
// qualified, and last any one image whose repository ends in /NAME. It
// returns the name that matched ("" for an ID).
func (s *Store) lookup(ref string) (*storage.Image, string, error) {
	if ref == "" {
		return nil, "", fmt.Errorf("%w: empty reference", ErrNoSuchImage)
	}
	if id, ok := strings.CutPrefix(ref, "sha256:"); ok {
		if img, err := s.s.Image(id); err == nil && strings.HasPrefix(img.ID, id) {
			return img, "", nil
		}
		return nil, "", fmt.Errorf("%w: %s (see ctr-unit images)", ErrNoSuchImage, ref)
	}
	n, perr := parseName(ref)
	if perr == nil {
		for _, cand := range candidates(n) {
			if img, err := s.s.Image(cand); err == nil && slices.Contains(img.Names, cand) {
				return img, cand, nil
			}
		}
	}
	imgs, err := s.s.Images()
	if err != nil {
		return nil, "", fmt.Errorf("list images: %w", err)
	}
	if isHexPrefix(ref) {
		var match *storage.Image
		for i := range imgs {
			if strings.HasPrefix(imgs[i].ID, ref) {
				if match != nil {
					return nil, "", fmt.Errorf("%w: %q matches more than one image; give more of the ID", ErrNoSuchImage, ref)
				}
				match = &imgs[i]
			}
		}
		if match != nil {
			return match, "", nil
		}
	}
	if perr == nil && (n.domain == "" || n.digest != "") {
		if img, matched, err := suffixMatch(imgs, n, ref); img != nil || err != nil {
			return img, matched, err
		}
	}
	if perr != nil && !isHexPrefix(ref) {
		return nil, "", perr
	}
	return nil, "", fmt.Errorf("%w: %s (see ctr-unit images)", ErrNoSuchImage, ref)
}

// candidates are the stored names a parsed reference may mean, in order.
func candidates(n name) []string {
	if n.domain != "" {
		q := n.qualified()
		return []string{q.String()}
	}
	local := n.qualified()
	hub := n
	hub.domain = "docker.io"
	// As ctr-unit stored names before they were qualified.
	legacy := n.defaultTag()
	return []string{local.String(), hub.qualified().String(), legacy.String()}
}

// suffixMatch finds the one image with a name in a repository ending in
// /PATH and the same tag or digest; a digest alone also matches an image
// pulled by that manifest digest. More than one image is an error, never
// a guess.
func suffixMatch(imgs []storage.Image, n name, ref string) (*storage.Image, string, error) {
	want := n.defaultTag()
	var match *storage.Image
	var matched string
	var seen []string
	for i := range imgs {
		for _, stored := range imgs[i].Names {
			repo, tag, dig := splitStoredName(stored)
			if !strings.HasSuffix(repo, "/"+want.repo()) && repo != want.repo() {
				continue
			}
			if want.digest != "" && dig != want.digest && !slices.Contains(imgs[i].Digests, want.digest) {
				continue
			}
			if want.digest == "" && tag != want.tag {
				continue
			}
			if match == nil || match.ID != imgs[i].ID {
				seen = append(seen, stored)
			}
			if match == nil {
				match, matched = &imgs[i], stored
			}
			break
		}
	}
	if len(seen) > 1 {
		return nil, "", fmt.Errorf("%w: %q could mean %s; give the full name", ErrNoSuchImage, ref, strings.Join(seen, " or "))
	}
	if match == nil && want.digest != "" {
		// NAME@DIGEST of an image pulled by tag: its manifest digest.
		for i := range imgs {
			if slices.Contains(imgs[i].Digests, want.digest) {
				return &imgs[i], "", nil
			}
		}
	}
	return match, matched, nil
}

func isHexPrefix(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Remove removes an image, or with a name of an image that has several
// only that name. An image that containers use is refused unless force,
// which deletes those containers' layers first.
func (s *Store) Remove(ref string, force bool) (untagged bool, err error) {
	img, matched, err := s.lookup(ref)
	if err != nil {
		return false, err
	}
	if matched != "" && len(img.Names) > 1 {
		if err := s.s.RemoveNames(img.ID, []string{matched}); err != nil {
			return false, fmt.Errorf("untag %s: %w", matched, err)
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

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ShortID is the 12-character form of an image or layer ID.
func ShortID(id string) string { return shortID(id) }

// Storage is the containers/storage store underneath, for the
// containers-storage transport of containers/image.
func (s *Store) Storage() storage.Store { return s.s }
