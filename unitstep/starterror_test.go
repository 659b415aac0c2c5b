package unitstep

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/ociruntime"
)

func TestRuntimeExitCodeIsPodmans(t *testing.T) {
	for msg, want := range map[string]int{
		`runc create failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory`: ociruntime.ExitNotFound,
		`runc create failed: unable to start container process: exec: "": executable file not found in $PATH`:               ociruntime.ExitNotFound,
		`runc create failed: unable to start container process: exec: "/etc": permission denied`:                            ociruntime.ExitCannotInvoke,
		`workdir "/x" does not exist on container web`:                                                                      ociruntime.ExitCannotInvoke,
	} {
		if got := runtimeExitCode(msg); got != want {
			t.Errorf("%q: %d, want %d", msg, got, want)
		}
	}
}

func TestRuncErrorIsTheLastErrorLogged(t *testing.T) {
	log := filepath.Join(t.TempDir(), "runc.log")
	lines := `{"level":"warning","msg":"something","time":"x"}
{"level":"error","msg":"first","time":"x"}
not json
{"level":"error","msg":"runc create failed: it broke","time":"x"}
{"level":"info","msg":"after","time":"x"}
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ociruntime.LogError(log); got != "runc create failed: it broke" {
		t.Errorf("runcError = %q", got)
	}
	if got := ociruntime.LogError(filepath.Join(t.TempDir(), "none")); got != "" {
		t.Errorf("no log: %q", got)
	}
}

// writeSpec writes a bundle whose config.json has what checkWorkDir reads.
func writeSpec(t *testing.T, root, cwd string, mustExist bool, mounts ...string) string {
	t.Helper()
	bundle := t.TempDir()
	spec := map[string]any{"root": map[string]any{"path": root}, "process": map[string]any{"cwd": cwd}}
	var ms []map[string]string
	for _, m := range mounts {
		ms = append(ms, map[string]string{"destination": m})
	}
	spec["mounts"] = ms
	if mustExist {
		spec["annotations"] = map[string]string{AnnotationWorkDirMustExist: "true"}
	}
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// As podman: a working directory the user gave must be in the image,
// unless a mount is at or below it; symlinks resolve inside the root.
func TestCheckWorkDir(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"srv/app", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "file"), nil, 0o644)
	// An absolute link that resolves inside the root, not the host's.
	os.Symlink("/srv", filepath.Join(root, "link"))
	os.Symlink("/etc", filepath.Join(root, "hostetc"))
	cases := []struct {
		cwd       string
		mustExist bool
		mounts    []string
		want      string // "" passes
	}{
		{"/srv/app", true, nil, ""},
		{"/link/app", true, nil, ""},
		{"/nope", true, nil, `workdir "/nope" does not exist on container web`},
		{"/hostetc/passwd", true, nil, `workdir "/hostetc/passwd" does not exist on container web`},
		{"/file", true, nil, `workdir "/file" exists on container web, but is not a directory`},
		{"/nope", false, nil, ""},
		{"/nope", true, []string{"/nope"}, ""},
		{"/nope", true, []string{"/nope/sub/dir"}, ""},
		{"/nope/sub", true, []string{"/nope"}, `workdir "/nope/sub" does not exist`},
		{"/nopex", true, []string{"/nope"}, `workdir "/nopex" does not exist`},
	}
	for _, c := range cases {
		err := checkWorkDir("web", writeSpec(t, root, c.cwd, c.mustExist, c.mounts...))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v", c.cwd, c.mounts, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Msg, c.want) || err.ExitCode != ociruntime.ExitCannotInvoke):
			t.Errorf("%s %v: %v, want 126 %q", c.cwd, c.mounts, err, c.want)
		}
	}
}

// The stop step puts what the start step recorded in the exit record
// when no process ran, and drops it either way.
func TestStopPostRecordsWhyTheStartFailed(t *testing.T) {
	dirs := Dirs{StateDir: t.TempDir(), RuntimeDir: t.TempDir()}
	for _, d := range []string{dirs.Record("web"), dirs.Bundle("web")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	steps := Steps{Dirs: dirs}
	unit := "ctr-unitstep-test.service"
	for _, c := range []struct {
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{map[string]string{"SERVICE_RESULT": "exit-code"}, ociruntime.ExitNotFound, "exec failed"},
		{map[string]string{"SERVICE_RESULT": "exit-code", "EXIT_CODE": "exited", "EXIT_STATUS": "3"}, 3, ""},
	} {
		_ = steps.recordStartError(&RuntimeError{Container: "web", ExitCode: ociruntime.ExitNotFound, Msg: "exec failed"})
		_ = steps.StopPost(context.Background(), "web", unit, func(k string) string { return c.env[k] })
		ex, err := ReadExit(dirs.ExitFile("web"))
		if err != nil || ex == nil || ex.ExitCode != c.wantCode || ex.Error != c.wantErr {
			t.Errorf("env %v: exit %+v, %v; want %d %q", c.env, ex, err, c.wantCode, c.wantErr)
		}
		if _, err := os.Stat(dirs.StartErrorFile("web")); !os.IsNotExist(err) {
			t.Errorf("env %v: the start error is left: %v", c.env, err)
		}
	}
}
