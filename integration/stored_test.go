//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// privateModes checks every path under dir: no file or directory gives
// group or others any access. Volume contents (_data) are the
// container's own files, with the modes it gives them.
func privateModes(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "_data" {
			return filepath.SkipDir
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n++
		if containerEtcFile(path) {
			// Bind-mounted as the container's /etc/hosts, hostname and
			// resolv.conf, which every user in it must read (as
			// podman's): the bundle's own 0700, checked as its
			// directory, keeps the host's users out.
			if info.Mode().Perm()&0o022 != 0 {
				t.Errorf("%s is %v: only root may write it", path, info.Mode())
			}
			return nil
		}
		if path != dir && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: group and others must have no access (0600 files, 0700 directories)", path, info.Mode())
		}
		// runc's own state (0711 directories) sits in this 0700 one of
		// ctr-unit's.
		if d.IsDir() && filepath.Base(filepath.Dir(path)) == "runc" {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// containerEtcFile tells the files of a bundle (containers/NAME/) that
// the start step mounts on the container's /etc.
func containerEtcFile(path string) bool {
	switch filepath.Base(path) {
	case "hosts", "hostname", "resolv.conf":
		return filepath.Base(filepath.Dir(filepath.Dir(path))) == "containers"
	}
	return false
}

// Records, bundles, exit records, volumes' records and health logs are
// root's alone: every path under the state and runtime dirs, while
// containers run, after a healthcheck and after they stop.
func TestStoredFilesArePrivate(t *testing.T) {
	e := newEnv(t)
	web := e.name("web")
	e.must("run", "-d", "--name", web, "--rootfs", rootfs, "-v", e.name("data")+":/data", "--health-cmd", "true", "--health-interval", "1h", "--", "sleep", "1000")
	e.must("healthcheck", "run", web)
	e.must("create", "--name", e.name("made"), "--rootfs", rootfs, "--", "true")
	e.ctr("run", "--name", e.name("done"), "--rootfs", rootfs, "--", "false")
	e.must("exec", web, "true")
	if n := privateModes(t, e.stateDir) + privateModes(t, e.runtimeDir); n < 10 {
		t.Fatalf("walked %d paths: the state and runtime dirs should hold records, bundles and logs", n)
	}
	e.must("stop", web)
	privateModes(t, e.stateDir)
	privateModes(t, e.runtimeDir)
}

// A user other than root is refused before anything is written, even
// where the directories would let that user write.
func TestNonRootIsRefused(t *testing.T) {
	e := newEnv(t)
	bin := t.TempDir()
	// t.TempDir's directories sit in one of the test's own, 0700.
	for _, d := range []string{filepath.Dir(bin), bin, e.stateDir, e.runtimeDir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ctr-unit"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "-d", "--name", e.name("web"), "--rootfs", "/", "--", "true"},
		{"volume", "create", e.name("data")},
		{"ps", "-a"},
	} {
		c := exec.Command(filepath.Join(bin, "ctr-unit"), append([]string{"--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir}, args...)...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := c.CombinedOutput()
		if c.ProcessState == nil || c.ProcessState.ExitCode() != 125 || !strings.Contains(string(out), "must run as root") {
			t.Errorf("%q as nobody: %v, %q: want exit 125 and a refusal that says to run it as root", args, err, out)
		}
	}
	for _, d := range []string{e.stateDir, e.runtimeDir} {
		if entries, err := os.ReadDir(d); err != nil || len(entries) != 0 {
			t.Errorf("%s after the refusals: %v %v, want it empty", d, entries, err)
		}
	}
}

// hostile is a value a shell or a unit file would read as more than data.
const hostile = `a'b"c $HOME ${X} $(id) %n %% ; echo owned \ \n back` + "\nsecond line"

// Labels, environment values and arguments full of quotes, $, %, ;,
// newlines and backslashes reach the container, its unit and inspect as
// they were given: nothing reads them as a shell or a unit file would.
func TestHostileValuesStayData(t *testing.T) {
	e := newEnv(t)
	name := e.name("hostile")
	out := e.must("run", "--name", name, "--rootfs", rootfs, "--label", "k="+hostile, "-e", "V="+hostile, "--", "sh", "-c", `printf '%s|%s' "$V" "$1"`, "sh", hostile)
	if want := hostile + "|" + hostile; out != want {
		t.Errorf("the container saw %q, want %q", out, want)
	}
	var got []struct {
		Config struct{ Labels map[string]string }
	}
	if err := json.Unmarshal([]byte(e.must("inspect", name)), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	if l := got[0].Config.Labels["k"]; l != hostile {
		t.Errorf("inspect's label is %q, want %q", l, hostile)
	}
	// As a systemd service started later, from its stored record.
	// Both the same and of the same length, through the unit's start.
	check := fmt.Sprintf(`test "$V" = "$1" && test "${#V}" = %d`, len(hostile))
	e.must("create", "--name", e.name("later"), "--rootfs", rootfs, "-e", "V="+hostile, "--", "sh", "-c", check, "sh", hostile)
	e.must("start", e.name("later"))
	if c := e.waitStatus(e.name("later"), "exited", 10*time.Second); c.State.ExitCode != 0 {
		t.Errorf("the service of the container with hostile values exited %d: its value changed on the way", c.State.ExitCode)
	}
	// A name is refused whole, and nothing is stored.
	for _, bad := range []string{"a;b", "a b", "a'b", `a"b`, "a$b", "a%b", "a\\b", "a\nb", "../x"} {
		e.storedUnchanged("name "+bad, func() {
			if msg := e.fails("create", "--name", bad, "--rootfs", rootfs, "--", "true"); !strings.Contains(msg, "name") {
				t.Errorf("name %q refused with %q, want a message about the name", bad, msg)
			}
		})
	}
}
