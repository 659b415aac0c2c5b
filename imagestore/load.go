package imagestore

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	storage "go.podman.io/storage"
	"go.podman.io/storage/pkg/stringid"
)

// LoadOptions modify a load or an import.
type LoadOptions struct {
	// Progress, if set, receives a progress line rewritten with \r (for a
	// terminal); nil is quiet.
	Progress io.Writer
}

// Loaded is one image a load stored.
type Loaded struct {
	ID    string
	Names []string
}

// archive is an uncompressed tar file indexed by member path, so that
// blobs are read in place (no copy to a scratch directory).
type archive struct {
	f       *os.File
	members map[string]member
	total   int64
}

type member struct {
	offset, size int64
	link         string // symlink target, resolved on open
}

// openArchive indexes the tar at path. A compressed tar is first
// decompressed into scratch (podman and docker accept those too). A
// truncated or corrupt tar fails here, before anything is stored.
func (s *Store) openArchive(file string) (*archive, func(), error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("open archive: %w", err)
	}
	closeF := func() { f.Close() }
	magic := make([]byte, 2)
	if _, err := io.ReadFull(f, magic); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		plain, cleanup, err := s.gunzipToScratch(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		f, closeF = plain, func() { plain.Close(); cleanup() }
	}
	a, err := indexTar(f)
	if err != nil {
		closeF()
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrBadArchive, file, err)
	}
	return a, closeF, nil
}

func (s *Store) gunzipToScratch(f *os.File) (*os.File, func(), error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
	}
	dir, err := s.tmpDir()
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.CreateTemp(dir, "load-*.tar")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, zr); err != nil {
		tmp.Close()
		cleanup()
		return nil, nil, fmt.Errorf("%w: decompress: %w", ErrBadArchive, err)
	}
	return tmp, cleanup, nil
}

// indexTar records where each regular member's data lies. archive/tar
// reads headers exactly and skips data by seeking, so the file offset
// after Next is where the member's data starts.
func indexTar(f *os.File) (*archive, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a := &archive{f: f, members: map[string]member{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		switch h.Typeflag {
		case tar.TypeReg:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			if off+h.Size > info.Size() {
				return nil, fmt.Errorf("member %s is truncated", name)
			}
			a.members[name] = member{offset: off, size: h.Size}
			a.total += h.Size
		case tar.TypeSymlink:
			a.members[name] = member{link: path.Join(path.Dir(name), h.Linkname)}
		case tar.TypeLink:
			a.members[name] = member{link: path.Clean(h.Linkname)}
		}
	}
	if len(a.members) == 0 {
		return nil, errors.New("empty archive")
	}
	return a, nil
}

// open returns a reader of one member.
func (a *archive) open(name string) (*io.SectionReader, error) {
	name = path.Clean(strings.TrimPrefix(name, "./"))
	for range 8 {
		m, ok := a.members[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s is missing from the archive", ErrBadArchive, name)
		}
		if m.link == "" {
			return io.NewSectionReader(a.f, m.offset, m.size), nil
		}
		name = path.Clean(m.link)
	}
	return nil, fmt.Errorf("%w: %s: too many links", ErrBadArchive, name)
}

func (a *archive) has(name string) bool { _, ok := a.members[name]; return ok }

// readJSON reads a small member (manifests, configs) into v.
func (a *archive) readJSON(name string, limit int64, v any) ([]byte, error) {
	r, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if r.Size() > limit {
		return nil, fmt.Errorf("%w: %s is too large (%d bytes)", ErrBadArchive, name, r.Size())
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrBadArchive, name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: parse %s: %w", ErrBadArchive, name, err)
	}
	return data, nil
}

const jsonLimit = 16 << 20

// pending is one image of an archive, ready to store.
type pending struct {
	config    []byte
	configDig digest.Digest
	manifest  []byte // OCI manifest, nil for docker-archives
	layers    []layerBlob
	names     []string
}

type layerBlob struct {
	name string        // member path
	dig  digest.Digest // digest of the blob as stored ("" if unknown)
}

// Load stores every image of an OCI archive (index.json + blobs) or a
// docker-archive (manifest.json + layer tars + config). Either the whole
// archive is stored or, on any error, nothing of it stays.
func (s *Store) Load(file string, o LoadOptions) ([]Loaded, error) {
	a, done, err := s.openArchive(file)
	if err != nil {
		return nil, err
	}
	defer done()
	var imgs []pending
	switch {
	case a.has("index.json"):
		imgs, err = ociImages(a)
	case a.has("manifest.json"):
		imgs, err = dockerImages(a)
	default:
		err = fmt.Errorf("%w: %s has neither index.json (OCI) nor manifest.json (docker-archive); for a plain rootfs tarball use image import", ErrBadArchive, file)
	}
	if err != nil {
		return nil, err
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%w: %s holds no image", ErrBadArchive, file)
	}
	tx := &txn{s: s}
	p := newProgress(o.Progress, a.total, path.Base(file))
	var out []Loaded
	for _, img := range imgs {
		l, err := s.store(tx, a, img, p)
		if err != nil {
			p.finish()
			return nil, tx.rollback(err)
		}
		out = append(out, l)
	}
	p.finish()
	return out, nil
}

func ociImages(a *archive) ([]pending, error) {
	var idx v1.Index
	if _, err := a.readJSON("index.json", jsonLimit, &idx); err != nil {
		return nil, err
	}
	var out []pending
	var walk func(descs []v1.Descriptor, depth int) error
	walk = func(descs []v1.Descriptor, depth int) error {
		for _, d := range descs {
			if d.Platform != nil && (d.Platform.OS != "" && d.Platform.OS != runtime.GOOS || d.Platform.Architecture != "" && d.Platform.Architecture != runtime.GOARCH) {
				continue
			}
			switch d.MediaType {
			case v1.MediaTypeImageIndex:
				if depth > 4 {
					return fmt.Errorf("%w: indexes nested too deep", ErrBadArchive)
				}
				var sub v1.Index
				if _, err := a.readJSON(blobPath(d.Digest), jsonLimit, &sub); err != nil {
					return err
				}
				if err := walk(sub.Manifests, depth+1); err != nil {
					return err
				}
			case v1.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json", "":
				img, err := ociImage(a, d)
				if err != nil {
					return err
				}
				out = append(out, img)
			}
		}
		return nil
	}
	return out, walk(idx.Manifests, 0)
}

func blobPath(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

func ociImage(a *archive, d v1.Descriptor) (pending, error) {
	if err := d.Digest.Validate(); err != nil {
		return pending{}, fmt.Errorf("%w: manifest digest %q: %w", ErrBadArchive, d.Digest, err)
	}
	var m v1.Manifest
	raw, err := a.readJSON(blobPath(d.Digest), jsonLimit, &m)
	if err != nil {
		return pending{}, err
	}
	if digest.FromBytes(raw) != d.Digest {
		return pending{}, fmt.Errorf("%w: manifest %s does not match its digest", ErrBadArchive, d.Digest)
	}
	if err := m.Config.Digest.Validate(); err != nil {
		return pending{}, fmt.Errorf("%w: config digest: %w", ErrBadArchive, err)
	}
	var cf configFile
	config, err := a.readJSON(blobPath(m.Config.Digest), jsonLimit, &cf)
	if err != nil {
		return pending{}, err
	}
	img := pending{config: config, configDig: m.Config.Digest, manifest: raw}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return pending{}, fmt.Errorf("%w: layer digest: %w", ErrBadArchive, err)
		}
		img.layers = append(img.layers, layerBlob{name: blobPath(l.Digest), dig: l.Digest})
	}
	for _, key := range []string{"io.containerd.image.name", v1.AnnotationRefName} {
		if n := d.Annotations[key]; n != "" {
			// A bare ref.name is a tag without a repository.
			if key == v1.AnnotationRefName && !strings.ContainsAny(n, ":/") {
				continue
			}
			img.names = append(img.names, n)
			break
		}
	}
	return img, nil
}

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

func dockerImages(a *archive) ([]pending, error) {
	var ms []dockerManifest
	if _, err := a.readJSON("manifest.json", jsonLimit, &ms); err != nil {
		return nil, err
	}
	var out []pending
	for _, m := range ms {
		var cf configFile
		config, err := a.readJSON(m.Config, jsonLimit, &cf)
		if err != nil {
			return nil, err
		}
		img := pending{config: config, configDig: digest.FromBytes(config), names: m.RepoTags}
		for _, l := range m.Layers {
			img.layers = append(img.layers, layerBlob{name: l})
		}
		out = append(out, img)
	}
	return out, nil
}

// txn remembers what a load added, to take it away again on failure.
type txn struct {
	s      *Store
	layers []string
	images []string
}

func (t *txn) rollback(cause error) error {
	var errs []error
	for i := len(t.images) - 1; i >= 0; i-- {
		if _, err := t.s.s.DeleteImage(t.images[i], false); err != nil && !errors.Is(err, storage.ErrImageUnknown) {
			errs = append(errs, err)
		}
	}
	for i := len(t.layers) - 1; i >= 0; i-- {
		if err := t.s.s.DeleteLayer(t.layers[i]); err != nil && !errors.Is(err, storage.ErrLayerUnknown) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w (and undoing the partial load failed: %w)", cause, err)
	}
	return cause
}

// store puts one image's layers and record into the store.
func (s *Store) store(tx *txn, a *archive, img pending, p *progress) (Loaded, error) {
	var cf configFile
	if err := json.Unmarshal(img.config, &cf); err != nil {
		return Loaded{}, fmt.Errorf("%w: image config: %w", ErrBadArchive, err)
	}
	diffIDs := cf.RootFS.DiffIDs
	if len(diffIDs) != len(img.layers) {
		return Loaded{}, fmt.Errorf("%w: config lists %d layers, manifest %d", ErrBadArchive, len(diffIDs), len(img.layers))
	}
	names, err := normalizeAll(img.names)
	if err != nil {
		return Loaded{}, err
	}
	id := img.configDig.Encoded()
	if existing, err := s.s.Image(id); err == nil {
		// Already stored: only the names are new. Progress still counts
		// the layers as done.
		for _, l := range img.layers {
			if r, err := a.open(l.name); err == nil {
				p.add(r.Size())
			}
		}
		if len(names) > 0 {
			if err := s.s.AddNames(existing.ID, names); err != nil {
				return Loaded{}, fmt.Errorf("name image %s: %w", shortID(id), err)
			}
		}
		return Loaded{ID: existing.ID, Names: names}, nil
	}
	parent := ""
	var chain digest.Digest
	for i, l := range img.layers {
		if err := diffIDs[i].Validate(); err != nil {
			return Loaded{}, fmt.Errorf("%w: diff ID %d: %w", ErrBadArchive, i, err)
		}
		// The OCI chain ID names the layer, so images sharing base layers
		// share them in the store.
		chain = identity.ChainID(diffIDs[:i+1])
		if err := s.putLayer(tx, a, l, chain.Encoded(), parent, diffIDs[i], p); err != nil {
			return Loaded{}, err
		}
		parent = chain.Encoded()
	}
	opts := &storage.ImageOptions{
		BigData: []storage.ImageBigDataOption{{Key: configKey, Data: img.config, Digest: img.configDig}},
	}
	if cf.Created != nil {
		opts.CreationDate = *cf.Created
	}
	if img.manifest != nil {
		md := digest.FromBytes(img.manifest)
		opts.Digest = md
		opts.BigData = append(opts.BigData, storage.ImageBigDataOption{Key: storage.ImageDigestBigDataKey, Data: img.manifest, Digest: md})
	}
	if _, err := s.s.CreateImage(id, nil, parent, "", opts); err != nil {
		return Loaded{}, fmt.Errorf("store image %s: %w", shortID(id), err)
	}
	tx.images = append(tx.images, id)
	if len(names) > 0 {
		// AddNames takes each name away from any other image, as a new
		// tag does.
		if err := s.s.AddNames(id, names); err != nil {
			return Loaded{}, fmt.Errorf("name image %s: %w", shortID(id), err)
		}
	}
	return Loaded{ID: id, Names: names}, nil
}

// putLayer stores one layer blob (tar, gzip or zstd) unless a layer with
// its chain ID exists, and checks it against the digests the archive
// claims.
func (s *Store) putLayer(tx *txn, a *archive, l layerBlob, id, parent string, diffID digest.Digest, p *progress) error {
	r, err := a.open(l.name)
	if err != nil {
		return err
	}
	if _, err := s.s.Layer(id); err == nil {
		p.add(r.Size())
		return nil
	}
	layer, _, err := s.s.PutLayer(id, parent, nil, "", false, nil, p.reader(r))
	if errors.Is(err, storage.ErrDuplicateID) {
		return nil // another load stored it meanwhile
	}
	if err != nil {
		return fmt.Errorf("%w: layer %s: %w", ErrBadArchive, l.name, err)
	}
	tx.layers = append(tx.layers, layer.ID)
	if layer.UncompressedDigest != diffID {
		return fmt.Errorf("%w: layer %s has content %s, its config says %s", ErrBadArchive, l.name, layer.UncompressedDigest, diffID)
	}
	if l.dig != "" && layer.CompressedDigest != "" && layer.CompressedDigest != l.dig {
		return fmt.Errorf("%w: layer blob %s does not match its digest (got %s)", ErrBadArchive, l.name, layer.CompressedDigest)
	}
	return nil
}

// Import stores a plain rootfs tarball (as `tar -C rootfs -c .` makes, or
// compressed) as a one-layer image named name.
func (s *Store) Import(file, name string, o LoadOptions) (Loaded, error) {
	norm, err := NormalizeName(name)
	if err != nil {
		return Loaded{}, err
	}
	f, err := os.Open(file)
	if err != nil {
		return Loaded{}, fmt.Errorf("open tarball: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Loaded{}, err
	}
	tx := &txn{s: s}
	p := newProgress(o.Progress, info.Size(), path.Base(file))
	layer, _, err := s.s.PutLayer(stringid.GenerateRandomID(), "", nil, "", false, nil, p.reader(f))
	p.finish()
	if err != nil {
		return Loaded{}, fmt.Errorf("%w: %s: %w", ErrBadArchive, file, err)
	}
	tx.layers = append(tx.layers, layer.ID)
	now := time.Now().UTC()
	cf := v1.Image{
		Created:  &now,
		Platform: v1.Platform{Architecture: runtime.GOARCH, OS: runtime.GOOS},
		RootFS:   v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.UncompressedDigest}},
		Config:   v1.ImageConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	}
	config, err := json.Marshal(cf)
	if err != nil {
		return Loaded{}, tx.rollback(err)
	}
	cd := digest.FromBytes(config)
	id := cd.Encoded()
	opts := &storage.ImageOptions{
		CreationDate: now,
		BigData:      []storage.ImageBigDataOption{{Key: configKey, Data: config, Digest: cd}},
	}
	if _, err := s.s.CreateImage(id, nil, layer.ID, "", opts); err != nil {
		return Loaded{}, tx.rollback(fmt.Errorf("store image: %w", err))
	}
	tx.images = append(tx.images, id)
	if err := s.s.AddNames(id, []string{norm}); err != nil {
		return Loaded{}, tx.rollback(fmt.Errorf("name image: %w", err))
	}
	return Loaded{ID: id, Names: []string{norm}}, nil
}

func normalizeAll(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		norm, err := NormalizeName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, norm)
	}
	return out, nil
}
