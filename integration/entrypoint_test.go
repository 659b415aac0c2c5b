//go:build integration

package integration

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// epConfig is an image whose ENTRYPOINT and CMD each say who they are:
// its own command line is "echo from-entrypoint /bin/echo from-cmd".
var epConfig = v1.ImageConfig{
	Entrypoint: []string{"/bin/echo", "from-entrypoint"},
	Cmd:        []string{"/bin/echo", "from-cmd"},
	Env:        []string{"PATH=/bin"},
}

// commandOf is what inspect says the container runs.
func (e *env) commandOf(name string) []string {
	e.t.Helper()
	var cs []struct {
		Path string
		Args []string
	}
	if err := json.Unmarshal([]byte(e.must("inspect", name)), &cs); err != nil || len(cs) != 1 {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	return append([]string{cs[0].Path}, cs[0].Args...)
}

func TestEntrypointReplacesTheImagesAndDropsItsCmd(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "ep:1", epConfig, nil))
	for _, c := range []struct {
		name string
		args []string // run's, from --entrypoint on
		want string   // the container's output
		cmd  []string // what it runs
	}{
		// The image's own entrypoint and Cmd, for reference.
		{"image", []string{"ep:1"}, "from-entrypoint /bin/echo from-cmd\n", []string{"/bin/echo", "from-entrypoint", "/bin/echo", "from-cmd"}},
		// --entrypoint replaces the image's and drops its Cmd...
		{"replaced", []string{"--entrypoint", "/bin/echo", "ep:1"}, "\n", []string{"/bin/echo"}},
		// ...and the arguments after the image follow it.
		{"args", []string{"--entrypoint", "/bin/echo", "ep:1", "a", "b c"}, "a b c\n", []string{"/bin/echo", "a", "b c"}},
		// The exec form, with and without arguments.
		{"exec", []string{"--entrypoint", `["sh","-c","echo \"exec:$0:$1\""]`, "ep:1", "a", "b"}, "exec:a:b\n", []string{"sh", "-c", `echo "exec:$0:$1"`, "a", "b"}},
		{"exec-alone", []string{"--entrypoint", `["sh","-c","echo exec:$0"]`, "ep:1"}, "exec:sh\n", []string{"sh", "-c", "echo exec:$0"}},
		// "" clears the image's entrypoint: its Cmd runs, or the user's.
		{"cleared", []string{"--entrypoint", "", "ep:1"}, "from-cmd\n", []string{"/bin/echo", "from-cmd"}},
		{"cleared-args", []string{"--entrypoint", "", "ep:1", "echo", "mine"}, "mine\n", []string{"echo", "mine"}},
	} {
		name := e.name(c.name)
		if out := e.must(append([]string{"run", "--name", name}, c.args...)...); out != c.want {
			t.Errorf("%s: output %q, want %q", c.name, out, c.want)
		}
		if got := e.commandOf(name); !slices.Equal(got, c.cmd) {
			t.Errorf("%s: inspect says it ran %q, want %q", c.name, got, c.cmd)
		}
	}

	// A malformed JSON array: ctr-unit's own error, nothing stored.
	e.storedUnchanged("a refused --entrypoint", func() {
		for _, verb := range []string{"create", "run"} {
			r := e.ctr(verb, "--name", e.name("bad-"+verb), "--entrypoint", `["sh", "-c"`, "ep:1")
			if r.code != 125 || !strings.Contains(r.stderr, "not a JSON array") {
				t.Errorf("%s with a bad JSON array: %s, want exit 125 naming the array", verb, r)
			}
		}
	})
}

func TestEntrypointIsPrependedToARootfsCommand(t *testing.T) {
	e := newEnv(t)
	if out := e.must("run", "--name", e.name("plain"), "--rootfs", rootfs, "--entrypoint", "/bin/echo", "--", "a", "b"); out != "a b\n" {
		t.Errorf("plain: output %q", out)
	}
	if out := e.must("run", "--name", e.name("exec"), "--rootfs", rootfs, "--entrypoint", `["sh","-c","echo $0-$1"]`, "--", "x", "y"); out != "x-y\n" {
		t.Errorf("exec form: output %q", out)
	}
	// An entrypoint alone is a command.
	if got := e.must("create", "--name", e.name("alone"), "--rootfs", rootfs, "--entrypoint", "/bin/true"); strings.TrimSpace(got) != e.name("alone") {
		t.Errorf("create with only an entrypoint printed %q", got)
	}
	if got := e.commandOf(e.name("alone")); !slices.Equal(got, []string{"/bin/true"}) {
		t.Errorf("entrypoint alone: runs %q", got)
	}
	// Neither a command nor an entrypoint runs "", which is not found,
	// as in podman (compat_test.go has the exit code).
	for i, args := range [][]string{{}, {"--entrypoint", ""}} {
		name := e.name("none" + strconv.Itoa(i))
		e.must(append(append([]string{"create", "--name", name, "--rootfs", rootfs}, args...), "--")...)
		if got := e.commandOf(name); !slices.Equal(got, []string{""}) {
			t.Errorf("create %q with no command: runs %q", args, got)
		}
	}
}

// generate systemd --new replays --entrypoint as given: an exec form with
// quotes and $ survives the unit file's quoting.
func TestEntrypointSurvivesGenerateNew(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "ep:1", epConfig, nil))
	name := e.name("new")
	ep, _ := json.Marshal([]string{"sh", "-c", `echo "new:$0:$1"; ` + termable})
	e.must("create", "--name", name, "--entrypoint", string(ep), "--stop-timeout", "5", "ep:1", "a", "b c")
	want := e.commandOf(name)
	unit, text := e.installNewUnit(name)
	if !strings.Contains(text, "--entrypoint=") {
		t.Fatalf("the unit's create step lacks --entrypoint:\n%s", text)
	}
	e.must("rm", name)
	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	if got := e.commandOf(name); !slices.Equal(got, want) {
		t.Errorf("created by the unit: runs %q, want %q", got, want)
	}
	e.waitFor("the container's output", 5*time.Second, func() bool {
		return strings.Contains(e.must("logs", name), "new:a:b c")
	})
	systemctl(t, "stop", unit)
}
