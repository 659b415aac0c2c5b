//go:build integration

package integration

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

// testImage writes a busybox image with an app layer as an OCI archive or
// a docker-archive and returns its path.
func testImage(t *testing.T, format, name string, cfg v1.ImageConfig, extra func(*tar.Writer) error) string {
	t.Helper()
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox.tar")
	if err := testarchive.BusyboxLayer(bb); err != nil {
		t.Fatal(err)
	}
	layers := []string{bb}
	if extra != nil {
		app := filepath.Join(dir, "app.tar")
		if err := testarchive.WriteLayer(app, extra); err != nil {
			t.Fatal(err)
		}
		layers = append(layers, app)
	}
	img := testarchive.Image{Name: name, Config: cfg, Layers: layers}
	path := filepath.Join(dir, format+".tar")
	write := testarchive.WriteOCI
	if format == "docker" {
		write = testarchive.WriteDocker
	}
	if err := write(path, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func appLayer(tw *tar.Writer) error {
	if err := testarchive.Dir(tw, "app", 0o755); err != nil {
		return err
	}
	if err := testarchive.Dir(tw, "data", 0o755); err != nil {
		return err
	}
	if err := testarchive.File(tw, "data/seed.txt", []byte("seed\n"), 0o644); err != nil {
		return err
	}
	return testarchive.File(tw, "app/hello.txt", []byte("hello from the image\n"), 0o644)
}

var appConfig = v1.ImageConfig{
	Cmd:        []string{"sh", "-c", `echo "$GREETING from $(pwd)"; cat hello.txt`},
	Env:        []string{"PATH=/bin", "GREETING=hi"},
	WorkingDir: "/app",
}

// record reads a container's stored definition (LayerID, StorageDriver).
func (e *env) record(name string) (layerID, driver string) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.stateDir, "containers", name, "config.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var c struct{ LayerID, StorageDriver string }
	if err := json.Unmarshal(data, &c); err != nil || c.LayerID == "" {
		e.t.Fatalf("record of %s: %v (LayerID %q)", name, err, c.LayerID)
	}
	return c.LayerID, c.StorageDriver
}

// layerMounts counts the mounts of a layer in this mount namespace (the
// one systemd and the units' steps run in).
func layerMounts(t *testing.T, layerID string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.Contains(f[4], layerID) {
			n++
		}
	}
	return n
}

func TestImageArchivesLoadAndRunWithImageDefaultsAndFlagOverrides(t *testing.T) {
	for _, format := range []string{"oci", "docker"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			archive := testImage(t, format, "app:1", appConfig, appLayer)
			if out := e.must("image", "load", "-i", archive); !strings.Contains(out, "Loaded image: localhost/app:1") {
				t.Fatalf("load printed %q", out)
			}
			var imgs []struct {
				Id    string
				Names []string
				Size  int64
			}
			if err := json.Unmarshal([]byte(e.must("images", "--format", "json")), &imgs); err != nil || len(imgs) != 1 || imgs[0].Names[0] != "localhost/app:1" || imgs[0].Size <= 0 {
				t.Fatalf("images: %+v %v", imgs, err)
			}
			var insp []imagestore.Image
			if err := json.Unmarshal([]byte(e.must("image", "inspect", "app:1")), &insp); err != nil || insp[0].Config.WorkingDir != "/app" {
				t.Fatalf("image inspect: %+v %v", insp, err)
			}

			// The image's Cmd, Env and WorkingDir apply...
			if out := e.must("run", "--name", e.name("def"), "app:1"); out != "hi from /app\nhello from the image\n" {
				t.Errorf("image defaults: output %q", out)
			}
			// ...and flags override them.
			out := e.must("run", "--name", e.name("flags"), "-e", "GREETING=yo", "-w", "/", "app:1", "sh", "-c", `echo "$GREETING from $(pwd) $PATH"`)
			if out != "yo from / /bin\n" {
				t.Errorf("flags over image: output %q", out)
			}
			// A rootfs container still runs as before.
			if out := e.must("run", "--name", e.name("rootfs"), "--rootfs", rootfs, "--", "echo", "ok"); out != "ok\n" {
				t.Errorf("rootfs container: %q", out)
			}
			if msg := e.fails("run", "--name", e.name("nope"), "missing:1"); !strings.Contains(msg, "no such image") {
				t.Errorf("unknown image: %q", msg)
			}
		})
	}
}

func TestImageContainerLayerLivesUntilRmAndIsNeverLeftMounted(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	name := e.name("layer")
	// Each run appends a line; the first writes 512 KiB too.
	e.must("run", "-d", "--name", name, "app:1", "sh", "-c",
		`[ -f /blob ] || dd if=/dev/zero of=/blob bs=1k count=512 2>/dev/null; date >> /runs.txt; trap "exit 0" TERM; sleep 1000 & wait`)
	layer, driver := e.record(name)
	if driver != "overlay" {
		t.Logf("store driver %s: mount checks are vacuous", driver)
	}
	if driver == "overlay" && layerMounts(t, layer) != 1 {
		t.Fatalf("running container: layer mounted %d times, want 1", layerMounts(t, layer))
	}
	e.waitFor("the first write", 10*time.Second, func() bool {
		var cs []struct{ SizeRw *int64 }
		json.Unmarshal([]byte(e.must("inspect", "--size", name)), &cs)
		return len(cs) == 1 && cs[0].SizeRw != nil && *cs[0].SizeRw >= 512<<10
	})
	var sized []struct{ SizeRw, SizeRootFs *int64 }
	json.Unmarshal([]byte(e.must("inspect", "--size", name)), &sized)
	t.Logf("inspect --size: SizeRw %d, SizeRootFs %d", *sized[0].SizeRw, *sized[0].SizeRootFs)
	if rw := *sized[0].SizeRw; rw < 512<<10 || rw > 600<<10 || *sized[0].SizeRootFs <= rw {
		t.Errorf("SizeRw %d (want about 512 KiB), SizeRootFs %d", rw, *sized[0].SizeRootFs)
	}

	// systemctl-equivalent stop: nothing stays mounted.
	e.must("stop", name)
	if n := layerMounts(t, layer); n != 0 {
		t.Errorf("after stop: layer mounted %d times", n)
	}
	// A crash (kill -9 of the main process): the stop-post step unmounts.
	e.must("start", name)
	pid := e.waitStatus(name, "running", 10*time.Second).State.Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(name, "exited", 10*time.Second)
	if n := layerMounts(t, layer); n != 0 {
		t.Errorf("after kill -9: layer mounted %d times", n)
	}
	// What the container wrote survived both stops.
	dir := strings.TrimSpace(e.must("mount", name))
	data, err := os.ReadFile(filepath.Join(dir, "runs.txt"))
	e.must("umount", name)
	if err != nil || strings.Count(string(data), "\n") != 2 {
		t.Errorf("runs.txt after two runs: %q %v", data, err)
	}
	if n := layerMounts(t, layer); n != 0 {
		t.Errorf("after umount: layer mounted %d times", n)
	}

	// Export round-trips: the tar has the image's and the container's
	// files, and imports as an image that runs.
	tarPath := filepath.Join(t.TempDir(), "export.tar")
	e.must("export", name, "-o", tarPath)
	e.must("image", "import", tarPath, "exported:1")
	if out := e.must("run", "--name", e.name("reimported"), "exported:1", "sh", "-c", "cat /app/hello.txt; wc -l < /runs.txt"); out != "hello from the image\n2\n" {
		t.Errorf("exported and imported: %q", out)
	}

	// rm deletes the layer.
	e.must("rm", name)
	if _, err := os.Stat(filepath.Join(e.stateDir, "storage", driver, layer)); !os.IsNotExist(err) {
		t.Errorf("layer directory remains after rm: %v", err)
	}
	store := openStore(t, e)
	if ids, _ := store.Layers(); contains(ids, layer) {
		t.Errorf("layer %s still in the store after rm", layer)
	}
}

// A start refused before its unit runs (a -t container started with
// nothing to hold its terminal) leaves its layer unmounted: the bundle it
// wrote mounted it, and no stop step will run to unmount it.
func TestImageContainerStartRefusedLeavesNoMount(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	name := e.name("tty")
	e.must("create", "-t", "--name", name, "app:1", "sh")
	layer, driver := e.record(name)
	if driver != "overlay" {
		t.Skipf("store driver %s: nothing to mount", driver)
	}
	if msg := e.fails("start", name); !strings.Contains(msg, "terminal") {
		t.Errorf("start of a -t container: %q", msg)
	}
	if n := layerMounts(t, layer); n != 0 {
		t.Errorf("after the refused start: layer mounted %d times", n)
	}
}

// run -d makes an image container's layer while systemd starts its unit.
// A layer that cannot be made then (the image's own layer is damaged: the
// store reads it only to make one over it) fails the run with the reason,
// and the container goes again: no record, unit, mount or layer is left.
func TestImageRunWhoseLayerCannotBeMadeLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	link, data := e.topLayerLink("app:1")
	before := layerIDs(t, e)
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	name := e.name("nolayer")
	r := e.ctr("run", "-d", "--name", name, "app:1", "sleep", "600")
	if err := os.WriteFile(link, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if r.code == 0 || !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, "layer") || !strings.Contains(r.stderr, "the container is removed") {
		t.Errorf("run -d with a layer that cannot be made: exit %d, want a failure naming %s and its layer, made after the unit started (the container is removed): %s", r.code, name, r)
	}
	if out := e.must("ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, name) {
		t.Errorf("the container is still listed: %q", out)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "containers", name)); !os.IsNotExist(err) {
		t.Errorf("record of %s left: %v", name, err)
	}
	if after := layerIDs(t, e); !slices.Equal(after, before) {
		t.Errorf("image store layers %v, want %v as before the run", after, before)
	}
	e.checkNoLeaks("a layer that could not be made")
	// The name is free, and the image, mended, runs.
	e.must("run", "-d", "--name", name, "app:1", "sleep", "600")
	e.must("rm", "-f", name)
}

// A run -d killed after its container's record and before its layer
// (made while systemd starts the unit) leaves the record marked: the next
// start makes the layer, so the container starts. A layer lost after it
// was made is not made again: that start fails and says what to do.
func TestImageContainerWhoseRunWasKilledBeforeItsLayerStarts(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	name := e.name("pending")
	e.must("run", "-d", "--name", name, "app:1", "sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`)
	marker := filepath.Join(e.stateDir, "containers", name, "layer-pending")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("after run -d: %s is there (%v), want it gone once the layer is made", marker, err)
	}
	layer, _ := e.record(name)
	e.must("stop", name)
	// What such a run leaves: the record, marked, and no layer.
	if err := openStore(t, e).DeleteContainer(layer); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.must("start", name)
	if out := e.must("exec", name, "cat", "/app/hello.txt"); out != "hello from the image\n" {
		t.Errorf("exec in the container whose layer its start made: %q", out)
	}
	if got, _ := e.record(name); got != layer || !contains(layerIDs(t, e), layer) {
		t.Errorf("layer %s of the record (want %s) is not in the store: %v", got, layer, layerIDs(t, e))
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("after the start made the layer: %s is there (%v)", marker, err)
	}
	e.must("stop", name)
	if err := openStore(t, e).DeleteContainer(layer); err != nil {
		t.Fatal(err)
	}
	if msg := e.fails("start", name); !strings.Contains(msg, name) || !strings.Contains(msg, "rm") {
		t.Errorf("start of a container whose layer was lost: %q, want its name and what to do", msg)
	}
	e.must("rm", name)
	e.checkNoLeaks("a layer made by a later start")
}

func TestImageContainerRestartedBySystemdHasOneMount(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "docker", "app:1", appConfig, appLayer))
	name := e.name("restarts")
	// Fails twice, then stays up: systemd restarts it (Restart=on-failure).
	e.must("run", "-d", "--name", name, "--restart", "on-failure:5", "app:1", "sh", "-c",
		`echo x >> /count; [ "$(wc -l < /count)" -ge 3 ] || exit 1; trap "exit 0" TERM; sleep 1000 & wait`)
	layer, driver := e.record(name)
	// The lean step starts it: each restart after the stop step unmounted
	// the layer hands over to ctr-unit's start, which mounts it again.
	if start := unitProperty(t, e.inspect(name).Unit, "ExecStart"); !strings.Contains(start, "ctr-unit-step") {
		t.Errorf("the unit's start is not the lean step's: %s", start)
	}
	e.waitFor("two restarts", 20*time.Second, func() bool {
		c := e.inspect(name)
		return c.State.Status == "running" && c.RestartCount == 2
	})
	if driver == "overlay" {
		if n := layerMounts(t, layer); n != 1 {
			t.Errorf("after restarts by systemd: layer mounted %d times, want 1", n)
		}
	}
	e.must("stop", name)
	if n := layerMounts(t, layer); n != 0 {
		t.Errorf("after stop: layer mounted %d times", n)
	}
}

func TestNamedVolumeIsFilledOnceAndNeverOverwritten(t *testing.T) {
	e := newEnv(t)
	secret := t.TempDir()
	os.WriteFile(filepath.Join(secret, "secret.txt"), []byte("host only\n"), 0o600)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, func(tw *tar.Writer) error {
		if err := appLayer(tw); err != nil {
			return err
		}
		// A link out of the container's root must not lead a copy-up to
		// the host.
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "../../../../../../../.." + secret, Mode: 0o777})
	}))
	// First use: the image's /data is copied in.
	if out := e.must("run", "--name", e.name("a"), "-v", "vol:/data", "app:1", "sh", "-c", "cat /data/seed.txt; echo mine > /data/seed.txt; echo more > /data/new.txt"); out != "seed\n" {
		t.Errorf("first use: %q", out)
	}
	// Later uses see the volume's content, not the image's.
	if out := e.must("run", "--name", e.name("b"), "-v", "vol:/data:ro", "app:1", "sh", "-c", "cat /data/seed.txt /data/new.txt; touch /data/x 2>/dev/null || echo ro"); out != "mine\nmore\nro\n" {
		t.Errorf("second use: %q", out)
	}
	// A volume with content of its own is never written into.
	e.must("volume", "create", "own")
	var vs []struct {
		Mountpoint string
		UsedBy     []string
	}
	json.Unmarshal([]byte(e.must("volume", "inspect", "own")), &vs)
	os.WriteFile(filepath.Join(vs[0].Mountpoint, "user.txt"), []byte("user\n"), 0o644)
	if out := e.must("run", "--name", e.name("c"), "-v", "own:/data", "app:1", "ls", "/data"); out != "user.txt\n" {
		t.Errorf("non-empty volume: ls %q", out)
	}
	// A bind mount, read-only.
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "h.txt"), []byte("host\n"), 0o644)
	if out := e.must("run", "--name", e.name("d"), "-v", host+":/mnt:ro", "--tmpfs", "/scratch:size=1m", "--shm-size", "8m", "app:1", "sh", "-c",
		"cat /mnt/h.txt; touch /mnt/x 2>/dev/null || echo ro; df -k /scratch /dev/shm | awk 'NR>1{print $2}'"); out != "host\nro\n1024\n8192\n" {
		t.Errorf("bind, tmpfs and shm: %q", out)
	}
	// Escaping paths are refused, with nothing created.
	for _, v := range []string{"vol:/../etc", "vol:/data/../../etc", host + "/..:/x", "../rel:/x"} {
		if msg := e.fails("run", "--name", e.name("esc"), "-v", v, "app:1", "true"); !strings.Contains(msg, "volume") {
			t.Errorf("-v %s: %q", v, msg)
		}
	}
	// Copy-up through a link resolves inside the container's root.
	e.must("run", "--name", e.name("evil"), "-v", "evil:/evil", "app:1", "true")
	json.Unmarshal([]byte(e.must("volume", "inspect", "evil")), &vs)
	if _, err := os.Stat(filepath.Join(vs[0].Mountpoint, "secret.txt")); err == nil {
		t.Errorf("copy-up through /evil copied a host directory")
	}
	// A used volume is not removed without -f.
	if msg := e.fails("volume", "rm", "vol"); !strings.Contains(msg, "in use") {
		t.Errorf("volume rm of a used volume: %q", msg)
	}
}

func TestBadArchivesLeaveNoLayerAndUsedImagesAreKept(t *testing.T) {
	e := newEnv(t)
	archive := testImage(t, "oci", "app:1", appConfig, appLayer)
	data, _ := os.ReadFile(archive)
	trunc := filepath.Join(t.TempDir(), "trunc.tar")
	os.WriteFile(trunc, data[:len(data)*2/3], 0o644)
	r := e.ctr("image", "load", "-i", trunc)
	if r.code != 125 || !strings.Contains(r.stderr, "bad image archive") {
		t.Errorf("truncated archive: %s", r)
	}
	store := openStore(t, e)
	if ids, _ := store.Layers(); len(ids) != 0 {
		t.Errorf("layers left by a truncated archive: %v", ids)
	}
	if out := e.must("images", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("images after a failed load: %s", out)
	}

	// An image in use is kept unless forced; forced, its containers go.
	e.must("image", "load", "-i", archive)
	name := e.name("user")
	e.must("create", "--name", name, "app:1")
	if msg := e.fails("rmi", "app:1"); !strings.Contains(msg, name) {
		t.Errorf("rmi of a used image: %q", msg)
	}
	e.must("rmi", "-f", "app:1")
	if r := e.ctr("inspect", name); r.code == 0 {
		t.Errorf("container %s outlived rmi -f", name)
	}
	store = openStore(t, e)
	if ids, _ := store.Layers(); len(ids) != 0 {
		t.Errorf("layers left after rmi -f: %v", ids)
	}
}

func openStore(t *testing.T, e *env) *imagestore.Store {
	t.Helper()
	s, err := imagestore.Open(imagestore.Options{GraphRoot: filepath.Join(e.stateDir, "storage"), RunRoot: filepath.Join(e.runtimeDir, "storage")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// topLayerLink is the overlay link file of an image's top layer, and what
// it holds: only the making of a layer over that one reads it. Skips the
// test where the store's driver is not overlay.
func (e *env) topLayerLink(ref string) (path string, data []byte) {
	e.t.Helper()
	var imgs []struct{ TopLayer string }
	if err := json.Unmarshal([]byte(e.must("image", "inspect", ref)), &imgs); err != nil || len(imgs) != 1 {
		e.t.Fatalf("image inspect %s: %v", ref, err)
	}
	path = filepath.Join(e.stateDir, "storage", "overlay", imgs[0].TopLayer, "link")
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Skipf("no overlay layer link (%v): the store's driver is not overlay", err)
	}
	return path, data
}

// layerIDs lists the image store's layers, sorted.
func layerIDs(t *testing.T, e *env) []string {
	t.Helper()
	ids, err := openStore(t, e).Layers()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// An image's HEALTHCHECK is the container's unless flags say otherwise.
func TestImageHealthcheckAppliesAndFlagsOverrideIt(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox.tar")
	if err := testarchive.BusyboxLayer(bb); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "oci.tar")
	img := testarchive.Image{
		Name:        "localhost/checked:1",
		Config:      v1.ImageConfig{Cmd: []string{"sleep", "1000"}, Env: []string{"PATH=/bin"}},
		Healthcheck: &testarchive.Healthcheck{Test: []string{"CMD-SHELL", "test -e /bin/sh"}, Interval: time.Second, Retries: 2},
		Layers:      []string{bb},
	}
	if err := testarchive.WriteOCI(path, img); err != nil {
		t.Fatal(err)
	}
	e.must("image", "load", "-i", path)

	checked, unchecked := e.name("checked"), e.name("unchecked")
	e.must("run", "-d", "--name", checked, "localhost/checked:1")
	e.waitFor(checked+" to be healthy by the image's check", 15*time.Second, func() bool {
		return e.health(checked).Status == "healthy"
	})
	e.must("run", "-d", "--name", unchecked, "--no-healthcheck", "localhost/checked:1")
	time.Sleep(1500 * time.Millisecond)
	if h := e.health(unchecked); h.Status != "" || len(h.Log) != 0 {
		t.Errorf("--no-healthcheck: the image's check ran anyway: %+v", h)
	}
}

func TestSaveTagUntagPruneAndOtherTransports(t *testing.T) {
	e := newEnv(t)
	e.hostConfig("")
	e.must("image", "load", "-q", "-i", testImage(t, "docker", "app:1", appConfig, appLayer))
	e.must("tag", "app:1", "app:2", "quay.io/x/app:3")
	img := e.imageInspect("app:1")
	if want := []string{"localhost/app:1", "localhost/app:2", "quay.io/x/app:3"}; !slices.Equal(slices.Sorted(slices.Values(img.RepoTags)), want) {
		t.Fatalf("names after tag: %v, want %v", img.RepoTags, want)
	}
	dir := t.TempDir()
	for _, format := range []string{"docker-archive", "oci-archive"} {
		file := filepath.Join(dir, format+".tar")
		e.must("image", "save", "-o", file, "--format", format, "quay.io/x/app:3")
		e2 := newEnv(t)
		e2.environ = e.environ
		if out := e2.must("load", "-i", file); !strings.Contains(out, "Loaded image: quay.io/x/app:3") {
			t.Errorf("load of the %s save wrote: %q", format, out)
		}
		if out := e2.must("run", "--name", e2.name("saved"), "quay.io/x/app:3"); out != "hi from /app\nhello from the image\n" {
			t.Errorf("run of the image saved as %s printed %q", format, out)
		}
		// Saved again, the archive is replaced whole, as export's.
		e.must("save", "-o", file, "--format", format, "app:1")
		if out := e2.must("load", "-i", file); !strings.Contains(out, "Loaded image: localhost/app:1") {
			t.Errorf("load of the %s saved over the first: %q", format, out)
		}
	}
	// Other transports, both ways: an OCI layout directory and dir:.
	e.must("push", "app:1", "oci:"+filepath.Join(dir, "layout")+":app:9")
	e.must("push", "app:1", "dir:"+filepath.Join(dir, "plain"))
	e3 := newEnv(t)
	e3.environ = e.environ
	e3.must("pull", "oci:"+filepath.Join(dir, "layout")+":app:9")
	e3.must("pull", "dir:"+filepath.Join(dir, "plain"))
	if out := e3.must("run", "--name", e3.name("oci"), "app:9"); out != "hi from /app\nhello from the image\n" {
		t.Errorf("run of the image from oci: printed %q", out)
	}

	e.must("untag", "app:1", "app:2")
	if got := e.imageInspect("app:1").RepoTags; slices.Contains(got, "localhost/app:2") {
		t.Errorf("app:2 still named after untag: %v", got)
	}
	if msg := e.fails("untag", "app:1", "nosuch:1"); !strings.Contains(msg, "not named nosuch:1") {
		t.Errorf("untag of a name the image lacks: %q", msg)
	}
	// An unnamed image goes with prune; a used one stays even with -a.
	e.must("untag", "app:1")
	name := e.name("user")
	e.must("create", "--name", name, img.Id)
	if out := e.must("image", "prune", "-f", "-a"); strings.TrimSpace(out) != "" {
		t.Errorf("prune -a removed the used image: %q", out)
	}
	e.must("rm", name)
	if out := e.must("image", "prune", "-f"); strings.TrimSpace(out) != img.Id {
		t.Errorf("prune printed %q, want %s", out, img.Id)
	}
	if ids, _ := openStore(t, e).Layers(); len(ids) != 0 {
		t.Errorf("layers left after prune: %v", ids)
	}
}

// A named volume first filled from an image takes the owner and mode of
// the image's directory, as podman's copy-up does: the image's user (999)
// can write to it.
func TestNamedVolumeTakesTheImageDirectorysOwner(t *testing.T) {
	e := newEnv(t)
	cfg := v1.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}, User: "999:999"}
	e.must("image", "load", "-i", testImage(t, "oci", "db:1", cfg, func(tw *tar.Writer) error {
		for _, d := range []string{"var", "var/lib"} {
			if err := testarchive.Dir(tw, d, 0o755); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "var/lib/db/", Mode: 0o700, Uid: 999, Gid: 999}); err != nil {
			return err
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "var/lib/db/PG_VERSION", Mode: 0o600, Uid: 999, Gid: 999})
	}))
	out := e.must("run", "--name", e.name("db"), "-v", e.name("dbdata")+":/var/lib/db", "db:1", "sh", "-c", "id -u; stat -c '%u:%g %a' /var/lib/db; echo row > /var/lib/db/table && echo wrote")
	if out != "999\n999:999 700\nwrote\n" {
		t.Errorf("the image's user in its volume: %q, want uid 999 writing to a 999:999 0700 directory", out)
	}
}
