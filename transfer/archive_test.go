//go:build containers_image_openpgp

package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage/pkg/reexec"

	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// drivers are the storage drivers these tests run with: vfs always,
// overlay where this machine mounts it.
func drivers(t *testing.T) []string {
	ds := []string{"vfs"}
	if os.Geteuid() == 0 {
		ds = append(ds, "overlay")
	}
	return ds
}

func openStore(t *testing.T, driver string) *imagestore.Store {
	t.Helper()
	dir := t.TempDir()
	s, err := imagestore.Open(imagestore.Options{GraphRoot: filepath.Join(dir, "graph"), RunRoot: filepath.Join(dir, "run"), Driver: driver})
	if err != nil {
		if driver == "overlay" {
			t.Skipf("overlay not usable here: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ids, _ := s.Layers(); len(ids) > 0 {
			for _, id := range ids {
				s.Unmount(id, true)
			}
		}
		s.Close()
	})
	if s.Driver() != driver {
		t.Fatalf("driver %q, want %q", s.Driver(), driver)
	}
	return s
}

// fixture builds the layers the tests use: busybox, and a gzip layer
// with one file.
type fixture struct {
	dir      string
	busybox  string
	extra    string
	image    testarchive.Image
	ociPath  string
	dockPath string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, busybox: filepath.Join(dir, "busybox.tar"), extra: filepath.Join(dir, "extra.tar")}
	if err := testarchive.BusyboxLayer(f.busybox); err != nil {
		t.Skip(err)
	}
	if err := testarchive.WriteLayer(f.extra, func(tw *tar.Writer) error {
		if err := testarchive.Dir(tw, "app", 0o755); err != nil {
			return err
		}
		return testarchive.File(tw, "app/hello.txt", []byte("hello from the image\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	if err := testarchive.Gzip(f.extra, f.extra+".gz"); err != nil {
		t.Fatal(err)
	}
	f.image = testarchive.Image{
		Name: "demo:1",
		Config: v1.ImageConfig{
			Entrypoint: []string{"/bin/sh", "-c"},
			Cmd:        []string{"cat /app/hello.txt"},
			Env:        []string{"PATH=/bin", "GREETING=hi"},
			WorkingDir: "/app",
			User:       "nobody",
			StopSignal: "SIGINT",
		},
		Healthcheck: &testarchive.Healthcheck{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second, Retries: 2},
		Layers:      []string{f.busybox, f.extra + ".gz"},
	}
	f.ociPath = filepath.Join(dir, "oci.tar")
	if err := testarchive.WriteOCI(f.ociPath, f.image); err != nil {
		t.Fatal(err)
	}
	f.dockPath = filepath.Join(dir, "docker.tar")
	if err := testarchive.WriteDocker(f.dockPath, f.image); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoadOCIAndDockerArchives(t *testing.T) {
	f := newFixture(t)
	for _, driver := range drivers(t) {
		for _, format := range []string{"oci", "docker"} {
			t.Run(driver+"/"+format, func(t *testing.T) {
				s := openStore(t, driver)
				file := map[string]string{"oci": f.ociPath, "docker": f.dockPath}[format]
				loaded, err := Load(context.Background(), s, file, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(loaded) != 1 || !slices.Equal(loaded[0].Names, []string{"localhost/demo:1"}) {
					t.Fatalf("loaded %+v, want one image named localhost/demo:1", loaded)
				}
				img, err := s.Inspect("demo:1")
				if err != nil {
					t.Fatal(err)
				}
				c := img.Config
				if !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c"}) || !slices.Equal(c.Cmd, []string{"cat /app/hello.txt"}) ||
					!slices.Equal(c.Env, []string{"PATH=/bin", "GREETING=hi"}) || c.WorkingDir != "/app" || c.User != "nobody" || c.StopSignal != "SIGINT" {
					t.Errorf("config %+v does not match the archive's", c)
				}
				if c.Healthcheck == nil || c.Healthcheck.Interval != 5*time.Second || c.Healthcheck.Retries != 2 {
					t.Errorf("healthcheck %+v, want the archive's", c.Healthcheck)
				}
				if img.Size <= 0 {
					t.Errorf("image size %d", img.Size)
				}
				if byID, err := s.Inspect(img.ID[:12]); err != nil || byID.ID != img.ID {
					t.Errorf("inspect by short ID: %v %v", byID.ID, err)
				}
				imgs, err := s.Images()
				if err != nil || len(imgs) != 1 {
					t.Fatalf("images: %v %v", imgs, err)
				}
				layers, _ := s.Layers()
				// Loading again stores nothing new.
				if _, err := Load(context.Background(), s, file, Options{}); err != nil {
					t.Fatal(err)
				}
				if again, _ := s.Layers(); len(again) != len(layers) || len(layers) != 2 {
					t.Errorf("layers %d, then %d after a second load; want 2 and 2", len(layers), len(again))
				}
			})
		}
	}
}

func TestContainerLayerMountWriteSizeExport(t *testing.T) {
	f := newFixture(t)
	for _, driver := range drivers(t) {
		t.Run(driver, func(t *testing.T) {
			s := openStore(t, driver)
			loaded, err := Load(context.Background(), s, f.ociPath, Options{})
			if err != nil {
				t.Fatal(err)
			}
			id, err := s.CreateContainer(loaded[0].ID, `{"name":"c1"}`)
			if err != nil {
				t.Fatal(err)
			}
			dir, err := s.Mount(id)
			if err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(filepath.Join(dir, "app/hello.txt")); err != nil || string(data) != "hello from the image\n" {
				t.Fatalf("image file in the container: %q %v", data, err)
			}
			written := bytes.Repeat([]byte("x"), 100000)
			if err := os.WriteFile(filepath.Join(dir, "data.bin"), written, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.Unmount(id, true); err != nil {
				t.Fatal(err)
			}
			if at, _ := s.MountedAt(id); at != "" {
				t.Fatalf("still counted as mounted at %s after unmount", at)
			}
			if driver == "overlay" && isMounted(t, dir) {
				t.Fatalf("%s still in mountinfo", dir)
			}
			size, err := s.DiffSize(id)
			if err != nil {
				t.Fatal(err)
			}
			if size < int64(len(written)) || size > int64(len(written))+64<<10 {
				t.Errorf("DiffSize %d, want about %d", size, len(written))
			}
			var buf bytes.Buffer
			if err := s.Export(id, &buf); err != nil {
				t.Fatal(err)
			}
			files := tarFiles(t, &buf)
			if files["data.bin"] != len(written) || files["app/hello.txt"] == 0 || files["bin/busybox"] == 0 {
				t.Errorf("export lacks files: data.bin %d, app/hello.txt %d, bin/busybox %d", files["data.bin"], files["app/hello.txt"], files["bin/busybox"])
			}
			if at, _ := s.MountedAt(id); at != "" {
				t.Errorf("export left the layer mounted at %s", at)
			}

			if _, err := s.Remove("demo:1", false); !errors.Is(err, imagestore.ErrImageInUse) {
				t.Errorf("remove of a used image: %v, want ErrImageInUse", err)
			}
			if err := s.DeleteContainer(id); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteContainer(id); err != nil {
				t.Errorf("deleting a deleted layer: %v", err)
			}
			if _, err := s.Remove("demo:1", false); err != nil {
				t.Fatal(err)
			}
			if ls, _ := s.Layers(); len(ls) != 0 {
				t.Errorf("layers left after rmi: %v", ls)
			}
		})
	}
}

func TestForcedRemoveDeletesContainerLayers(t *testing.T) {
	f := newFixture(t)
	s := openStore(t, "vfs")
	loaded, err := Load(context.Background(), s, f.dockPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer(loaded[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(loaded[0].ID[:12], true); err != nil {
		t.Fatal(err)
	}
	if ls, _ := s.Layers(); len(ls) != 0 {
		t.Errorf("layers left: %v", ls)
	}
}

func TestRemoveOneOfSeveralNamesUntags(t *testing.T) {
	f := newFixture(t)
	s := openStore(t, "vfs")
	if _, err := Load(context.Background(), s, f.ociPath, Options{}); err != nil {
		t.Fatal(err)
	}
	other := f.image
	other.Name = "docker.io/library/demo:2"
	path := filepath.Join(f.dir, "second.tar")
	if err := testarchive.WriteDocker(path, other); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), s, path, Options{}); err != nil {
		t.Fatal(err)
	}
	img, _ := s.Inspect("demo:2")
	if names := slices.Sorted(slices.Values(img.Names)); !slices.Equal(names, []string{"docker.io/library/demo:2", "localhost/demo:1"}) {
		t.Fatalf("names %v, want demo:1 and demo:2 on one image", img.Names)
	}
	if untagged, err := s.Remove("demo:1", false); err != nil || !untagged {
		t.Fatalf("remove demo:1: untagged %v, %v", untagged, err)
	}
	if _, err := s.Inspect("demo:2"); err != nil {
		t.Errorf("image gone with its other name: %v", err)
	}
	if _, err := s.Inspect("demo:1"); !errors.Is(err, imagestore.ErrNoSuchImage) {
		t.Errorf("demo:1 still resolves: %v", err)
	}
}

func TestBadArchivesLeaveTheStoreAsItWas(t *testing.T) {
	f := newFixture(t)
	for _, driver := range drivers(t) {
		t.Run(driver, func(t *testing.T) {
			s := openStore(t, driver)
			// Truncated: neither format can be read.
			data, _ := os.ReadFile(f.ociPath)
			trunc := filepath.Join(t.TempDir(), "trunc.tar")
			os.WriteFile(trunc, data[:len(data)/2], 0o644)
			if _, err := Load(context.Background(), s, trunc, Options{}); !errors.Is(err, imagestore.ErrBadArchive) {
				t.Errorf("truncated archive: %v, want ErrBadArchive", err)
			}
			// Corrupt second layer: the first is stored, then taken back.
			bad := f.image
			bad.Name = "bad:1"
			badPath := filepath.Join(t.TempDir(), "bad.tar")
			if err := testarchive.WriteDocker(badPath, bad); err != nil {
				t.Fatal(err)
			}
			corruptMember(t, badPath, "layer1/layer.tar")
			if _, err := Load(context.Background(), s, badPath, Options{}); !errors.Is(err, imagestore.ErrBadArchive) {
				t.Errorf("corrupt layer: %v, want ErrBadArchive", err)
			}
			if ls, _ := s.Layers(); len(ls) != 0 {
				t.Errorf("layers left by failed loads: %v", ls)
			}
			if imgs, _ := s.Images(); len(imgs) != 0 {
				t.Errorf("images left by failed loads: %v", imgs)
			}
			// Not an archive at all.
			junk := filepath.Join(t.TempDir(), "junk")
			os.WriteFile(junk, []byte("not a tar"), 0o644)
			if _, err := Load(context.Background(), s, junk, Options{}); !errors.Is(err, imagestore.ErrBadArchive) {
				t.Errorf("junk: %v, want ErrBadArchive", err)
			}
		})
	}
}

// corruptMember flips bytes inside one member's data (the gzip stream of
// the extra layer), keeping the archive's structure intact.
func corruptMember(t *testing.T, archivePath, name string) {
	t.Helper()
	f, err := os.OpenFile(archivePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	offset, size := -1, int64(0)
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("member %s not found: %v", name, err)
		}
		if h.Name == name {
			// archive/tar has read exactly the header: the file offset
			// is where the member's data starts.
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				t.Fatal(err)
			}
			offset, size = int(off), h.Size
			break
		}
	}
	if size < 40 {
		t.Fatalf("member %s too small", name)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 16), int64(offset)+size/2); err != nil {
		t.Fatal(err)
	}
}

func TestImportRootfsTarball(t *testing.T) {
	f := newFixture(t)
	s := openStore(t, "vfs")
	loaded, err := Import(context.Background(), s, f.busybox, "mybox", Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Inspect("mybox")
	if err != nil || img.ID != loaded.ID || !slices.Equal(img.Names, []string{"localhost/mybox:latest"}) {
		t.Fatalf("inspect mybox: %+v %v", img, err)
	}
	id, err := s.CreateContainer(img.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := s.Mount(id)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unmount(id, true)
	if _, err := os.Stat(filepath.Join(dir, "bin/busybox")); err != nil {
		t.Error(err)
	}
	if _, err := Import(context.Background(), s, f.busybox, "Bad Name", Options{}); !errors.Is(err, imagestore.ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
}

func tarFiles(t *testing.T, r io.Reader) map[string]int {
	t.Helper()
	files := map[string]int{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = int(h.Size)
	}
}

func isMounted(t *testing.T, dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), " "+dir+" ")
}

func TestLoadCompressedArchive(t *testing.T) {
	f := newFixture(t)
	s := openStore(t, "vfs")
	gz := filepath.Join(t.TempDir(), "docker.tar.gz")
	if err := testarchive.Gzip(f.dockPath, gz); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), s, gz, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Inspect("demo:1"); err != nil {
		t.Error(err)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Storage().GraphRoot(), "ctr-unit-tmp")); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
}
