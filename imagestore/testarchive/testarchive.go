// Package testarchive writes small OCI archives and docker-archives for
// tests and benchmarks: a busybox layer from the host's static busybox, or
// layers of random (incompressible) data.
package testarchive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/rand"
	_ "crypto/sha256" // go-digest hashes with it
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	specsgo "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Healthcheck is the docker-format healthcheck an image config may carry.
type Healthcheck struct {
	Test     []string      `json:"Test"`
	Interval time.Duration `json:"Interval,omitempty"`
	Retries  int           `json:"Retries,omitempty"`
}

// Image is what to put in an archive.
type Image struct {
	// Name is NAME:TAG ("" leaves the image unnamed).
	Name        string
	Config      v1.ImageConfig
	Healthcheck *Healthcheck
	// Layers are paths of layer tar files (plain or gzip), bottom first.
	Layers []string
}

// BusyboxLayer writes a layer tar holding a static busybox with links for
// its applets, /etc/passwd and group, and the usual empty directories.
func BusyboxLayer(path string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox not found (apt-get install busybox-static): %w", err)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	return WriteLayer(path, func(tw *tar.Writer) error {
		for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "var", "var/tmp"} {
			if err := Dir(tw, d, 0o755); err != nil {
				return err
			}
		}
		if err := File(tw, "bin/busybox", data, 0o755); err != nil {
			return err
		}
		for _, applet := range strings.Fields(string(out)) {
			if applet == "busybox" {
				continue
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: time.Unix(0, 0)}); err != nil {
				return err
			}
		}
		if err := File(tw, "etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"), 0o644); err != nil {
			return err
		}
		return File(tw, "etc/group", []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	})
}

// RandomLayer writes a layer tar with one file of size random bytes.
func RandomLayer(path string, size int64) error {
	return WriteLayer(path, func(tw *tar.Writer) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "random.bin", Size: size, Mode: 0o644, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := io.CopyN(tw, rand.Reader, size)
		return err
	})
}

// WriteLayer writes a layer tar at path with what fill adds.
func WriteLayer(path string, fill func(*tar.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	if err := fill(tw); err != nil {
		f.Close()
		return err
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Dir adds a directory to a layer.
func Dir(tw *tar.Writer, name string, mode int64) error {
	return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: time.Unix(0, 0)})
}

// File adds a regular file to a layer.
func File(tw *tar.Writer, name string, data []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: mode, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// Gzip writes a gzip-compressed copy of src at dst.
func Gzip(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fileDigest digests a file's bytes.
func fileDigest(path string) (digest.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	d := digest.Canonical.Digester()
	n, err := io.Copy(d.Hash(), f)
	return d.Digest(), n, err
}

// diffID digests a layer's uncompressed tar.
func diffID(path string) (digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var r io.Reader = f
	magic := make([]byte, 2)
	if _, err := io.ReadFull(f, magic); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		f.Seek(0, io.SeekStart)
		zr, err := gzip.NewReader(f)
		if err != nil {
			return "", err
		}
		r = zr
	} else {
		f.Seek(0, io.SeekStart)
	}
	d := digest.Canonical.Digester()
	if _, err := io.Copy(d.Hash(), r); err != nil {
		return "", err
	}
	return d.Digest(), nil
}

// config builds the image config blob.
func (img Image) config() ([]byte, error) {
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cfg := struct {
		v1.Image
		Config struct {
			v1.ImageConfig
			Healthcheck *Healthcheck `json:"Healthcheck,omitempty"`
		} `json:"config"`
	}{}
	cfg.Created = &created
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.RootFS.Type = "layers"
	cfg.Config.ImageConfig = img.Config
	cfg.Config.Healthcheck = img.Healthcheck
	for _, l := range img.Layers {
		d, err := diffID(l)
		if err != nil {
			return nil, err
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d)
	}
	return json.Marshal(cfg)
}

// archiveWriter writes the outer tar.
type archiveWriter struct {
	f  *os.File
	tw *tar.Writer
}

func newArchive(path string) (*archiveWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &archiveWriter{f: f, tw: tar.NewWriter(f)}, nil
}

func (a *archiveWriter) bytes(name string, data []byte) error {
	return File(a.tw, name, data, 0o644)
}

func (a *archiveWriter) file(name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: info.Size(), Mode: 0o644, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err = io.Copy(a.tw, in)
	return err
}

func (a *archiveWriter) close() error {
	if err := a.tw.Close(); err != nil {
		a.f.Close()
		return err
	}
	return a.f.Close()
}

// WriteOCI writes img as an OCI archive (oci-layout, index.json, blobs).
func WriteOCI(path string, img Image) error {
	config, err := img.config()
	if err != nil {
		return err
	}
	a, err := newArchive(path)
	if err != nil {
		return err
	}
	if err := a.bytes(v1.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	m := v1.Manifest{
		Versioned: specsgo.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Config:    v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
	}
	if err := a.bytes(blob(m.Config.Digest), config); err != nil {
		return err
	}
	for _, l := range img.Layers {
		d, n, err := fileDigest(l)
		if err != nil {
			return err
		}
		mt := v1.MediaTypeImageLayer
		if strings.HasSuffix(l, ".gz") {
			mt = v1.MediaTypeImageLayerGzip
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Digest: d, Size: n})
		if err := a.file(blob(d), l); err != nil {
			return err
		}
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := a.bytes(blob(digest.FromBytes(mb)), mb); err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: v1.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if img.Name != "" {
		desc.Annotations = map[string]string{v1.AnnotationRefName: img.Name}
	}
	idx, err := json.Marshal(v1.Index{Versioned: specsgo.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{desc}})
	if err != nil {
		return err
	}
	if err := a.bytes("index.json", idx); err != nil {
		return err
	}
	return a.close()
}

func blob(d digest.Digest) string { return "blobs/sha256/" + d.Encoded() }

// WriteDocker writes img as a docker-archive, the layout of docker save:
// manifest.json, a config JSON and one directory per layer.
func WriteDocker(path string, img Image) error {
	config, err := img.config()
	if err != nil {
		return err
	}
	a, err := newArchive(path)
	if err != nil {
		return err
	}
	cfgName := digest.FromBytes(config).Encoded() + ".json"
	if err := a.bytes(cfgName, config); err != nil {
		return err
	}
	m := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: cfgName, RepoTags: []string{}}
	if img.Name != "" {
		m.RepoTags = []string{img.Name}
	}
	for i, l := range img.Layers {
		name := filepath.Join(fmt.Sprintf("layer%d", i), "layer.tar")
		if err := a.file(name, l); err != nil {
			return err
		}
		m.Layers = append(m.Layers, name)
	}
	mb, err := json.Marshal([]any{m})
	if err != nil {
		return err
	}
	if err := a.bytes("manifest.json", mb); err != nil {
		return err
	}
	return a.close()
}
