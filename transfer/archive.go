//go:build containers_image_openpgp

package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/directory"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	ociarchive "go.podman.io/image/v5/oci/archive"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/tarball"
	"go.podman.io/image/v5/types"
	storarchive "go.podman.io/storage/pkg/archive"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

// Loaded is one image a load stored.
type Loaded struct {
	ID    string
	Names []string
}

// adder copies images into the store within one imagestore.Transfer.
type adder struct {
	store *imagestore.Store
	a     *imagestore.Transfer
	sys   *types.SystemContext
	o     Options
}

func begin(store *imagestore.Store, o Options) (*adder, error) {
	a, err := store.BeginTransfer()
	if err != nil {
		return nil, err
	}
	sys, err := o.systemContext(a.TmpDir())
	if err != nil {
		a.Done()
		return nil, err
	}
	return &adder{store: store, a: a, sys: sys, o: o}, nil
}

// finish ends the Transfer: done, or undone on err.
func (ad *adder) finish(err error) error {
	if err == nil {
		ad.a.Done()
		return nil
	}
	if uerr := ad.a.Undo(); uerr != nil {
		return fmt.Errorf("%w (%w)", err, uerr)
	}
	return err
}

// copyIn stores src under names (store names, see imagestore.NormalizeName;
// none: by ID only).
func (ad *adder) copyIn(ctx context.Context, src types.ImageReference, names []string) (Loaded, error) {
	var dest types.ImageReference
	var err error
	if len(names) > 0 {
		named, perr := reference.ParseNormalizedNamed(names[0])
		if perr != nil {
			return Loaded{}, fmt.Errorf("%w: name %s: %w", imagestore.ErrBadName, names[0], perr)
		}
		dest, err = storeRef(ad.store, named, "")
	} else {
		var id string
		if id, err = configID(ctx, ad.sys, src); err == nil {
			dest, err = storeRef(ad.store, nil, id)
		}
	}
	if err != nil {
		return Loaded{}, err
	}
	resolved, _, err := copyImage(ctx, ad.sys, dest, src, ad.o, nil)
	if err != nil {
		return Loaded{}, err
	}
	id, err := storedID(ad.store, resolved)
	if err != nil {
		return Loaded{}, err
	}
	ad.a.Stored(id)
	if len(names) > 1 {
		if _, err := ad.store.Tag(id, names[1:]...); err != nil {
			return Loaded{}, err
		}
	}
	return Loaded{ID: id, Names: names}, nil
}

// configID is the ID containers/image gives an image: its config's
// digest.
func configID(ctx context.Context, sys *types.SystemContext, src types.ImageReference) (string, error) {
	img, err := src.NewImage(ctx, sys)
	if err != nil {
		return "", err
	}
	defer img.Close()
	return img.ConfigInfo().Digest.Encoded(), nil
}

// storeNames normalizes names found in an archive as podman does (a name
// without a registry is local: localhost/NAME).
func storeNames(raw []string) ([]string, error) {
	var out []string
	for _, r := range raw {
		n, err := imagestore.NormalizeName(r)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Load stores every image of a docker-archive, an OCI archive (either
// possibly compressed), an OCI layout directory or a dir: directory.
// Either all of them are stored or, on any error, none.
func Load(ctx context.Context, store *imagestore.Store, path string, o Options) (_ []Loaded, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	ad, err := begin(store, o)
	if err != nil {
		return nil, err
	}
	defer func() { err = ad.finish(err) }()
	if info.IsDir() {
		return ad.loadDir(ctx, path)
	}
	return ad.loadArchive(ctx, path)
}

func bad(path string, err error) error {
	if errors.Is(err, imagestore.ErrBadArchive) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", imagestore.ErrBadArchive, path, err)
}

func (ad *adder) loadArchive(ctx context.Context, path string) ([]Loaded, error) {
	// A docker-archive is read in place; an OCI archive has to be
	// unpacked, so it is tried second.
	r, derr := dockerarchive.NewReader(ad.sys, path)
	if derr == nil {
		defer r.Close()
		out, err := ad.loadDocker(ctx, r)
		if err != nil {
			return nil, bad(path, err)
		}
		return out, nil
	}
	dir, err := os.MkdirTemp(ad.a.TmpDir(), "oci-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	oerr := untar(path, dir)
	if oerr == nil {
		if _, err := os.Stat(filepath.Join(dir, v1.ImageIndexFile)); err != nil {
			oerr = errors.New("no index.json")
		}
	}
	if oerr != nil {
		return nil, fmt.Errorf("%w: %s is neither a docker-archive (%v) nor an OCI archive (%v); for a root file system tarball use image import",
			imagestore.ErrBadArchive, path, derr, oerr)
	}
	out, err := ad.loadLayout(ctx, dir)
	if err != nil {
		return nil, bad(path, err)
	}
	return out, nil
}

// untar unpacks a (possibly compressed) tar as it is, owners and modes
// kept: it holds blobs, not a root file system.
func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return storarchive.Untar(f, dir, &storarchive.TarOptions{NoLchown: true})
}

func (ad *adder) loadDir(ctx context.Context, dir string) ([]Loaded, error) {
	if _, err := os.Stat(filepath.Join(dir, v1.ImageIndexFile)); err == nil {
		out, err := ad.loadLayout(ctx, dir)
		if err != nil {
			return nil, bad(dir, err)
		}
		return out, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		return nil, fmt.Errorf("%w: %s has neither index.json (OCI layout) nor manifest.json (dir: layout)", imagestore.ErrBadArchive, dir)
	}
	src, err := directory.NewReference(dir)
	if err != nil {
		return nil, bad(dir, err)
	}
	l, err := ad.copyIn(ctx, src, nil)
	if err != nil {
		return nil, bad(dir, err)
	}
	return []Loaded{l}, nil
}

func (ad *adder) loadDocker(ctx context.Context, r *dockerarchive.Reader) ([]Loaded, error) {
	groups, err := r.List()
	if err != nil {
		return nil, err
	}
	var out []Loaded
	for _, refs := range groups {
		var raw []string
		for _, ref := range refs {
			if ref.DockerReference() == nil {
				continue
			}
			tags, err := r.ManifestTagsForReference(ref)
			if err != nil {
				return nil, err
			}
			raw = append(raw, tags...)
		}
		names, err := storeNames(raw)
		if err != nil {
			return nil, err
		}
		l, err := ad.copyIn(ctx, refs[0], names)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, errors.New("the archive holds no image")
	}
	return out, nil
}

// loadLayout stores the images of an OCI layout directory that suit this
// machine.
func (ad *adder) loadLayout(ctx context.Context, dir string) ([]Loaded, error) {
	list, err := layout.List(dir)
	if err != nil {
		return nil, err
	}
	var out []Loaded
	for _, item := range list {
		if p := item.ManifestDescriptor.Platform; p != nil && (p.OS != "" && p.OS != runtime.GOOS || p.Architecture != "" && p.Architecture != runtime.GOARCH) {
			continue
		}
		names, err := storeNames(ociNames(item.ManifestDescriptor.Annotations))
		if err != nil {
			return nil, err
		}
		l, err := ad.copyIn(ctx, item.Reference, names)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, errors.New("the archive holds no image for " + runtime.GOOS + "/" + runtime.GOARCH)
	}
	return out, nil
}

// ociNames is the name an OCI index entry gives its image: containerd's
// full name, or a ref.name that is a name (not a bare tag).
func ociNames(ann map[string]string) []string {
	if n := ann["io.containerd.image.name"]; n != "" {
		return []string{n}
	}
	if n := ann[v1.AnnotationRefName]; strings.ContainsAny(n, ":/") {
		return []string{n}
	}
	return nil
}

// loadRef stores the image of a TRANSPORT:DETAILS reference given to
// pull (docker-archive:, oci-archive:, oci:, dir:, containers-storage:).
func loadRef(ctx context.Context, store *imagestore.Store, src types.ImageReference, ref string, o Options) (_ []Loaded, err error) {
	ad, err := begin(store, o)
	if err != nil {
		return nil, err
	}
	defer func() { err = ad.finish(err) }()
	var raw []string
	switch src.Transport().Name() {
	case "docker-archive":
		r, rref, err := dockerarchive.NewReaderForReference(ad.sys, src)
		if err != nil {
			return nil, bad(ref, err)
		}
		defer r.Close()
		if raw, err = r.ManifestTagsForReference(rref); err != nil {
			return nil, bad(ref, err)
		}
		src = rref
	case "oci-archive":
		desc, err := ociarchive.LoadManifestDescriptorWithContext(ad.sys, src)
		if err != nil {
			return nil, bad(ref, err)
		}
		raw = ociNames(desc.Annotations)
	case "oci":
		if _, name, ok := strings.Cut(src.StringWithinTransport(), ":"); ok && name != "" {
			raw = []string{name}
		} else if desc, err := layout.LoadManifestDescriptor(src); err == nil {
			raw = ociNames(desc.Annotations)
		}
	case "containers-storage":
		if named := src.DockerReference(); named != nil {
			raw = []string{named.String()}
		}
	}
	names, err := storeNames(raw)
	if err != nil {
		return nil, err
	}
	l, err := ad.copyIn(ctx, src, names)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return []Loaded{l}, nil
}

// Import stores a root file system tarball (plain or compressed) as a
// one-layer image named name (localhost/NAME for a name without a
// registry), with PATH set as podman's images have it.
func Import(ctx context.Context, store *imagestore.Store, path, name string, o Options) (_ Loaded, err error) {
	norm, err := imagestore.NormalizeName(name)
	if err != nil {
		return Loaded{}, err
	}
	if _, err := os.Stat(path); err != nil {
		return Loaded{}, fmt.Errorf("open tarball: %w", err)
	}
	ad, err := begin(store, o)
	if err != nil {
		return Loaded{}, err
	}
	defer func() { err = ad.finish(err) }()
	src, err := tarball.Transport.ParseReference(path)
	if err != nil {
		return Loaded{}, bad(path, err)
	}
	if u, ok := src.(tarball.ConfigUpdater); ok {
		now := time.Now().UTC()
		cfg := v1.Image{Created: &now, Config: v1.ImageConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}
		err := u.ConfigUpdate(cfg, nil)
		if err != nil {
			return Loaded{}, err
		}
	}
	l, err := ad.copyIn(ctx, src, []string{norm})
	if err != nil {
		return Loaded{}, bad(path, err)
	}
	return l, nil
}

// Formats save writes.
const (
	FormatDockerArchive = "docker-archive"
	FormatOCIArchive    = "oci-archive"
)

// Save writes images to an archive at path: a docker-archive (several
// images) or an OCI archive (one). The file appears whole or not at all.
func Save(ctx context.Context, store *imagestore.Store, refs []string, path, format string, o Options) error {
	if len(refs) == 0 {
		return errors.New("save: no image given")
	}
	type item struct {
		src   types.ImageReference
		named reference.Named
	}
	var items []item
	for _, r := range refs {
		img, matched, err := store.Resolve(r)
		if err != nil {
			return err
		}
		src, err := storeRef(store, nil, img.ID)
		if err != nil {
			return err
		}
		it := item{src: src}
		if matched == "" && len(img.RepoTags) > 0 {
			matched = img.RepoTags[0]
		}
		if matched != "" && !strings.Contains(matched, "@") {
			if it.named, err = reference.ParseNormalizedNamed(matched); err != nil {
				return fmt.Errorf("%w: %s: %w", imagestore.ErrBadName, matched, err)
			}
		}
		items = append(items, it)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp.Name())
		}
	}()
	t, err := store.BeginTransfer()
	if err != nil {
		return err
	}
	defer t.Done()
	sys, err := o.systemContext(t.TmpDir())
	if err != nil {
		return err
	}
	switch format {
	case "", FormatDockerArchive:
		w, err := dockerarchive.NewWriter(sys, tmp.Name())
		if err != nil {
			return err
		}
		for _, it := range items {
			var tagged reference.NamedTagged
			if t, ok := it.named.(reference.NamedTagged); ok {
				tagged = t
			}
			dest, err := w.NewReference(tagged)
			if err != nil {
				w.Close()
				return err
			}
			if _, _, err := copyImage(ctx, sys, dest, it.src, o, nil); err != nil {
				w.Close()
				return fmt.Errorf("save %s: %w", it.src.StringWithinTransport(), err)
			}
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	case FormatOCIArchive:
		if len(items) > 1 {
			return errors.New("save: an oci-archive holds one image; use --format docker-archive for several")
		}
		name := ""
		if items[0].named != nil {
			name = items[0].named.String()
		}
		// containers/image writes the archive itself (it refuses to
		// overwrite only docker-archives).
		os.Remove(tmp.Name())
		dest, err := ociarchive.NewReference(tmp.Name(), name)
		if err != nil {
			return err
		}
		if _, _, err := copyImage(ctx, sys, dest, items[0].src, o, nil); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	default:
		return fmt.Errorf("save: format %q: use %s or %s", format, FormatDockerArchive, FormatOCIArchive)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	done = true
	return nil
}
