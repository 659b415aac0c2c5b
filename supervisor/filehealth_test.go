package supervisor

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/imagestore"
)

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
	cfg, err := configFromFile(f, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := healthcheck.Parse(healthcheck.Options{
		Cmd: "test -e /tmp/ok", Interval: "1s", Timeout: "2s", Retries: 5, StartPeriod: "3s", OnFailure: "restart",
		StartupCmd: `["CMD", "true"]`, StartupInterval: "500ms", StartupRetries: 2, StartupSuccess: 3, SdNotify: "healthy",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Health, want) {
		t.Errorf("health %+v\nwant   %+v", cfg.Health, want)
	}
	if cfg, _ := configFromFile(parse(t, "[Container]\nRootfs=/x\nExec=sleep 1\n"), false, nil); cfg.Health != nil {
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
	_, err := configFromFile(f, false, nil)
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
	if _, err := configFromFile(f, false, nil); err == nil || !strings.Contains(err.Error(), "web.container:4: HealthInterval= needs HealthCmd=") {
		t.Errorf("interval without a command: %v", err)
	}
}

func TestImageDefinition(t *testing.T) {
	text := "[Container]\nImage=app:1\nEnvironment=GREETING=file\nStopTimeout=5\n"
	// The generator's view: no image store, so no command yet, but the
	// unit mounts the layer.
	cfg, err := configFromFile(parse(t, text), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Image != "app:1" || cfg.Command != nil || cfg.StopSignal != Signal(DefaultStopSignal) {
		t.Errorf("without the store: image %q command %q signal %v", cfg.Image, cfg.Command, cfg.StopSignal)
	}
	svc := buildService(cfg, newSteps("/bin/ctr-unit", "", Paths{StateDir: "/s", RuntimeDir: "/r"}, ""))
	if !slices.ContainsFunc(svc.ExecStartPre, func(c []string) bool { return slices.Contains(c, "mount-rootfs") }) {
		t.Errorf("the unit of an image definition does not mount its layer: %q", svc.ExecStartPre)
	}

	// With the store, the image's config fills what the file leaves out,
	// as create IMAGE does; the file's stop signal stays.
	lookup := func(o CreateOptions) (CreateOptions, error) {
		o = applyImageConfig(o, imagestore.Config{ImageConfig: v1.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}, Env: []string{"PATH=/bin", "GREETING=hi"}, WorkingDir: "/app", StopSignal: "SIGINT"}})
		o.ImageID = "abc"
		return o, nil
	}
	cfg, err = configFromFile(parse(t, text), false, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Command, []string{"sh", "-c", "echo hi"}) || cfg.ImageID != "abc" || cfg.WorkDir != "/app" ||
		!reflect.DeepEqual(cfg.Env, []string{"PATH=/bin", "GREETING=file"}) || cfg.StopSignal != Signal(DefaultStopSignal) {
		t.Errorf("with the image: %+v", cfg)
	}

	missing := func(o CreateOptions) (CreateOptions, error) {
		return o, fmt.Errorf("container web: %w: app:1", imagestore.ErrNoSuchImage)
	}
	if _, err := configFromFile(parse(t, text), false, missing); err == nil || !strings.Contains(err.Error(), "web.container:2: Image=app:1: no such image") {
		t.Errorf("missing image: %v", err)
	}
	if _, err := configFromFile(parse(t, "[Container]\nImage=app:1\nRootfs=/x\n"), false, nil); err == nil || !strings.Contains(err.Error(), ":3: give Rootfs= or Image=, not both") {
		t.Errorf("image and rootfs: %v", err)
	}
}
