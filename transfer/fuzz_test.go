//go:build containers_image_openpgp

package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

// tarOf is a tar of the given entries, for seeds no archive writer makes:
// names that climb out, absolute names, links that point away.
func tarOf(hdrs ...tar.Header) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		h.Size = int64(len(h.Name))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		tw.WriteHeader(&h)
		if h.Size > 0 {
			tw.Write([]byte(h.Name))
		}
	}
	tw.Close()
	return b.Bytes()
}

// FuzzLoad: image load of any file (garbled headers, truncated blobs,
// names that climb out with .. or through links) fails with
// ErrBadArchive or loads; it never panics, never writes outside the
// store, and a refused archive leaves the store as it was.
func FuzzLoad(f *testing.F) {
	seeds := f.TempDir()
	layer := filepath.Join(seeds, "layer.tar")
	if err := testarchive.WriteLayer(layer, func(tw *tar.Writer) error {
		return testarchive.File(tw, "hello.txt", []byte("hi\n"), 0o644)
	}); err != nil {
		f.Fatal(err)
	}
	img := testarchive.Image{Name: "fuzz:1", Config: v1.ImageConfig{Cmd: []string{"/hello"}}, Layers: []string{layer}}
	for _, write := range []func(string, testarchive.Image) error{testarchive.WriteOCI, testarchive.WriteDocker} {
		p := filepath.Join(seeds, "a.tar")
		if err := write(p, img); err != nil {
			f.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add(tarOf(tar.Header{Name: "../../escape", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(tarOf(tar.Header{Name: "/abs", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(tarOf(tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../..", Mode: 0o777},
		tar.Header{Name: "up/escape", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(tarOf(tar.Header{Name: "index.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777}))
	f.Add(tarOf(tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644}))

	root := f.TempDir()
	s, err := imagestore.Open(imagestore.Options{GraphRoot: filepath.Join(root, "graph"), RunRoot: filepath.Join(root, "run"), Driver: "vfs"})
	if err != nil {
		f.Skip(err)
	}
	f.Cleanup(func() { s.Close() })
	work := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(work, "in")
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "archive.tar")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Images()
		loaded, err := Load(context.Background(), s, path, Options{})
		after, _ := s.Images()
		if err != nil && len(after) != len(before) {
			t.Fatalf("refused archive (%v) changed the store: %d images, was %d", err, len(after), len(before))
		}
		// Nothing beside the archive, nor beside its directory.
		for _, d := range []string{dir, work} {
			if entries, _ := os.ReadDir(d); len(entries) != 1 {
				t.Fatalf("load wrote beside the archive in %s: %v", d, entries)
			}
		}
		for _, l := range loaded {
			for _, n := range l.Names {
				s.Remove(n, true)
			}
		}
	})
}
