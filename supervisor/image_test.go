package supervisor

import (
	"errors"
	"slices"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/ociruntime"
)

func TestParseVolume(t *testing.T) {
	good := map[string]Mount{
		"/srv/data:/data":     {Type: MountBind, Source: "/srv/data", Destination: "/data"},
		"/srv/data/:/data:ro": {Type: MountBind, Source: "/srv/data", Destination: "/data", ReadOnly: true},
		"cache:/var/cache":    {Type: MountVolume, Name: "cache", Destination: "/var/cache"},
		"cache:/var/cache:rw": {Type: MountVolume, Name: "cache", Destination: "/var/cache"},
	}
	for spec, want := range good {
		got, err := ParseVolume(spec)
		if err != nil || !equalMount(got, want) {
			t.Errorf("ParseVolume(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, spec := range []string{
		"/a", "/a:b", "/a:/b:rx", "/a:/b:ro:x", "cache:/../etc", "cache:/data/../../etc",
		"/srv/../etc:/x", "./rel:/x", "../up:/x", "bad/name:/x", "v:/", "v:relative",
	} {
		if m, err := ParseVolume(spec); err == nil {
			t.Errorf("ParseVolume(%q) = %+v, want an error", spec, m)
		}
	}
}

func equalMount(a, b Mount) bool {
	return a.Type == b.Type && a.Name == b.Name && a.Source == b.Source && a.Destination == b.Destination && a.ReadOnly == b.ReadOnly
}

func TestParseTmpfsAndSize(t *testing.T) {
	m, err := ParseTmpfs("/run:size=1m,mode=755")
	if err != nil || m.Destination != "/run" || !slices.Equal(m.Options, []string{"nosuid", "nodev", "size=1m", "mode=755"}) {
		t.Errorf("ParseTmpfs: %+v %v", m, err)
	}
	if _, err := ParseTmpfs("/a/../../b"); err == nil {
		t.Error("tmpfs with .. accepted")
	}
	for in, want := range map[string]int64{"65536": 65536, "64k": 64 << 10, "64m": 64 << 20, "1g": 1 << 30, "2MB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1t"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestImageConfigSuppliesDefaultsThatFlagsOverride(t *testing.T) {
	img := imagestore.Config{ImageConfig: v1.ImageConfig{
		Entrypoint: []string{"/entry"}, Cmd: []string{"serve", "--port=80"},
		Env: []string{"PATH=/bin", "MODE=image"}, WorkingDir: "/app", User: "app", StopSignal: "SIGQUIT",
	}}
	o := applyImageConfig(CreateOptions{}, img)
	if !slices.Equal(o.Command, []string{"/entry", "serve", "--port=80"}) || o.WorkDir != "/app" || o.User != "app" || o.StopSignal != "SIGQUIT" ||
		!slices.Equal(o.Env, []string{"PATH=/bin", "MODE=image"}) {
		t.Errorf("image defaults: %+v", o)
	}
	o = applyImageConfig(CreateOptions{Command: []string{"sh"}, Env: []string{"MODE=flag", "X=1"}, WorkDir: "/w", User: "0", StopSignal: "TERM"}, img)
	if !slices.Equal(o.Command, []string{"/entry", "sh"}) || o.WorkDir != "/w" || o.User != "0" || o.StopSignal != "TERM" ||
		!slices.Equal(o.Env, []string{"PATH=/bin", "MODE=flag", "X=1"}) {
		t.Errorf("flags over image: %+v", o)
	}
}

func TestNewConfigWithImageAndMounts(t *testing.T) {
	base := CreateOptions{Name: "c", Command: []string{"sh"}, Image: "busybox", ImageID: "abc"}
	o := base
	o.Volumes = []string{"v:/data", "/srv:/srv:ro"}
	o.Tmpfs = []string{"/scratch:size=1m"}
	o.ShmSize, o.User = "128m", "1000:100"
	cfg, err := newConfig(o, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rootfs != "" || cfg.ImageID != "abc" || len(cfg.Mounts) != 3 || cfg.ShmSize != 128<<20 || cfg.UID != 1000 || cfg.GID != 100 {
		t.Errorf("config %+v", cfg)
	}
	both := base
	both.Rootfs = "/tmp"
	if _, err := newConfig(both, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("image and rootfs: %v", err)
	}
	dup := base
	dup.Volumes, dup.Tmpfs = []string{"v:/data"}, []string{"/data"}
	if _, err := newConfig(dup, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("two mounts on one path: %v", err)
	}
	esc := base
	esc.Volumes = []string{"v:/x/../../etc"}
	if _, err := newConfig(esc, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("escaping volume: %v", err)
	}
	spec := ociruntime.Spec(buildSpec(cfg))
	var shm, data, scratch bool
	for _, m := range spec.Mounts {
		switch m.Destination {
		case "/dev/shm":
			shm = slices.Contains(m.Options, "size=134217728")
		case "/data":
			data = m.Type == "bind"
		case "/scratch":
			scratch = m.Type == "tmpfs" && slices.Contains(m.Options, "size=1m")
		}
	}
	if !shm || !data || !scratch || spec.Process.User.UID != 1000 {
		t.Errorf("spec mounts %+v user %+v", spec.Mounts, spec.Process.User)
	}
}

func TestImageHealthcheckIsADefault(t *testing.T) {
	img := &imagestore.HealthConfig{Test: []string{"CMD", "test", "-e", "/ok"}, Interval: 2 * time.Second, Retries: 5}
	o := imageHealthDefaults(healthcheck.Options{}, img)
	cfg, err := healthcheck.Parse(o)
	if err != nil || cfg == nil {
		t.Fatalf("image healthcheck: %v, %v", cfg, err)
	}
	if !slices.Equal(cfg.Argv(), []string{"test", "-e", "/ok"}) || cfg.Interval != 2*time.Second || cfg.Retries != 5 || cfg.Timeout != healthcheck.DefaultTimeout {
		t.Errorf("from the image: argv %v interval %v retries %d timeout %v", cfg.Argv(), cfg.Interval, cfg.Retries, cfg.Timeout)
	}

	shell := &imagestore.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost || exit 1"}}
	if cfg, _ := healthcheck.Parse(imageHealthDefaults(healthcheck.Options{}, shell)); cfg == nil || cfg.Argv()[0] != "/bin/sh" {
		t.Errorf("shell form: %+v", cfg)
	}

	// Flags override; --no-healthcheck and NONE turn it off.
	o = imageHealthDefaults(healthcheck.Options{Cmd: "true", Interval: "9s"}, img)
	if o.Cmd != "true" || o.Interval != "9s" || o.Retries != 5 {
		t.Errorf("flags over the image: %+v", o)
	}
	if o := imageHealthDefaults(healthcheck.Options{NoHealthcheck: true}, img); o.Cmd != "" {
		t.Errorf("--no-healthcheck kept the image's check: %+v", o)
	}
	if o := imageHealthDefaults(healthcheck.Options{}, &imagestore.HealthConfig{Test: []string{"NONE"}}); o.Cmd != "" {
		t.Errorf("NONE became a check: %+v", o)
	}
}
