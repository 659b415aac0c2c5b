package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/definition"
)

const fileHead = "[Container]\nRootfs=/srv/web\nExec=sleep 1\n" // the keys under test start at line 4

// Volume=, Tmpfs=, ShmSize=, User= and Group= give the config what -v,
// --tmpfs, --shm-size and --user give create.
func TestMountKeysGiveWhatTheFlagsGive(t *testing.T) {
	bind := func(src, dst string, ro bool) Mount {
		return Mount{Type: MountBind, Source: src, Destination: dst, ReadOnly: ro}
	}
	tmpfs := func(dst string, opts ...string) Mount {
		return Mount{Type: MountTmpfs, Source: "tmpfs", Destination: dst, Options: append([]string{"nosuid", "nodev"}, opts...)}
	}
	for _, tc := range []struct {
		name, keys string
		mounts     []Mount
		shm        int64
		user       string
		uid, gid   uint32
	}{
		{name: "host dir", keys: "Volume=/srv/data:/data", mounts: []Mount{bind("/srv/data", "/data", false)}},
		{name: "host dir ro", keys: "Volume=/srv/data/:/data:ro", mounts: []Mount{bind("/srv/data", "/data", true)}},
		{name: "named", keys: "Volume=cache:/var/cache:rw", mounts: []Mount{{Type: MountVolume, Name: "cache", Destination: "/var/cache"}}},
		{name: "relative to the file", keys: "Volume=./data:/data", mounts: []Mount{bind("/etc/ctr-unit/data", "/data", false)}},
		{name: "relative, up", keys: "Volume=../shared:/shared:ro", mounts: []Mount{bind("/etc/shared", "/shared", true)}},
		{name: "host path ending in .volume", keys: "Volume=/srv/x.volume:/x", mounts: []Mount{bind("/srv/x.volume", "/x", false)}},
		{name: "tmpfs", keys: "Tmpfs=/scratch", mounts: []Mount{tmpfs("/scratch")}},
		{name: "tmpfs options", keys: "Tmpfs=/scratch:size=1m,mode=1777", mounts: []Mount{tmpfs("/scratch", "size=1m", "mode=1777")}},
		{name: "repeated, in order", keys: "Volume=/a:/a\nTmpfs=/t\nVolume=v:/v:ro\nTmpfs=/u:ro",
			mounts: []Mount{bind("/a", "/a", false), {Type: MountVolume, Name: "v", Destination: "/v", ReadOnly: true}, tmpfs("/t"), {Type: MountTmpfs, Source: "tmpfs", Destination: "/u", ReadOnly: true, Options: []string{"nosuid", "nodev", "ro"}}}},
		{name: "shm", keys: "ShmSize=16m", shm: 16 << 20},
		{name: "shm bytes", keys: "ShmSize=65536", shm: 65536},
		{name: "uid", keys: "User=1000", user: "1000", uid: 1000, gid: 1000},
		{name: "uid:gid", keys: "User=1000:100", user: "1000:100", uid: 1000, gid: 100},
		{name: "uid, Group=", keys: "User=1000\nGroup=100", user: "1000:100", uid: 1000, gid: 100},
		{name: "name", keys: "User=app", user: "app"},
		{name: "name, Group=", keys: "User=app\nGroup=staff", user: "app:staff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configFromFile(parse(t, fileHead+tc.keys+"\n"), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(cfg.Mounts, tc.mounts, func(a, b Mount) bool {
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
		{"Volume=", 4, "Volume=: use HOSTDIR"},
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
		{"Volume=/a:/data\nTmpfs=/data", 5, "Tmpfs=/data: /data is mounted already (line 4)"},
		{"Volume=v:/data\nVolume=/b:/data:ro", 5, "Volume=/b:/data:ro: /data is mounted already (line 4)"},
		{"Tmpfs=scratch", 4, `Tmpfs=scratch: container path "scratch" must be absolute`},
		{"Tmpfs=/", 4, "cannot mount over the root"},
		{"Tmpfs=/x:size=1m,,mode=1", 4, `Tmpfs=/x:size=1m,,mode=1: bad option ""`},
		{"ShmSize=lots", 4, "ShmSize=lots: want a size"},
		{"ShmSize=0", 4, "ShmSize=0: want a size above 0"},
		{"ShmSize=-1m", 4, "ShmSize=-1m"},
		{"ShmSize=1t", 4, "ShmSize=1t"},
		{"ShmSize=", 4, "ShmSize="},
		{"User=", 4, "User= is empty"},
		{"User=a b", 4, "User=a b: use NAME, UID, NAME:GROUP or UID:GID"},
		{"User=:100", 4, "User=:100: use NAME"},
		{"User=a:b:c", 4, "User=a:b:c: use NAME"},
		{"User=/bin/sh", 4, "User=/bin/sh: use NAME"},
		{"Group=100", 4, "Group=100 needs User="},
		{"User=1000:100\nGroup=5", 5, "User=1000:100 names a group already"},
		{"User=1000\nGroup=a b", 5, "Group=a b: use a group NAME or GID"},
		{"User=1000\nGroup=", 5, "Group=: use a group NAME or GID"},
	} {
		_, err := configFromFile(parse(t, fileHead+tc.keys+"\n"), false, nil)
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
		if _, err := configFromFile(parse(t, head+tc.keys+"\n"), false, nil); err != nil {
			t.Errorf("%q without checkFS: %v", tc.keys, err)
		}
		_, err := configFromFile(parse(t, head+tc.keys+"\n"), true, nil)
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
	s, err := New(Options{Paths: Paths{StateDir: state, RuntimeDir: t.TempDir()}, DefinitionDirs: []string{defDir}})
	if err != nil {
		t.Fatal(err)
	}
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
	if len(cfg.Mounts) != 3 || cfg.Mounts[0].Source != hostDir || cfg.Mounts[1].Source != volData || cfg.Mounts[2].Type != MountTmpfs {
		t.Errorf("mounts %+v, want the volume at %s", cfg.Mounts, volData)
	}
	if cfg.UID != 1000 || cfg.GID != 1000 {
		t.Errorf("user app is %d:%d, want 1000:1000 from the rootfs", cfg.UID, cfg.GID)
	}
	if data, err := os.ReadFile(filepath.Join(volData, "seed")); err != nil || string(data) != "from the rootfs\n" {
		t.Errorf("the new volume was not filled from the rootfs: %q %v", data, err)
	}
	spec := buildSpec(cfg)
	if spec.UID != 1000 || spec.GID != 1000 || !slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool { return m.Destination == "/cache" && m.Source == volData && m.Type == "bind" }) {
		t.Errorf("spec user %d:%d mounts %+v", spec.UID, spec.GID, spec.Mounts)
	}

	recPath := filepath.Join(state, "containers", "web", configFile)
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
	if err := s.syncDefinition("web", true); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "gone") {
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
