package container

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// --env NAME takes the caller's variable (skipped when unset), PREFIX*
// every one so named, as podman's.
func TestEnvNamesComeFromTheCallersEnvironment(t *testing.T) {
	environ := []string{"FOO=bar", "PRE_A=1", "PRE_B=2", "EMPTY="}
	o := Options{Environ: func() []string { return environ }}
	env, _ := Lookup("env")
	for _, v := range []string{"FOO", "UNSET", "PRE_*", "EMPTY", "X=1"} {
		if err := env.Set(&o, v); err != nil {
			t.Fatalf("--env %s: %v", v, err)
		}
	}
	if want := []string{"FOO=bar", "PRE_A=1", "PRE_B=2", "EMPTY=", "X=1"}; !slices.Equal(o.Env, want) {
		t.Errorf("env %q, want %q", o.Env, want)
	}
	for _, bad := range []string{"", "=x", "*", "A B"} {
		if err := env.Set(&o, bad); err == nil {
			t.Errorf("--env %q accepted", bad)
		}
	}
	// Without an environment to read (a definition file), names are kept
	// for the unit to resolve as it starts.
	o = Options{Name: "web", Rootfs: "/r", Command: []string{"sh"}}
	for _, v := range []string{"FOO", "X=1"} {
		if err := env.Set(&o, v); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Build(o, time.Now())
	if err != nil || !slices.Equal(cfg.Env, []string{"FOO", "X=1"}) {
		t.Fatalf("record env %q, %v", cfg.Env, err)
	}
	// The spec takes them from the environment of who writes it: the
	// unit's prepare step.
	if got := BuildSpec(cfg, environ).Env; !slices.Equal(got, []string{"FOO=bar", "X=1"}) {
		t.Errorf("spec env %q, want FOO from the environment", got)
	}
	if got := BuildSpec(cfg, nil).Env; !slices.Equal(got, []string{"X=1"}) {
		t.Errorf("spec env %q, want the name left out where the environment lacks it", got)
	}
}

func TestLabelsFromFlagsAndFiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(file, []byte("# comment\n\nfrom=file\nover=file\n  spaced=yes\nbare\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{Name: "web", Rootfs: "/r", Command: []string{"sh"}, BaseDir: filepath.Dir(file)}
	label, _ := Lookup("label")
	labelFile, _ := Lookup("label-file")
	for _, set := range []struct {
		s Setting
		v string
	}{{label, "over=cli"}, {label, "a=b=c"}, {label, "empty"}, {labelFile, "labels"}} {
		if err := set.s.Set(&o, set.v); err != nil {
			t.Fatalf("%s %s: %v", set.s.Flag, set.v, err)
		}
	}
	cfg, err := Build(o, time.Now())
	want := map[string]string{"from": "file", "over": "cli", "spaced": "yes", "bare": "", "a": "b=c", "empty": ""}
	if err != nil || !maps.Equal(cfg.Labels, want) {
		t.Errorf("labels %v, %v; want %v (--label over the file)", cfg.Labels, err, want)
	}
	if err := label.Set(&o, "=x"); err == nil {
		t.Error("--label =x accepted")
	}
	if err := os.WriteFile(file, []byte("ok=1\n=bad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := labelFile.Set(&o, file); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad label file: %v, want its line", err)
	}
}

// --rm cannot go with what restarts the container.
func TestAutoRemoveRefusesRestarts(t *testing.T) {
	for what, mutate := range map[string]func(*Options){
		"restart always": func(o *Options) { o.Restart = RestartPolicy{Name: PolicyAlways} },
		"health restart": func(o *Options) {
			o.Health.Cmd, o.Health.OnFailure = []string{"CMD", "true"}, healthcheck.ActionRestart
		},
	} {
		o := base()
		o.AutoRemove = true
		mutate(&o)
		if _, err := Build(o, time.Now()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--rm") {
			t.Errorf("%s: %v, want --rm refused", what, err)
		}
	}
	o := base()
	o.AutoRemove, o.Restart = true, RestartPolicy{Name: PolicyNo}
	cfg, err := Build(o, time.Now())
	if err != nil || !cfg.AutoRemove {
		t.Fatalf("--rm --restart no: %v", err)
	}
	// The unit removes the container after recording its exit, and is
	// collected even when it failed.
	s := BuildService(cfg, leanSteps, nil)
	if len(s.ExecStopPost) != 2 || s.CollectMode != units.CollectInactiveOrFailed {
		t.Fatalf("stop steps %q, collect %q", s.ExecStopPost, s.CollectMode)
	}
	call, err := unitstep.Parse(s.ExecStopPost[1][1:], unitstep.Globals{})
	if err != nil || call.Step != unitstep.Remove || call.Container != "web" || call.Unit != cfg.Unit {
		t.Errorf("last stop step %q: %+v %v", s.ExecStopPost[1], call, err)
	}
}

// A working directory the user gave must exist as the container starts
// (the spec says so to the start step); an image's is made.
func TestWorkDirMustExistOnlyWhenGiven(t *testing.T) {
	o := base()
	o.WorkDir = "/srv"
	cfg, _ := Build(o, time.Now())
	if !cfg.WorkDirMustExist || BuildSpec(cfg, nil).Annotations[unitstep.AnnotationWorkDirMustExist] != "true" {
		t.Errorf("-w /srv: must exist %v, annotations %v", cfg.WorkDirMustExist, BuildSpec(cfg, nil).Annotations)
	}
	img, err := ApplyImage(Options{Name: "web", Image: "app"}, Image{ID: "sha256:1", Cmd: []string{"sh"}, WorkingDir: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := Build(img, time.Now()); cfg.WorkDir != "/app" || cfg.WorkDirMustExist || BuildSpec(cfg, nil).Annotations != nil {
		t.Errorf("image workdir: %q must exist %v", cfg.WorkDir, cfg.WorkDirMustExist)
	}
}

func TestIDs(t *testing.T) {
	a, b := NewID(), NewID()
	if len(a) != 64 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("IDs %q %q", a, b)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	if d := DerivedID("web", created); d != DerivedID("web", created.In(time.FixedZone("x", 3600))) || d == DerivedID("db", created) || len(d) != 64 {
		t.Errorf("derived ID %q not stable or not distinct", d)
	}
	if ShortID(a) != a[:12] {
		t.Errorf("short ID %q", ShortID(a))
	}
}
