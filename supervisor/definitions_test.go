package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/recordstore"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// configFromFile2 is configFromFile of a parsed file.
func configFromFile2(f *definition.File, checkFS bool, resolve imageResolver) (*container.Config, error) {
	return configFromFile(f, nil, nil, checkFS, resolve)
}

func TestFindCycle(t *testing.T) {
	chain := map[string][]string{"a": {"b"}, "b": {"c"}, "c": nil}
	if c := findCycle(chain, "a"); c != nil {
		t.Errorf("chain a -> b -> c: cycle %v", c)
	}
	diamond := map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": nil}
	if c := findCycle(diamond, "a"); c != nil {
		t.Errorf("diamond: cycle %v", c)
	}
	loop := map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}}
	if c := findCycle(loop, "a"); !reflect.DeepEqual(c, []string{"a", "b", "c", "a"}) {
		t.Errorf("loop: %v, want a b c a", c)
	}
	// A cycle further down is found and named from where it closes.
	tail := map[string][]string{"x": {"a"}, "a": {"b"}, "b": {"a"}}
	if c := findCycle(tail, "x"); !reflect.DeepEqual(c, []string{"a", "b", "a"}) {
		t.Errorf("tail: %v, want a b a", c)
	}
	if c := findCycle(map[string][]string{}, "ghost"); c != nil {
		t.Errorf("unknown start: %v", c)
	}
}

func parse(t *testing.T, text string) *definition.File {
	t.Helper()
	f, err := definition.Parse("/etc/ctr-unit/web.container", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConfigFromFile(t *testing.T) {
	f := parse(t, `[Unit]
Description=my web
[Container]
Rootfs=/srv/web
Exec=sh -c "echo hi; sleep 1000"
Environment=A=1 B=2
Restart=on-failure:3
StopSignal=INT
StopTimeout=30s
Memory=64M
CPUs=0.5
PidsLimit=50
Requires=db cache
WaitNetwork=no
[Service]
Environment=X=y
[Install]
WantedBy=multi-user.target
`)
	cfg, err := configFromFile2(f, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Unit != "ctr@web.service" || cfg.Source != f.Path {
		t.Errorf("unit %q source %q", cfg.Unit, cfg.Source)
	}
	if !reflect.DeepEqual(cfg.Command, []string{"sh", "-c", "echo hi; sleep 1000"}) {
		t.Errorf("command %q", cfg.Command)
	}
	if cfg.Restart.String() != "on-failure:3" || cfg.StopSignal != 2 || cfg.StopTimeout != 30 {
		t.Errorf("restart %v signal %v timeout %v", cfg.Restart, cfg.StopSignal, cfg.StopTimeout)
	}
	if cfg.MemoryMax != 64<<20 || cfg.CPUQuotaUSec != 500_000 || cfg.PidsLimit != 50 {
		t.Errorf("limits %d %d %d", cfg.MemoryMax, cfg.CPUQuotaUSec, cfg.PidsLimit)
	}
	if !reflect.DeepEqual(cfg.Requires, []string{"db", "cache"}) || !cfg.NoNetworkWait {
		t.Errorf("requires %v no-network-wait %v", cfg.Requires, cfg.NoNetworkWait)
	}
	// [Unit] and [Service] go to the unit; [Install] is the generator's.
	if len(cfg.Extra) != 2 || cfg.Extra[1] != (container.UnitSetting{Section: "Service", Name: "Environment", Value: "X=y"}) {
		t.Errorf("extra %v", cfg.Extra)
	}
}

func TestConfigFromFileReportsEveryProblem(t *testing.T) {
	f := parse(t, `[Container]
Timezone=../x
Exec=sh -c "unterminated
Restart=sometimes
StopSignal=NOPE
Memory=lots
Colour=blue
Requires=-web
[Service]
ExecStart=/bin/evil
`)
	_, err := configFromFile2(f, false, nil)
	probs, ok := err.(definition.Problems)
	if !ok {
		t.Fatalf("err = %v, want Problems", err)
	}
	lines := map[int]bool{}
	for _, p := range probs {
		lines[p.Line] = true
	}
	for _, l := range []int{2, 3, 4, 5, 6, 7, 8, 10} {
		if !lines[l] {
			t.Errorf("no problem reported for line %d:\n%v", l, err)
		}
	}
}

// The Health* keys give the healthcheck the same flags give create.
func TestHealthKeysGiveTheFlagsHealthcheck(t *testing.T) {
	f := parse(t, `[Container]
Rootfs=/srv/web
Exec=sleep 1000
HealthCmd=test -e /tmp/ok
HealthInterval=1s
HealthTimeout=2s
HealthRetries=5
HealthStartPeriod=3s
HealthOnFailure=restart
HealthStartupCmd=["CMD", "true"]
HealthStartupInterval=500ms
HealthStartupRetries=2
HealthStartupSuccess=3
Notify=healthy
`)
	cfg, err := configFromFile2(f, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := container.Options{Name: "web", Rootfs: "/srv/web", Command: []string{"sleep", "1000"}}
	for _, fv := range [][2]string{
		{"health-cmd", "test -e /tmp/ok"}, {"health-interval", "1s"}, {"health-timeout", "2s"}, {"health-retries", "5"},
		{"health-start-period", "3s"}, {"health-on-failure", "restart"}, {"health-startup-cmd", `["CMD", "true"]`},
		{"health-startup-interval", "500ms"}, {"health-startup-retries", "2"}, {"health-startup-success", "3"}, {"sdnotify", "healthy"},
	} {
		s, _ := container.Lookup(fv[0])
		if err := s.Set(&o, fv[1]); err != nil {
			t.Fatal(err)
		}
	}
	want, err := container.Build(o, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Health, want.Health) {
		t.Errorf("health %+v\nwant   %+v", cfg.Health, want)
	}
	if cfg, _ := configFromFile2(parse(t, "[Container]\nRootfs=/x\nExec=sleep 1\n"), false, nil); cfg.Health != nil {
		t.Errorf("no Health* keys: health %+v", cfg.Health)
	}
}

func TestHealthKeysReportEveryBadValueWithItsLine(t *testing.T) {
	f := parse(t, `[Container]
Rootfs=/srv/web
Exec=sleep 1000
HealthCmd=[1]
HealthInterval=10
HealthRetries=three
HealthOnFailure=explode
HealthStartupTimeout=0
Notify=container
`)
	_, err := configFromFile2(f, false, nil)
	var probs definition.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v, want Problems", err)
	}
	byLine := map[int]string{}
	for _, p := range probs {
		byLine[p.Line] = p.Msg
	}
	for line, key := range map[int]string{4: "HealthCmd=", 5: "HealthInterval=", 6: "HealthRetries=", 7: "HealthOnFailure=", 8: "HealthStartupTimeout=", 9: "Notify="} {
		if msg := byLine[line]; !strings.Contains(msg, key) || strings.Contains(msg, "--") {
			t.Errorf("line %d: %q, want a problem naming %s (and no flag)", line, msg, key)
		}
	}

	// Settings that are fine alone but not together: at HealthCmd's line.
	f = parse(t, "[Container]\nRootfs=/x\nExec=sleep 1\nHealthCmd=none\nHealthInterval=1s\n")
	if _, err := configFromFile2(f, false, nil); err == nil || !strings.Contains(err.Error(), "web.container:5: HealthInterval= needs HealthCmd=") {
		t.Errorf("interval without a command: %v", err)
	}
}

func TestImageDefinition(t *testing.T) {
	text := "[Container]\nImage=app:1\nEnvironment=GREETING=file\nStopTimeout=5\n"
	// The generator's view: no image store, so no command yet, but the
	// unit mounts the layer:
	cfg, err := configFromFile2(parse(t, text), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Image != "app:1" || cfg.Command != nil || cfg.StopSignal != container.DefaultStopSignal {
		t.Errorf("without the store: image %q command %q signal %v", cfg.Image, cfg.Command, cfg.StopSignal)
	}
	// The unit's start (ctr-unit's) writes the bundle and mounts the
	// layer; the lean step cleans up unless there is a layer.
	svc := container.BuildService(cfg, unitstep.Runner{Full: "/bin/ctr-unit", Lean: "/bin/ctr-unit-step"}, nil)
	if len(svc.ExecStartPre) != 0 || svc.ExecStart[0] != "/bin/ctr-unit" || !slices.Contains(svc.ExecStart, string(unitstep.PrepareStart)) || svc.ExecStopPost[0][0] != "/bin/ctr-unit" {
		t.Errorf("the unit of an image definition: start-pre %q, start %q, stop-post %q; want ctr-unit's prepare-start, which mounts its layer, and its stop-post, which unmounts it", svc.ExecStartPre, svc.ExecStart, svc.ExecStopPost)
	}

	// With the store, the image's config fills what the file leaves out,
	// as create IMAGE does; the file's stop signal stays.
	lookup := func(o container.Options) (container.Options, error) {
		return container.ApplyImage(o, container.Image{ID: "abc", Cmd: []string{"sh", "-c", "echo hi"}, Env: []string{"PATH=/bin", "GREETING=hi"}, WorkingDir: "/app", StopSignal: "SIGINT"})
	}
	cfg, err = configFromFile2(parse(t, text), false, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Command, []string{"sh", "-c", "echo hi"}) || cfg.ImageID != "abc" || cfg.WorkDir != "/app" ||
		!reflect.DeepEqual(cfg.Env, []string{"PATH=/bin", "GREETING=file"}) || cfg.StopSignal != container.DefaultStopSignal {
		t.Errorf("with the image: %+v", cfg)
	}

	missing := func(o container.Options) (container.Options, error) {
		return o, fmt.Errorf("container web: %w: app:1", imagestore.ErrNoSuchImage)
	}
	if _, err := configFromFile2(parse(t, text), false, missing); err == nil || !strings.Contains(err.Error(), "web.container:2: Image=app:1: no such image") {
		t.Errorf("missing image: %v", err)
	}
	if _, err := configFromFile2(parse(t, "[Container]\nImage=app:1\nRootfs=/x\n"), false, nil); err == nil || !strings.Contains(err.Error(), ":3: Rootfs=/x: give Image= or Rootfs=, not both") {
		t.Errorf("image and rootfs: %v", err)
	}
}

// Entrypoint= is --entrypoint in a definition file.
func TestEntrypointKey(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // the command; nil: refused
		problem    string
	}{
		{"before Exec", "[Container]\nRootfs=/srv/web\nEntrypoint=/bin/tini\nExec=httpd -f\n", []string{"/bin/tini", "httpd", "-f"}, ""},
		{"alone", "[Container]\nRootfs=/srv/web\nEntrypoint=[\"httpd\",\"-f\"]\n", []string{"httpd", "-f"}, ""},
		{"a path with a space", "[Container]\nRootfs=/srv/web\nEntrypoint=/opt/my app\n", []string{"/opt/my app"}, ""},
		{"bad array", "[Container]\nRootfs=/srv/web\nEntrypoint=[\"httpd\",\nExec=x\n", nil, "web.container:3: Entrypoint=[\"httpd\",: entrypoint"},
		// As podman runs it: "", which fails as it starts (127).
		{"neither", "[Container]\nRootfs=/srv/web\nEntrypoint=\n", []string{""}, ""},
	} {
		cfg, err := configFromFile2(parse(t, tc.text), false, nil)
		if tc.want == nil {
			var probs definition.Problems
			if !errors.As(err, &probs) || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("%s: %v, want a problem saying %q", tc.name, err, tc.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(cfg.Command, tc.want) {
			t.Errorf("%s: command %q, want %q", tc.name, cfg.Command, tc.want)
		}
	}
}

// The generator cannot read images; an image's unit is made all the same,
// and its record gets the command when the image is read (applyImageConfig).
func TestEntrypointKeyWithAnImageNeedsNoImageInTheGenerator(t *testing.T) {
	if _, err := configFromFile2(parse(t, "[Container]\nImage=app:1\nEntrypoint=/bin/sh\n"), false, nil); err != nil {
		t.Error(err)
	}
}

const fileHead = "[Container]\nRootfs=/srv/web\nExec=sleep 1\n" // the keys under test start at line 4

// Volume=, Tmpfs=, ShmSize=, User= and Group= give the config what -v,
// --tmpfs, --shm-size and --user give create.
func TestMountKeysGiveWhatTheFlagsGive(t *testing.T) {
	bind := func(src, dst string, ro bool) container.Mount {
		return container.Mount{Type: container.MountBind, Source: src, Destination: dst, ReadOnly: ro}
	}
	tmpfs := func(dst string, opts ...string) container.Mount {
		return container.Mount{Type: container.MountTmpfs, Source: "tmpfs", Destination: dst, Options: append([]string{"nosuid", "nodev"}, opts...)}
	}
	for _, tc := range []struct {
		name, keys string
		mounts     []container.Mount
		shm        int64
		user       string
		uid, gid   uint32
	}{
		{name: "host dir", keys: "Volume=/srv/data:/data", mounts: []container.Mount{bind("/srv/data", "/data", false)}},
		{name: "host dir ro", keys: "Volume=/srv/data/:/data:ro", mounts: []container.Mount{bind("/srv/data", "/data", true)}},
		{name: "named", keys: "Volume=cache:/var/cache:rw", mounts: []container.Mount{{Type: container.MountVolume, Name: "cache", Destination: "/var/cache"}}},
		{name: "relative to the file", keys: "Volume=./data:/data", mounts: []container.Mount{bind("/etc/ctr-unit/data", "/data", false)}},
		{name: "relative, up", keys: "Volume=../shared:/shared:ro", mounts: []container.Mount{bind("/etc/shared", "/shared", true)}},
		{name: "host path ending in .volume", keys: "Volume=/srv/x.volume:/x", mounts: []container.Mount{bind("/srv/x.volume", "/x", false)}},
		{name: "tmpfs", keys: "Tmpfs=/scratch", mounts: []container.Mount{tmpfs("/scratch")}},
		{name: "tmpfs options", keys: "Tmpfs=/scratch:size=1m,mode=1777", mounts: []container.Mount{tmpfs("/scratch", "size=1m", "mode=1777")}},
		{name: "repeated, in order", keys: "Volume=/a:/a\nTmpfs=/t\nVolume=v:/v:ro\nTmpfs=/u:ro",
			mounts: []container.Mount{bind("/a", "/a", false), {Type: container.MountVolume, Name: "v", Destination: "/v", ReadOnly: true}, tmpfs("/t"), {Type: container.MountTmpfs, Source: "tmpfs", Destination: "/u", ReadOnly: true, Options: []string{"nosuid", "nodev", "ro"}}}},
		{name: "shm", keys: "ShmSize=16m", shm: 16 << 20},
		{name: "shm bytes", keys: "ShmSize=65536", shm: 65536},
		{name: "uid", keys: "User=1000", user: "1000", uid: 1000, gid: 1000},
		{name: "uid:gid", keys: "User=1000:100", user: "1000:100", uid: 1000, gid: 100},
		{name: "uid, Group=", keys: "User=1000\nGroup=100", user: "1000:100", uid: 1000, gid: 100},
		{name: "name", keys: "User=app", user: "app"},
		{name: "name, Group=", keys: "User=app\nGroup=staff", user: "app:staff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configFromFile2(parse(t, fileHead+tc.keys+"\n"), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(cfg.Mounts, tc.mounts, func(a, b container.Mount) bool {
				return a.Type == b.Type && a.Name == b.Name && a.Source == b.Source && a.Destination == b.Destination && a.ReadOnly == b.ReadOnly && slices.Equal(a.Options, b.Options)
			}) {
				t.Errorf("mounts %+v\nwant   %+v", cfg.Mounts, tc.mounts)
			}
			if cfg.ShmSize != tc.shm || cfg.User != tc.user || cfg.UID != tc.uid || cfg.GID != tc.gid {
				t.Errorf("shm %d user %q %d:%d, want %d %q %d:%d", cfg.ShmSize, cfg.User, cfg.UID, cfg.GID, tc.shm, tc.user, tc.uid, tc.gid)
			}
		})
	}
}

// Every bad value is a problem at its line, naming its key, in the file's
// terms (no flag names).
func TestMountKeysReportBadValuesAtTheirLine(t *testing.T) {
	for _, tc := range []struct {
		keys string
		line int
		want string
	}{
		{"Volume=/data", 4, "Volume=/data: use HOSTDIR:CTRDIR[:ro] or NAME:CTRDIR[:ro]"},
		{"Volume=/a:/b:ro:x", 4, "use HOSTDIR"},
		{"Volume=/srv:data", 4, `container path "data" must be absolute`},
		{"Volume=/srv:/x/../../etc", 4, "must not contain .."},
		{"Volume=/srv:/", 4, "cannot mount over the root"},
		{"Volume=/srv/../etc:/x", 4, "host path must not contain .."},
		{"Volume=bad name:/x", 4, "invalid volume name"},
		{"Volume=/srv:/x:rw,z", 4, `unknown option "z"`},
		{"Volume=data.volume:/x", 4, "no .volume units"},
		{"Volume=./data", 4, "Volume=./data: use HOSTDIR:CTRDIR[:ro] or NAME:CTRDIR[:ro]"},
		{"Volume=./data:rel", 4, `Volume=./data:rel: container path "rel" must be absolute`},
		{"Volume=/a:/data\nTmpfs=/data", 5, "Tmpfs=/data: /data is mounted already"},
		{"Volume=v:/data\nVolume=/b:/data:ro", 5, "Volume=/b:/data:ro: /data is mounted already"},
		{"Tmpfs=scratch", 4, `Tmpfs=scratch: container path "scratch" must be absolute`},
		{"Tmpfs=/", 4, "cannot mount over the root"},
		{"Tmpfs=/x:size=1m,,mode=1", 4, `Tmpfs=/x:size=1m,,mode=1: bad option ""`},
		{"ShmSize=lots", 4, "ShmSize=lots: want a size"},
		{"ShmSize=0", 4, "ShmSize=0: want a size above 0"},
		{"ShmSize=-1m", 4, "ShmSize=-1m"},
		{"User=a b", 4, "User=a b: use NAME, UID, NAME:GROUP or UID:GID"},
		{"User=:100", 4, "User=:100: use NAME"},
		{"User=a:b:c", 4, "User=a:b:c: use NAME"},
		{"User=/bin/sh", 4, "User=/bin/sh: use NAME"},
		{"Group=100", 4, "Group=100: needs User="},
		{"User=1000:100\nGroup=5", 5, "Group=5: User= names a group already"},
		{"User=1000\nGroup=a b", 5, "Group=a b: use a group NAME or GID"},
	} {
		_, err := configFromFile2(parse(t, fileHead+tc.keys+"\n"), false, nil)
		var probs definition.Problems
		if !errors.As(err, &probs) {
			t.Errorf("%q: err = %v, want Problems", tc.keys, err)
			continue
		}
		if len(probs) != 1 || probs[0].Line != tc.line || !strings.Contains(probs[0].Msg, tc.want) || strings.Contains(probs[0].Msg, "--") {
			t.Errorf("%q: %v\nwant one problem at line %d with %q (and no flag)", tc.keys, err, tc.line, tc.want)
		}
	}
}

// rootfsWithUsers is a rootfs with /etc/passwd and /etc/group, and a
// /cache directory holding one file, for copy-up.
func rootfsWithUsers(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for path, data := range map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nstaff:x:50:\n",
		"cache/seed": "from the rootfs\n",
	} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// What needs the file system is checked when it may be read (validate),
// and not by the generator, which must not.
func TestMountKeysCheckTheFileSystemOnlyWhenAsked(t *testing.T) {
	root := rootfsWithUsers(t)
	head := "[Container]\nRootfs=" + root + "\nExec=sleep 1\n"
	for _, tc := range []struct {
		keys string
		want string // with checkFS; "" for none
	}{
		{"Volume=/nonexistent-ctr-unit-test:/x", "Volume=/nonexistent-ctr-unit-test:/x: host path /nonexistent-ctr-unit-test does not exist"},
		{"Volume=" + root + ":/x", ""},
		{"Volume=never-made:/x", ""}, // named volumes are made on first use
		{"User=app", ""},
		{"User=app\nGroup=staff", ""},
		{"User=1234", ""}, // numeric: not looked up, as --user
		{"User=nobody", "User=nobody: unable to find user nobody"},
		{"User=app\nGroup=wheel", "User=app:wheel: unable to find group wheel"},
	} {
		if _, err := configFromFile2(parse(t, head+tc.keys+"\n"), false, nil); err != nil {
			t.Errorf("%q without checkFS: %v", tc.keys, err)
		}
		_, err := configFromFile2(parse(t, head+tc.keys+"\n"), true, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q with checkFS: %v", tc.keys, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), "web.container:4: "+tc.want)):
			t.Errorf("%q with checkFS: %v, want line 4: %s", tc.keys, err, tc.want)
		}
	}
}

// A definition's named volumes and user are resolved as its record is
// synced, as create resolves them; the generator resolves nothing. A file
// that did not change leaves its record as it is.
func TestSyncResolvesVolumesAndUserLikeCreate(t *testing.T) {
	root, hostDir, defDir, state := rootfsWithUsers(t), t.TempDir(), t.TempDir(), t.TempDir()
	s, _ := testSupervisor(t, cgroupmgr.Unified)
	s.defDirs = []string{defDir}
	s.dirs.StateDir = state
	s.store, s.fs = recordstore.Open(s.dirs), rootfs.New(s.dirs, "vfs")
	path := filepath.Join(defDir, "web.container")
	write := func(keys string) {
		t.Helper()
		text := "[Container]\nRootfs=" + root + "\nExec=sleep 1\n" + keys
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Volume=" + hostDir + ":/out\nVolume=cache:/cache\nTmpfs=/scratch\nUser=app\n")
	volData := filepath.Join(state, "volumes", "cache", "_data")

	var logged []string
	if err := s.Generate(t.TempDir(), func(f string, a ...any) { logged = append(logged, f) }); err != nil || len(logged) > 0 {
		t.Fatalf("generate: %v %v", err, logged)
	}
	if _, err := os.Stat(filepath.Join(state, "volumes")); !os.IsNotExist(err) {
		t.Errorf("the generator touched the volume store: %v", err)
	}
	if err := s.Validate(path); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if _, err := os.Stat(volData); !os.IsNotExist(err) {
		t.Errorf("validate made the volume: %v", err)
	}

	if err := s.syncDefinition("web", false); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.store.Config("web")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Mounts) != 3 || cfg.Mounts[0].Source != hostDir || cfg.Mounts[1].Source != volData || cfg.Mounts[2].Type != container.MountTmpfs {
		t.Errorf("mounts %+v, want the volume at %s", cfg.Mounts, volData)
	}
	if cfg.UID != 1000 || cfg.GID != 1000 {
		t.Errorf("user app is %d:%d, want 1000:1000 from the rootfs", cfg.UID, cfg.GID)
	}
	if data, err := os.ReadFile(filepath.Join(volData, "seed")); err != nil || string(data) != "from the rootfs\n" {
		t.Errorf("the new volume was not filled from the rootfs: %q %v", data, err)
	}
	spec := container.BuildSpec(cfg, nil)
	if spec.UID != 1000 || spec.GID != 1000 || !slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == "/cache" && m.Source == volData && m.Type == "bind" }) {
		t.Errorf("spec user %d:%d mounts %+v", spec.UID, spec.GID, spec.Mounts)
	}

	recPath := filepath.Join(state, "containers", "web", "config.json")
	before, err := os.Stat(recPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.syncDefinition("web", true); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(recPath); err != nil || !os.SameFile(before, after) {
		t.Errorf("a sync of an unchanged file rewrote the record (%v)", err)
	}

	// Another group and another volume: resolved at the next sync.
	write("Volume=cache:/cache\nVolume=logs:/logs:ro\nUser=app\nGroup=staff\nShmSize=16m\n")
	if err := s.syncDefinition("web", false); err != nil {
		t.Fatal(err)
	}
	cfg, _ = s.store.Config("web")
	if cfg.UID != 1000 || cfg.GID != 50 || len(cfg.Mounts) != 2 || cfg.Mounts[1].Source != filepath.Join(state, "volumes", "logs", "_data") || cfg.ShmSize != 16<<20 {
		t.Errorf("after the change: %d:%d %+v shm %d", cfg.UID, cfg.GID, cfg.Mounts, cfg.ShmSize)
	}

	// A host directory that is gone fails the sync; the record stays.
	write("Volume=" + filepath.Join(hostDir, "gone") + ":/out\nUser=app\n")
	if err := s.syncDefinition("web", true); !errors.Is(err, container.ErrInvalid) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("sync with a missing host directory: %v", err)
	}
	if again, _ := s.store.Config("web"); len(again.Mounts) != 2 {
		t.Errorf("a failed sync changed the record: %+v", again.Mounts)
	}
	var probs definition.Problems
	if err := s.Validate(path); !errors.As(err, &probs) || probs[0].Line != 4 {
		t.Errorf("validate with a missing host directory: %v", err)
	}
}

// A command reads only the definition files of the containers it is
// about, and a file's record is made again whenever the file changed,
// even by an edit that keeps its size and modification time.
func TestRefreshReadsTheFilesItIsAskedFor(t *testing.T) {
	root, defDir := t.TempDir(), t.TempDir()
	s, _ := testSupervisor(t, cgroupmgr.Unified)
	s.defDirs = []string{defDir}
	write := func(name, exec string) string {
		t.Helper()
		path := filepath.Join(defDir, name+".container")
		if err := os.WriteFile(path, []byte("[Container]\nRootfs="+root+"\nExec="+exec+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a", "sleep 1")
	write("b", "sleep 1")
	if err := s.Refresh(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Config("b"); !errors.Is(err, container.ErrNoSuchContainer) {
		t.Errorf("a refresh for a read b's file too: %v", err)
	}
	cfg, err := s.store.Config("a")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SourceStamp == "" {
		t.Error("the record has no stamp of its file")
	}
	info, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	write("a", "sleep 2")
	if err := os.Chtimes(a, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if cfg, err := s.store.Config("a"); err != nil || strings.Join(cfg.Command, " ") != "sleep 2" {
		t.Errorf("after an edit of the same size and time: %v %v", cfg.Command, err)
	}
	if _, err := s.store.Config("b"); err != nil {
		t.Errorf("a refresh of all did not make b: %v", err)
	}
}
