package container

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/network"
)

// flags applies settings as the command line gives them (flag, value,
// flag, value...) onto o, through the table.
func flags(t *testing.T, o Options, args ...string) (Options, error) {
	t.Helper()
	for i := 0; i+1 < len(args); i += 2 {
		s, ok := Lookup(strings.TrimPrefix(args[i], "--"))
		if !ok || s.Flag == "" {
			t.Fatalf("no flag %s", args[i])
		}
		if err := s.Set(&o, args[i+1]); err != nil {
			return o, err
		}
	}
	return o, nil
}

func base() Options {
	return Options{Name: "web", Rootfs: "/r", Command: []string{"sh"}}
}

func TestBuildRejectsBadInput(t *testing.T) {
	bad := map[string]func(*Options){
		"bad name":    func(o *Options) { o.Name = "-x" },
		"no rootfs":   func(o *Options) { o.Rootfs = "" },
		"both":        func(o *Options) { o.Image = "app:1" },
		"bad env":     func(o *Options) { o.Env = []string{"=x"} },
		"relative wd": func(o *Options) { o.WorkDir = "tmp" },
		"bad network": func(o *Options) { o.Net.Networks = []string{"private"} },
		"self":        func(o *Options) { o.Requires = []string{"web"} },
		"two mounts":  func(o *Options) { o.Volumes = []Mount{{Destination: "/d"}}; o.Tmpfs = []Mount{{Destination: "/d"}} },
		"group alone": func(o *Options) { o.Group = "staff" },
	}
	for what, mutate := range bad {
		o := base()
		mutate(&o)
		if _, err := Build(o, time.Now()); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", what, err)
		}
	}
	cfg, err := Build(base(), time.Now())
	if err != nil || cfg.Unit != "ctr-web.service" || cfg.StopTimeout != 10 || cfg.StopSignal != DefaultStopSignal || cfg.Network != NetworkHost || cfg.Restart.Name != PolicyNo {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

// Each problem names its setting in the reader's terms.
func TestProblemsNameTheFlag(t *testing.T) {
	o := base()
	o.Health.Interval = new(time.Duration)
	_, err := Build(o, time.Now())
	if err == nil || err.Error() != "--health-interval needs --health-cmd, the healthcheck's command" {
		t.Errorf("interval without a command: %v", err)
	}
	o = base()
	o.Image = "app:1"
	if _, err := Build(o, time.Now()); err == nil || !strings.Contains(err.Error(), "--rootfs /r: give an IMAGE or --rootfs, not both") {
		t.Errorf("image and rootfs: %v", err)
	}
}

// A container without a command is made, with "" for one, which fails as
// it starts with 127, as in podman.
func TestNoCommandRunsTheEmptyOne(t *testing.T) {
	o := base()
	o.Command = nil
	if cfg, err := Build(o, time.Now()); err != nil || !slices.Equal(cfg.Command, []string{""}) {
		t.Errorf("no command: %q, %v", cfg.Command, err)
	}
	o.Rootfs, o.Image = "", "app:1"
	if cfg, err := Build(o, time.Now()); err != nil || len(cfg.Command) != 0 {
		t.Errorf("no command of an image not read yet: %q, %v; want it left for later", cfg.Command, err)
	}
}

func TestBuildComposesUserAndGroup(t *testing.T) {
	o := base()
	o.User, o.Group = "1000", "50"
	cfg, err := Build(o, time.Now())
	if err != nil || cfg.User != "1000:50" || cfg.UID != 1000 || cfg.GID != 50 {
		t.Errorf("user %q %d:%d, %v", cfg.User, cfg.UID, cfg.GID, err)
	}
	o.User = "app:staff"
	if _, err := Build(o, time.Now()); err == nil {
		t.Error("User=app:staff with Group= accepted")
	}
}

func TestEntrypointWithRootfs(t *testing.T) {
	for _, c := range []struct {
		name       string
		entrypoint []string
		args       []string
		want       []string // nil: refused
	}{
		{"prepended", []string{"/bin/sh", "-c"}, []string{"echo hi"}, []string{"/bin/sh", "-c", "echo hi"}},
		{"alone", []string{"/bin/true"}, nil, []string{"/bin/true"}},
		{"none", nil, []string{"echo", "x"}, []string{"echo", "x"}},
		{"cleared", []string{}, []string{"echo", "x"}, []string{"echo", "x"}},
		// No command runs "", which fails as it starts, as in podman.
		{"neither", nil, nil, []string{""}},
		{"cleared and no command", []string{}, nil, []string{""}},
	} {
		o := Options{Name: "ep", Rootfs: "/srv/root", Entrypoint: c.entrypoint, Command: c.args}
		cfg, err := Build(o, time.Time{})
		if c.want == nil {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no command") {
				t.Errorf("%s: %v, want the container refused for having no command", c.name, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(cfg.Command, c.want) {
			t.Errorf("%s: command %q, %v; want %q", c.name, cfg.Command, err, c.want)
		}
	}
	// An image container's entrypoint was composed by ApplyImage: Build
	// does not add it again.
	cfg, err := Build(Options{Name: "img", Image: "app:1", ImageID: "abc", Entrypoint: []string{"/e"}, Command: []string{"/e", "x"}}, time.Time{})
	if err != nil || !reflect.DeepEqual(cfg.Command, []string{"/e", "x"}) {
		t.Errorf("image container: command %q, %v", cfg.Command, err)
	}
	// An image not read yet (the generator) leaves the command for later.
	if cfg, err := Build(Options{Name: "img", Image: "app:1"}, time.Time{}); err != nil || cfg.Command != nil {
		t.Errorf("unresolved image: %+v, %v", cfg, err)
	}
}

func TestApplyImage(t *testing.T) {
	img := Image{ID: "abc", Name: "app:1", Entrypoint: []string{"/entry", "-v"}, Cmd: []string{"serve", "--port=80"}}
	cmdOnly := Image{Cmd: []string{"sh", "-c", "echo hi"}}
	for _, c := range []struct {
		name       string
		img        Image
		entrypoint []string
		args       []string
		want       []string
	}{
		{"image defaults", img, nil, nil, []string{"/entry", "-v", "serve", "--port=80"}},
		{"args replace the Cmd", img, nil, []string{"x"}, []string{"/entry", "-v", "x"}},
		{"entrypoint drops the Cmd", img, []string{"/bin/other"}, nil, []string{"/bin/other"}},
		{"args follow the entrypoint", img, []string{"/bin/other"}, []string{"a", "b"}, []string{"/bin/other", "a", "b"}},
		{"exec form", img, []string{"sh", "-c", "echo $0"}, []string{"arg"}, []string{"sh", "-c", "echo $0", "arg"}},
		{"cleared: the Cmd runs", img, []string{}, nil, []string{"serve", "--port=80"}},
		{"cleared: the args run", img, []string{}, []string{"echo", "x"}, []string{"echo", "x"}},
		{"entrypoint on a Cmd-only image", cmdOnly, []string{"/bin/echo"}, nil, []string{"/bin/echo"}},
		{"cleared on a Cmd-only image", cmdOnly, []string{}, nil, []string{"sh", "-c", "echo hi"}},
		{"cleared, nothing left", Image{Entrypoint: []string{"/entry"}}, []string{}, nil, nil},
	} {
		o, err := ApplyImage(Options{Entrypoint: c.entrypoint, Command: c.args}, c.img)
		if err != nil || len(o.Command) != len(c.want) || (len(c.want) > 0 && !reflect.DeepEqual(o.Command, c.want)) {
			t.Errorf("%s: command %q, %v; want %q", c.name, o.Command, err, c.want)
		}
	}
	// The image's config is not changed through the result.
	o, _ := ApplyImage(Options{Command: []string{"x"}}, img)
	o.Command[0] = "changed"
	if img.Entrypoint[0] != "/entry" {
		t.Errorf("the image's entrypoint was changed: %q", img.Entrypoint)
	}
	// What the user leaves unset comes from the image; what the user
	// gives wins.
	full := Image{Cmd: []string{"true"}, Env: []string{"PATH=/bin", "A=image"}, WorkingDir: "/app", User: "app", StopSignal: "SIGINT"}
	o, err := ApplyImage(Options{Env: []string{"A=user", "B=user"}}, full)
	if err != nil || !reflect.DeepEqual(o.Env, []string{"PATH=/bin", "A=user", "B=user"}) || o.WorkDir != "/app" || o.User != "app" || o.StopSignal != 2 {
		t.Errorf("defaults from the image: %+v, %v", o, err)
	}
	if _, err := ApplyImage(Options{}, Image{StopSignal: "SIGNOPE"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an image's bad STOPSIGNAL: %v", err)
	}
}

// -P adds the image's EXPOSE ports, on free host ports, to those -p
// gives, and without --network asks for the default network, as -p does.
func TestPublishAll(t *testing.T) {
	img := Image{Cmd: []string{"httpd"}, ExposedPorts: []string{"443/tcp", "80/tcp"}}
	o, err := flags(t, Options{}, "publish-all", "true", "publish", "8080:80")
	if err != nil {
		t.Fatal(err)
	}
	if o, err = ApplyImage(o, img); err != nil {
		t.Fatal(err)
	}
	o.Name, o.Image, o.ImageID = "web", "app:1", "abc"
	cfg, err := Build(o, time.Now())
	want := []network.PortMapping{{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, {ContainerPort: 443, Range: 1, Protocol: "tcp"}}
	if err != nil || cfg.Network != NetworkBridge || !reflect.DeepEqual(cfg.Ports, want) {
		t.Errorf("-P -p 8080:80: network %q ports %+v, %v; want bridge %+v", cfg.Network, cfg.Ports, err, want)
	}
	o, _ = flags(t, Options{}, "publish-all", "true", "network", "host")
	o, _ = ApplyImage(o, img)
	o.Name, o.Image, o.ImageID = "web", "app:1", "abc"
	if _, err := Build(o, time.Now()); err == nil || !strings.Contains(err.Error(), "publish") {
		t.Errorf("-P with --network host: %v; want a refusal", err)
	}
	o, _ = flags(t, Options{}, "publish-all", "true")
	if _, err := ApplyImage(o, Image{Name: "bad", ExposedPorts: []string{"80/icmp"}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad") {
		t.Errorf("an image's bad EXPOSE: %v", err)
	}
}

// An image's HEALTHCHECK fills what the user left unset, as in podman;
// the user's "none" turns it off.
func TestImageHealthcheck(t *testing.T) {
	img := Image{Cmd: []string{"true"}, Healthcheck: &ImageHealth{Test: []string{"CMD-SHELL", "check"}, Interval: 5 * time.Second, Retries: 7}}
	o, err := ApplyImage(Options{}, img)
	if err != nil {
		t.Fatal(err)
	}
	o.Name, o.Image, o.ImageID = "web", "app:1", "abc"
	cfg, err := Build(o, time.Now())
	if err != nil || cfg.Health == nil || cfg.Health.Interval != 5*time.Second || cfg.Health.Retries != 7 || cfg.Health.Timeout != healthcheck.DefaultTimeout {
		t.Fatalf("health %+v, %v", cfg.Health, err)
	}
	o, _ = flags(t, Options{}, "--health-cmd", "none")
	if o, _ = ApplyImage(o, img); o.Health.Cmd != nil {
		t.Errorf("--health-cmd none kept the image's check: %q", o.Health.Cmd)
	}
	o, _ = flags(t, Options{}, "--health-interval", "1s")
	if o, _ = ApplyImage(o, img); *o.Health.Interval != time.Second {
		t.Errorf("the image's interval replaced the user's: %v", *o.Health.Interval)
	}
}

func TestHealthDefaultsAndDurations(t *testing.T) {
	health := func(args ...string) (*healthcheck.Config, error) {
		o, err := flags(t, base(), args...)
		if err != nil {
			return nil, err
		}
		cfg, err := Build(o, time.Now())
		if err != nil {
			return nil, err
		}
		return cfg.Health, nil
	}
	c, err := health("--health-cmd", "true")
	if err != nil || c.Interval != 30*time.Second || c.Timeout != 30*time.Second || c.Retries != 3 || c.StartPeriod != 0 || c.OnFailure != healthcheck.ActionNone || c.Startup != nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = health("--health-cmd", "true", "--health-interval", "1m30s", "--health-timeout", "500ms", "--health-retries", "5",
		"--health-start-period", "2s", "--health-on-failure", "restart", "--sdnotify", "healthy")
	if err != nil || c.Interval != 90*time.Second || c.Timeout != 500*time.Millisecond || c.Retries != 5 || c.StartPeriod != 2*time.Second || c.OnFailure != healthcheck.ActionRestart || !c.ReadyWhenHealthy {
		t.Errorf("parsed: %+v, %v", c, err)
	}
	if c, _ := health("--health-cmd", "true", "--health-interval", "disable"); c.Scheduled() {
		t.Error("--health-interval disable still schedules checks")
	}
	if c, err := health(); c != nil || err != nil {
		t.Errorf("no options gave a healthcheck: %+v, %v", c, err)
	}
	c, err = health("--health-cmd", "true", "--health-startup-cmd", "true", "--health-startup-interval", "1s", "--health-startup-retries", "2")
	if err != nil || c.Startup == nil || c.Startup.Interval != time.Second || c.Startup.Retries != 2 || c.Startup.Successes != 1 {
		t.Errorf("startup: %+v, %v", c, err)
	}
	for name, args := range map[string][]string{
		"interval unit":          {"--health-cmd", "true", "--health-interval", "10"},
		"negative interval":      {"--health-cmd", "true", "--health-interval", "-1s"},
		"zero timeout":           {"--health-cmd", "true", "--health-timeout", "0s"},
		"nanosecond timeout":     {"--health-cmd", "true", "--health-timeout", "10ns"},
		"negative retries":       {"--health-cmd", "true", "--health-retries", "-1"},
		"bad action":             {"--health-cmd", "true", "--health-on-failure", "explode"},
		"no cmd":                 {"--health-interval", "1s"},
		"retries without cmd":    {"--health-retries", "2"},
		"conflict":               {"--health-cmd", "true", "--no-healthcheck", "true"},
		"sdnotify value":         {"--health-cmd", "true", "--sdnotify", "container"},
		"sdnotify without cmd":   {"--sdnotify", "healthy"},
		"startup opts no cmd":    {"--health-cmd", "true", "--health-startup-interval", "1s"},
		"startup cmd, no cmd":    {"--health-startup-cmd", "true"},
		"startup bad interval":   {"--health-cmd", "true", "--health-startup-cmd", "true", "--health-startup-interval", "x"},
		"healthy, not scheduled": {"--health-cmd", "true", "--health-interval", "disable", "--sdnotify", "healthy"},
	} {
		if c, err := health(args...); err == nil {
			t.Errorf("%s: accepted: %+v", name, c)
		}
	}
}
