package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/supervisor"
)

// --entrypoint is parsed as it is given and replayed as given, so a
// generate systemd --new unit creates the same container.
func TestEntrypointFlagIsParsedAndReplayed(t *testing.T) {
	for _, c := range []struct {
		value string
		want  []string
	}{
		{"/bin/my app", []string{"/bin/my app"}},
		{`["sh","-c","echo $0 \"x\""]`, []string{"sh", "-c", `echo $0 "x"`}},
		{"", []string{}},
	} {
		o := parseCreate(t, "create", []string{"--name", "ep", "--entrypoint", c.value, "app:1", "arg"})
		if !reflect.DeepEqual(o.Entrypoint, c.want) || !slices.Equal(o.Command, []string{"arg"}) {
			t.Errorf("--entrypoint %q: entrypoint %#v command %q, want %#v [arg]", c.value, o.Entrypoint, o.Command, c.want)
		}
		if !slices.Contains(o.CreateCommand, "--entrypoint="+c.value) {
			t.Errorf("--entrypoint %q: the create line %q does not carry it", c.value, o.CreateCommand)
		}
		again := parseCreate(t, "create", o.CreateCommand)
		if !reflect.DeepEqual(again, o) {
			t.Errorf("--entrypoint %q: replayed options differ\n got  %+v\n want %+v", c.value, again, o)
		}
	}
	if o := parseCreate(t, "run", []string{"--name", "ep", "app:1"}); o.Entrypoint != nil {
		t.Errorf("no --entrypoint: %#v, want nil (the image's)", o.Entrypoint)
	}
}

func TestEntrypointFlagRefusesABadJSONArray(t *testing.T) {
	var o supervisor.CreateOptions
	var stopTimeout uint
	cmd := &cobra.Command{Use: "create"}
	createFlags(cmd, &o, &stopTimeout)
	err := cmd.ParseFlags([]string{"--name", "ep", "--entrypoint", `["sh", "-c"`, "app:1"})
	if err == nil || !strings.Contains(err.Error(), "not a JSON array") {
		t.Errorf("bad JSON array: %v", err)
	}
}
