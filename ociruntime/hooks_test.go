package ociruntime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestReadHooksMasksByNameAndReportsBadFiles(t *testing.T) {
	usr, etc := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) { os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644) }
	hook := func(path string) string {
		return `{"version":"1.0.0","hook":{"path":"` + path + `"},"when":{"always":true},"stages":["prestart"]}`
	}
	write(usr, "10-a.json", hook("/usr/a"))
	write(etc, "10-a.json", hook("/etc/a"))
	write(usr, "20-b.json", hook("/usr/b"))
	write(etc, "30-bad.json", `{"version":"1.0.0",`)
	write(etc, "40-stage.json", `{"version":"1.0.0","hook":{"path":"/x"},"when":{"always":true},"stages":["sometime"]}`)
	write(etc, "50-rel.json", `{"version":"1.0.0","hook":{"path":"x"},"when":{"always":true},"stages":["poststop"]}`)
	write(etc, "notes.txt", "not a hook")
	hooks, probs := ReadHooks([]string{usr, etc, filepath.Join(etc, "missing")})
	var paths []string
	for _, h := range hooks {
		paths = append(paths, h.Hook.Path)
	}
	if strings.Join(paths, " ") != "/etc/a /usr/b" {
		t.Errorf("hooks %v, want /etc's 10-a masking /usr/share's, then 20-b", paths)
	}
	if len(probs) != 3 {
		t.Fatalf("problems %v, want the three bad files", probs)
	}
	for i, want := range []string{"30-bad.json", `unknown stage "sometime"`, "must be absolute"} {
		if !strings.Contains(probs[i].Error(), want) {
			t.Errorf("problem %q lacks %q", probs[i], want)
		}
	}
}

func TestHookConditionsMustAllHold(t *testing.T) {
	yes, no := true, false
	spec := &specs.Spec{
		Process:     &specs.Process{Args: []string{"/usr/bin/httpd", "-f"}},
		Annotations: map[string]string{"com.example.gpu": "on"},
		Mounts:      []specs.Mount{{Destination: "/data", Type: "bind", Options: []string{"rbind"}}},
	}
	for _, tc := range []struct {
		when HookWhen
		want bool
	}{
		{HookWhen{Always: &yes}, true},
		{HookWhen{Always: &no}, false},
		{HookWhen{Annotations: map[string]string{`^com\.example\.gpu$`: "^on$"}}, true},
		{HookWhen{Annotations: map[string]string{`^com\.example\.gpu$`: "^off$"}}, false},
		{HookWhen{Commands: []string{"httpd$", "nginx$"}}, true},
		{HookWhen{Commands: []string{"nginx$"}}, false},
		{HookWhen{HasBindMounts: &yes}, true},
		{HookWhen{HasBindMounts: &no}, false},
		{HookWhen{Commands: []string{"httpd$"}, HasBindMounts: &no}, false},
	} {
		if got := (HookFile{When: tc.when}).Matches(spec); got != tc.want {
			t.Errorf("%+v: matches %v, want %v", tc.when, got, tc.want)
		}
	}
}

func TestSelectKeepsPoststartAndPoststopForTheSteps(t *testing.T) {
	yes := true
	hooks := []HookFile{
		{Hook: specs.Hook{Path: "/a"}, When: HookWhen{Always: &yes}, Stages: []string{StagePrestart, StagePoststop}},
		{Hook: specs.Hook{Path: "/b"}, When: HookWhen{Always: &yes}, Stages: []string{StagePoststart, StageCreateContainer}},
	}
	spec := &specs.Spec{Process: &specs.Process{Args: []string{"sh"}}}
	sel := Select(hooks, spec)
	sel.ApplyHooks(spec)
	if spec.Hooks == nil || len(spec.Hooks.Prestart) != 1 || len(spec.Hooks.CreateContainer) != 1 || len(spec.Hooks.Poststart) != 0 || len(spec.Hooks.Poststop) != 0 {
		t.Errorf("spec hooks %+v: want prestart and createContainer only", spec.Hooks)
	}
	bundle := t.TempDir()
	if err := WriteStageHooks(bundle, sel); err != nil {
		t.Fatal(err)
	}
	if !HasStageHooks(bundle, StagePoststart) || !HasStageHooks(bundle, StagePoststop) {
		t.Error("poststart and poststop hooks not kept for the steps")
	}
}
