package imagestore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	storage "go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"
)

// Images come into a store through containers/image (package transfer,
// whose tests load real archives); these tests make records directly in
// storage to check what the store itself decides: names, lookups, tags,
// prunes and the transfer lock's cleanup.

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func openStore(t *testing.T) *Store {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Options{GraphRoot: filepath.Join(dir, "graph"), RunRoot: filepath.Join(dir, "run"), Driver: "vfs"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// addImage stores an image of one empty layer (on parent, if given) with
// a config and a manifest, as containers/image would, and returns its ID
// and its manifest's digest.
func addImage(t *testing.T, s *Store, parent string, names ...string) (string, digest.Digest) {
	t.Helper()
	layer, err := s.s.CreateLayer("", parent, nil, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(v1.Image{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Config: v1.ImageConfig{Cmd: []string{"sh"}, Env: []string{"LAYER=" + layer.ID}}})
	cd := digest.FromBytes(config)
	man, _ := json.Marshal(v1.Manifest{MediaType: v1.MediaTypeImageManifest, Config: v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: cd, Size: int64(len(config))}})
	md := digest.FromBytes(man)
	_, err = s.s.CreateImage(cd.Encoded(), names, layer.ID, "", &storage.ImageOptions{
		Digest: md,
		BigData: []storage.ImageBigDataOption{
			{Key: cd.String(), Data: config, Digest: cd},
			{Key: "manifest-" + md.String(), Data: man, Digest: md},
			{Key: storage.ImageDigestBigDataKey, Data: man, Digest: md},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cd.Encoded(), md
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                                 "localhost/busybox:latest",
		"busybox:1.36":                            "localhost/busybox:1.36",
		"library/busybox":                         "localhost/library/busybox:latest",
		"docker.io/busybox":                       "docker.io/library/busybox:latest",
		"index.docker.io/busybox:1":               "docker.io/library/busybox:1",
		"docker.io/library/busybox:1":             "docker.io/library/busybox:1",
		"localhost/app":                           "localhost/app:latest",
		"quay.io/org/app:v1":                      "quay.io/org/app:v1",
		"registry:5000/app":                       "registry:5000/app:latest",
		"127.0.0.1:5000/a/b-c__d.e:V1":            "127.0.0.1:5000/a/b-c__d.e:V1",
		"app:1@sha256:" + strings.Repeat("a", 64): "localhost/app@sha256:" + strings.Repeat("a", 64),
		"Busybox":                                 "",
		"app@sha256:abc":                          "",
		"app:":                                    "",
		"":                                        "",
		"a/../b:x y":                              "",
		"a/b_.c":                                  "",
		"-a":                                      "",
		"reg:x/app":                               "",
		strings.Repeat("a", 64):                   "",
	} {
		got, err := NormalizeName(in)
		if want == "" {
			if err == nil || !errors.Is(err, ErrBadName) {
				t.Errorf("NormalizeName(%q) = %q, %v; want ErrBadName", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestLookupResolvesNamesAsPodman(t *testing.T) {
	s := openStore(t)
	app, _ := addImage(t, s, "", "localhost/app:1")
	bb, _ := addImage(t, s, "", "docker.io/library/busybox:latest")
	web, webDigest := addImage(t, s, "", "127.0.0.1:5000/test/web:2")
	old, _ := addImage(t, s, "", "old:1") // as ctr-unit stored names before
	addImage(t, s, "", "quay.io/a/x:1")
	addImage(t, s, "", "quay.io/b/x:1")
	for ref, want := range map[string]string{
		"app:1": app, "localhost/app:1": app, "busybox": bb, "docker.io/busybox": bb,
		"docker.io/library/busybox:latest": bb, "web:2": web, "test/web:2": web,
		"127.0.0.1:5000/test/web:2": web, "127.0.0.1:5000/test/web@" + webDigest.String(): web,
		"old:1": old, app[:12]: app, "sha256:" + web: web, bb: bb,
	} {
		img, err := s.Inspect(ref)
		if err != nil || img.ID != want {
			t.Errorf("Inspect(%q) = %s, %v; want %s", ref, img.ID, err, want)
		}
	}
	for ref, msg := range map[string]string{
		"x:1":                        "quay.io/a/x:1 or quay.io/b/x:1",
		"nosuch":                     "no such image",
		"127.0.0.1:5000/other/web:2": "no such image",
		"app:2":                      "no such image",
		"Bad":                        "invalid image name",
	} {
		if _, err := s.Inspect(ref); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Inspect(%q): %v, want an error saying %q", ref, err, msg)
		}
	}
	img, err := s.Inspect("web:2")
	if err != nil {
		t.Fatal(err)
	}
	wantDigests := []string{"127.0.0.1:5000/test/web@" + webDigest.String()}
	if img.Digest != webDigest || !slices.Equal(img.RepoDigests, wantDigests) || !slices.Equal(img.RepoTags, []string{"127.0.0.1:5000/test/web:2"}) {
		t.Errorf("digest %s, repo digests %v, repo tags %v; want %s, %v", img.Digest, img.RepoDigests, img.RepoTags, webDigest, wantDigests)
	}
	if len(img.Config.Cmd) != 1 || img.OS != "linux" {
		t.Errorf("config not read: %+v", img)
	}
}

func TestTagUntagAndRemoveOneName(t *testing.T) {
	s := openStore(t)
	id, _ := addImage(t, s, "", "localhost/app:1")
	other, _ := addImage(t, s, "", "localhost/app:2")
	if names, err := s.Tag("app:1", "app:2", "quay.io/x/app:3"); err != nil || !slices.Equal(names, []string{"localhost/app:2", "quay.io/x/app:3"}) {
		t.Fatalf("tag: %v %v", names, err)
	}
	if img, _ := s.Inspect("app:2"); img.ID != id {
		t.Errorf("app:2 did not move to the tagged image")
	}
	if img, _ := s.Inspect(other); len(img.Names) != 0 {
		t.Errorf("the image app:2 came from keeps names %v", img.Names)
	}
	if _, err := s.Tag("app:1", "Bad"); !errors.Is(err, ErrBadName) {
		t.Errorf("tag with a bad name: %v", err)
	}
	if _, err := s.Untag("app:1", "app:9"); !errors.Is(err, ErrNoSuchImage) {
		t.Errorf("untag of a name the image lacks: %v", err)
	}
	if dropped, err := s.Untag(id, "app:2"); err != nil || !slices.Equal(dropped, []string{"localhost/app:2"}) {
		t.Errorf("untag app:2: %v %v", dropped, err)
	}
	// rmi of one of several names untags it.
	if untagged, err := s.Remove("quay.io/x/app:3", false); err != nil || !untagged {
		t.Errorf("remove of one name: untagged %v, %v", untagged, err)
	}
	if _, err := s.Untag(id); err != nil {
		t.Fatal(err)
	}
	if img, err := s.Inspect(id); err != nil || len(img.Names) != 0 {
		t.Errorf("after untag of all: %+v %v", img, err)
	}
}

func TestPruneKeepsUsedAndNamedImages(t *testing.T) {
	s := openStore(t)
	named, _ := addImage(t, s, "", "localhost/named:1")
	unnamed, _ := addImage(t, s, "")
	used, _ := addImage(t, s, "")
	if _, err := s.CreateContainer(used, ""); err != nil {
		t.Fatal(err)
	}
	// What an interrupted pull leaves: a layer nothing uses, on another.
	base, err := s.s.CreateLayer("", "", nil, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.s.CreateLayer("", base.ID, nil, "", false, nil); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(context.Background(), false)
	if err != nil || !slices.Equal(removed, []string{unnamed}) {
		t.Fatalf("prune removed %v, %v; want only %s", removed, err, unnamed)
	}
	layers, _ := s.Layers()
	if len(layers) != 3 { // named's, used's and used's container's
		t.Errorf("layers after prune: %d, want 3", len(layers))
	}
	if removed, err := s.Prune(context.Background(), true); err != nil || !slices.Equal(removed, []string{named}) {
		t.Errorf("prune -a removed %v, %v; want only %s", removed, err, named)
	}
}

func TestUndoTakesBackWhatTheTransferStored(t *testing.T) {
	s := openStore(t)
	kept, _ := addImage(t, s, "", "localhost/kept:1")
	keptImg, _ := s.Inspect(kept)
	tr, err := s.BeginTransfer()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(tr.TmpDir()); err != nil || !fi.IsDir() {
		t.Fatalf("scratch directory: %v", err)
	}
	// Two images on the kept one's layer, one stored, and a layer of a
	// third that never got its image.
	made, _ := addImage(t, s, keptImg.TopLayer, "localhost/made:1")
	tr.Stored(made)
	tr.Stored(kept) // there before: stays
	if _, err := s.s.CreateLayer("", keptImg.TopLayer, nil, "", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.Undo(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Inspect("made:1"); !errors.Is(err, ErrNoSuchImage) {
		t.Errorf("the transfer's image is still there: %v", err)
	}
	if _, err := s.Inspect("kept:1"); err != nil {
		t.Errorf("the image there before is gone: %v", err)
	}
	if layers, _ := s.Layers(); !slices.Equal(layers, []string{keptImg.TopLayer}) {
		t.Errorf("layers %v, want only %s", layers, keptImg.TopLayer)
	}
}

func TestDanglingLayersStayWhileAnotherTransferRuns(t *testing.T) {
	s := openStore(t)
	first, err := s.BeginTransfer()
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.BeginTransfer()
	if err != nil {
		t.Fatal(err)
	}
	// The second transfer's first layer, its image not there yet.
	if _, err := s.s.CreateLayer("", "", nil, "", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := first.Undo(); err != nil {
		t.Fatal(err)
	}
	if layers, _ := s.Layers(); len(layers) != 1 {
		t.Fatalf("a failed transfer took a running one's layer: %v", layers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300e6)
	defer cancel()
	if _, err := s.PruneLayers(ctx); err == nil {
		t.Errorf("prune did not wait for the running transfer")
	}
	second.Done()
	if n, err := s.PruneLayers(context.Background()); err != nil || n != 1 {
		t.Errorf("prune after the transfer: %d, %v; want 1 layer", n, err)
	}
}
