package supervisor

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/imagestore"
)

func TestParseEntrypoint(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // nil: an error
	}{
		{"", []string{}},
		{"/bin/app", []string{"/bin/app"}},
		{"/bin/my app --flag", []string{"/bin/my app --flag"}}, // one path, not split
		{`["sh","-c","echo hi"]`, []string{"sh", "-c", "echo hi"}},
		{` ["/bin/app"] `, []string{"/bin/app"}},
		{`[]`, []string{}},
		{`["sh", "-c"`, nil},
		{`[sh]`, nil},
		{`["sh", 1]`, nil},
		{`[""]`, nil},
		{`["", "x"]`, nil},
	} {
		got, err := ParseEntrypoint(c.in)
		if c.want == nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseEntrypoint(%q) = %q, %v; want an ErrInvalid", c.in, got, err)
			}
			continue
		}
		// Cleared ([]string{}) and not given (nil) differ.
		if err != nil || got == nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseEntrypoint(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
}

func TestEntrypointWithImageConfig(t *testing.T) {
	img := imagestore.Config{ImageConfig: v1.ImageConfig{Entrypoint: []string{"/entry", "-v"}, Cmd: []string{"serve", "--port=80"}}}
	cmdOnly := imagestore.Config{ImageConfig: v1.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}}}
	for _, c := range []struct {
		name       string
		img        imagestore.Config
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
		{"cleared, nothing left", imagestore.Config{ImageConfig: v1.ImageConfig{Entrypoint: []string{"/entry"}}}, []string{}, nil, nil},
	} {
		o := applyImageConfig(CreateOptions{Entrypoint: c.entrypoint, Command: c.args}, c.img)
		if len(o.Command) != len(c.want) || (len(c.want) > 0 && !reflect.DeepEqual(o.Command, c.want)) {
			t.Errorf("%s: command %q, want %q", c.name, o.Command, c.want)
		}
	}
	// The image's config is not changed through the result.
	o := applyImageConfig(CreateOptions{Command: []string{"x"}}, img)
	o.Command[0] = "changed"
	if img.Entrypoint[0] != "/entry" {
		t.Errorf("the image's entrypoint was changed: %q", img.Entrypoint)
	}
}

func TestEntrypointWithRootfs(t *testing.T) {
	base := CreateOptions{Name: "ep", Rootfs: "/srv/root"}
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
		{"neither", nil, nil, nil},
		{"cleared and no command", []string{}, nil, nil},
	} {
		o := base
		o.Entrypoint, o.Command = c.entrypoint, c.args
		cfg, err := newConfig(o, time.Time{})
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
	// An image container's entrypoint was composed by imageDefaults:
	// newConfig does not add it again.
	cfg, err := newConfig(CreateOptions{Name: "img", Image: "app:1", Entrypoint: []string{"/e"}, Command: []string{"/e", "x"}}, time.Time{})
	if err != nil || !reflect.DeepEqual(cfg.Command, []string{"/e", "x"}) {
		t.Errorf("image container: command %q, %v", cfg.Command, err)
	}
}
