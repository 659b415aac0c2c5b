//go:build integration

package integration

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
	"github.com/ctr-unit/ctr-unit/units"
)

// run and create pull their image by --pull (missing by default, as
// podman), and the record keeps the fully qualified name it was found by.
func TestRunPullsByPolicy(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	ref := reg.Addr + "/test/app:1"
	e.pushTestImage(ref, "one")

	if out := e.must("run", "--name", e.name("a"), ref, "cat", "/app/hello.txt"); out != "one\n" {
		t.Errorf("run of an image not pulled yet printed %q", out)
	}
	if rec := e.imageRecord(e.name("a")); rec.ImageName != ref || rec.Pull != "" || len(rec.ImageID) != 64 {
		t.Errorf("record: %+v, want the image %s by ID, no policy given", rec, ref)
	}
	e.pushTestImage(ref, "two")
	if out := e.must("run", "--name", e.name("b"), ref, "cat", "/app/hello.txt"); out != "one\n" {
		t.Errorf("run (--pull missing) of a stored image printed %q, want the stored one", out)
	}
	if out := e.must("run", "--pull", "newer", "--name", e.name("c"), ref, "cat", "/app/hello.txt"); out != "two\n" {
		t.Errorf("run --pull newer printed %q, want the new image's", out)
	}
	if rec := e.imageRecord(e.name("c")); rec.Pull != "newer" || rec.ImageID == e.imageRecord(e.name("a")).ImageID {
		t.Errorf("record of the --pull newer container: %+v", rec)
	}
	r := e.ctr("create", "--pull", "never", "--name", e.name("d"), reg.Addr+"/test/nosuch:1")
	if r.code == 0 || !strings.Contains(r.stderr, "no such image") {
		t.Errorf("create --pull never of a missing image: %s", r)
	}
	r = e.ctr("create", "--name", e.name("e"), reg.Addr+"/test/nosuch:1")
	if r.code == 0 || !strings.Contains(r.stderr, "no such image in the registry") {
		t.Errorf("create of an image the registry lacks: %s", r)
	}
	// podman's status for a failed create; the registry's error said.
	r = e.ctr("run", "-d", "--name", e.name("f"), reg.Addr+"/test/nosuch:1")
	if r.code != 125 || !strings.Contains(r.stderr, "no such image in the registry") {
		t.Errorf("run -d of an image the registry lacks: %s", r)
	}
	if ps := e.must("ps", "-a", "--format", "{{.Name}}"); strings.Contains(ps, e.name("d")) || strings.Contains(ps, e.name("e")) || strings.Contains(ps, e.name("f")) {
		t.Errorf("a failed pull left a container: %q", ps)
	}
}

// run and create of an image the store has, by policy missing (the
// default) or never, need no ctr-unit-image: the store settles the pull
// as the helper would, without its start-up. A ctr-unit without the
// helper beside it shows which cases still go to the helper.
func TestRunOfAStoredImageStartsNoImageHelper(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "stored:1", v1.ImageConfig{Cmd: []string{"echo", "from the store"}}, nil))
	alone := t.TempDir()
	for _, name := range []string{"ctr-unit", "ctr-unit-step"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(binary), name))
		if err == nil {
			err = os.WriteFile(filepath.Join(alone, name), data, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// ctr-unit from the directory without the helper.
	run := func(args ...string) result {
		t.Helper()
		c := e.cmd(args...)
		c.Path = filepath.Join(alone, "ctr-unit")
		c.Args[0] = c.Path
		return e.run(c)
	}
	for i, ref := range []string{"stored:1", "localhost/stored:1", "docker://localhost/stored:1"} {
		if r := run("run", "--rm", "--name", e.name(fmt.Sprint("a", i)), ref); r.code != 0 || r.stdout != "from the store\n" {
			t.Errorf("run of the stored image %s without ctr-unit-image: %s", ref, r)
		}
	}
	if r := run("create", "--pull", "never", "--name", e.name("b"), "stored:1"); r.code != 0 {
		t.Errorf("create --pull never of the stored image without ctr-unit-image: %s", r)
	}
	// What only the helper can answer still goes to it.
	for _, args := range [][]string{
		{"create", "--name", e.name("c"), "nosuch:1"},
		{"create", "--pull", "never", "--name", e.name("d"), "nosuch:1"},
		{"create", "--pull", "always", "--name", e.name("e"), "stored:1"},
		{"create", "--name", e.name("f"), "oci-archive:/nonexistent.tar"},
	} {
		if r := run(args...); r.code == 0 || !strings.Contains(r.stderr, "needs ctr-unit-image") {
			t.Errorf("%v without ctr-unit-image: %s, want the helper asked for", args, r)
		}
	}
	if r := e.ctr("create", "--pull", "never", "--name", e.name("g"), "nosuch:1"); r.code == 0 || !strings.Contains(r.stderr, "no such image") {
		t.Errorf("create --pull never of a missing image: %s", r)
	}
}

// imageRecord is what a container's record says of its image.
func (e *env) imageRecord(name string) (rec struct{ Image, ImageID, ImageName, Pull string }) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.stateDir, "containers", name, "config.json"))
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		e.t.Fatalf("record of %s: %v", name, err)
	}
	return rec
}

// serviceHostConfig is a definition's [Service] section giving its unit
// (and so its pull unit) hostConfig's registries.conf and policy.json.
func serviceHostConfig(dir string) string {
	return "[Service]\nEnvironment=CONTAINERS_REGISTRIES_CONF=" + filepath.Join(dir, "registries.conf") +
		" CONTAINERS_POLICY_JSON=" + filepath.Join(dir, "policy.json") + "\n"
}

// A definition file naming a registry's image: its own oneshot pull unit
// pulls it, with progress in the journal, before the container's unit
// starts; a pull that fails fails the start with the registry's error.
func TestDefinitionImagePulledByItsUnit(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	dir := e.hostConfig(insecure(reg.Addr))
	ref := reg.Addr + "/test/app:1"
	e.pushTestImage(ref, "from the registry")
	e.installTemplate()

	// The unit's environment reaches its pull (registries.conf here).
	service := serviceHostConfig(dir)
	name := e.name("pulled")
	e.defineFile(name, "[Container]\nImage="+ref+"\nExec=sh -c 'cat /app/hello.txt; sleep 1000'\n"+service)
	bad := e.name("nopull")
	e.defineFile(bad, "[Container]\nImage="+reg.Addr+"/test/nosuch:1\nExec=true\n"+service)
	systemctl(t, "daemon-reload")
	pullUnit := units.PullUnit(name)
	t.Cleanup(func() {
		exec.Command("systemctl", "reset-failed", units.PullUnit(bad), units.TemplateInstance(bad)).Run()
	})

	if dep := systemctl(t, "show", "-p", "Requires", "-p", "After", units.TemplateInstance(name)); strings.Count(dep, pullUnit) != 2 {
		t.Errorf("the container's unit does not require and follow %s: %s", pullUnit, dep)
	}
	if tm := systemctl(t, "show", "-p", "TimeoutStartUSec", pullUnit); tm != "TimeoutStartUSec=1h" {
		t.Errorf("pull unit: %s", tm)
	}
	if out, err := exec.Command("systemctl", "start", units.TemplateInstance(name)).CombinedOutput(); err != nil {
		journal, _ := exec.Command("journalctl", "-u", pullUnit, "--no-pager", "-o", "cat").CombinedOutput()
		t.Fatalf("start: %v: %s\npull unit's journal:\n%s", err, out, journal)
	}
	if c := e.inspect(name); c.State.Status != "running" {
		t.Fatalf("after start: %+v", c)
	}
	e.waitFor("the image's output", 5*time.Second, func() bool {
		return strings.Contains(e.must("logs", name), "from the registry")
	})
	if img := e.imageInspect(ref); img.Id == "" {
		t.Errorf("the image is not in the store")
	}
	journal, _ := exec.Command("journalctl", "-u", pullUnit, "--no-pager", "-o", "cat").CombinedOutput()
	if !strings.Contains(string(journal), "Copying blob") {
		t.Errorf("no progress lines of the pull in the journal:\n%s", journal)
	}

	out, err := exec.Command("systemctl", "start", units.TemplateInstance(bad)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "dependency") {
		t.Errorf("start of a container whose pull fails: %v %s", err, out)
	}
	journal, _ = exec.Command("journalctl", "-u", units.PullUnit(bad), "--no-pager", "-o", "cat").CombinedOutput()
	if !strings.Contains(string(journal), "no such image in the registry") {
		t.Errorf("the registry's error is not in the pull unit's journal:\n%s", journal)
	}
	if r := e.ctr("start", bad); r.code == 0 || !strings.Contains(r.stderr, "no such image") {
		t.Errorf("ctr-unit start of the container whose pull fails: %s", r)
	}
	// It has no record (no image to make one from), yet ps -a and
	// inspect show it, with the registry's error.
	if ps := e.must("ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, bad+" Exited (125)") {
		t.Errorf("ps -a does not show the container whose pull failed: %q", ps)
	}
	if c := e.inspect(bad); c.State.Status != "exited" || c.State.ExitCode != 125 || !strings.Contains(c.State.Error, "no such image in the registry") {
		t.Errorf("inspect of the container whose pull failed: %+v", c.State)
	}
	// The image appears: the next start pulls and runs it, the error is gone.
	e.pushTestImage(reg.Addr+"/test/nosuch:1", "late")
	if out, err := exec.Command("systemctl", "start", units.TemplateInstance(bad)).CombinedOutput(); err != nil {
		t.Fatalf("start once the image is there: %v %s", err, out)
	}
	e.waitFor("the container to run and exit", 10*time.Second, func() bool {
		return e.inspect(bad).State.Status == "exited"
	})
	if c := e.inspect(bad); c.State.ExitCode != 0 || c.State.Error != "" {
		t.Errorf("inspect once the pull succeeded: %+v", c.State)
	}
	// It has a record now. A later pull that fails (the registry gone,
	// the definition asking for a pull at every start) is how its last
	// start ended: ps -a and inspect say so rather than the run before.
	e.defineFile(bad, "[Container]\nImage="+reg.Addr+"/test/nosuch:1\nPull=always\nExec=true\n"+service)
	systemctl(t, "daemon-reload")
	reg.Stop()
	if out, err := exec.Command("systemctl", "start", units.TemplateInstance(bad)).CombinedOutput(); err == nil {
		t.Errorf("start with the registry gone succeeded: %s", out)
	}
	if ps := e.must("ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(ps, bad+" Exited (125)") {
		t.Errorf("ps -a after a failed pull over an earlier run: %q", ps)
	}
	c := e.inspect(bad)
	if c.State.Status != "exited" || c.State.ExitCode != 125 || !strings.Contains(c.State.Error, reg.Addr) {
		t.Errorf("inspect after a failed pull over an earlier run: %+v; want exit 125 with the pull's error", c.State)
	}
	t.Logf("the failed pull, as inspect gives it: %s", c.State.Error)
}

// pushCmdImage pushes to dest a busybox image whose command is cmd, with
// /app/hello.txt saying greeting.
func (e *env) pushCmdImage(dest, greeting string, cmd ...string) {
	e.t.Helper()
	config := appConfig
	config.Cmd = cmd
	archive := testImage(e.t, "oci", "pushme:1", config, func(tw *tar.Writer) error {
		if err := testarchive.Dir(tw, "app", 0o755); err != nil {
			return err
		}
		return testarchive.File(tw, "app/hello.txt", []byte(greeting+"\n"), 0o644)
	})
	e.must("image", "load", "-q", "-i", archive)
	e.must("push", "-q", "pushme:1", dest)
	e.must("rmi", "pushme:1")
}

// auto-update pulls a new image pushed under a container's name and
// restarts its unit, which makes the container from it; a new image
// whose command cannot start is rolled back to the one that ran.
func TestAutoUpdateAndRollback(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	dir := e.hostConfig(insecure(reg.Addr))
	ref := reg.Addr + "/test/app:1"
	serve := []string{"sh", "-c", "cat /app/hello.txt; sleep 1000"}
	e.pushCmdImage(ref, "one", serve...)
	e.installTemplate()
	service := serviceHostConfig(dir)
	name := e.name("upd")
	e.defineFile(name, "[Container]\nImage="+ref+"\nAutoUpdate=registry\nStopTimeout=1\n"+service)
	other := e.name("noupd")
	e.defineFile(other, "[Container]\nImage="+ref+"\nStopTimeout=1\n"+service)
	systemctl(t, "daemon-reload")
	systemctl(t, "start", units.TemplateInstance(name), units.TemplateInstance(other))
	first := e.imageRecord(name).ImageID

	for _, args := range [][]string{{"auto-update"}, {"auto-update", "--dry-run"}} {
		if out := e.must(append(args, "--format", "json")...); !strings.Contains(out, `"Updated": "false"`) || strings.Contains(out, other) {
			t.Errorf("%v with nothing new: %s", args, out)
		}
	}
	e.pushCmdImage(ref, "two", serve...)
	// A dry run sees the new image and changes nothing.
	pid := e.inspect(name).State.Pid
	if out := e.must("auto-update", "--dry-run", "--format", "json"); !strings.Contains(out, `"Updated": "pending"`) {
		t.Errorf("auto-update --dry-run with a new image: %s", out)
	}
	if id, now := e.imageRecord(name).ImageID, e.inspect(name).State.Pid; id != first || now != pid {
		t.Errorf("after --dry-run: image %s (was %s), pid %d (was %d)", id, first, now, pid)
	}
	if img := e.imageInspect(ref); img.Id != first {
		t.Errorf("after --dry-run %s names %s, want %s", ref, img.Id, first)
	}
	out := e.must("auto-update")
	second := e.imageRecord(name).ImageID
	if !strings.Contains(out, name) || !strings.Contains(out, "true") || second == first {
		t.Fatalf("auto-update of a new image: %s (image %s, was %s)", out, second, first)
	}
	if s := e.inspect(name).State.Status; s != "running" {
		t.Errorf("after the update: %s", s)
	}
	e.waitFor("the new image's output", 5*time.Second, func() bool {
		return strings.Contains(e.must("logs", name), "two")
	})
	if e.imageRecord(other).ImageID != first {
		t.Errorf("the container without AutoUpdate= was updated")
	}

	// A new image whose command does not exist: the restart fails, and
	// the container goes back to the image it ran.
	e.pushCmdImage(ref, "three", "/no/such/command")
	out = e.must("auto-update", "--format", "json")
	if !strings.Contains(out, `"Updated": "rolled back"`) {
		t.Errorf("auto-update of a broken image: %s", out)
	}
	if got := e.imageRecord(name).ImageID; got != second {
		t.Errorf("after the rollback the container runs image %s, want %s", got, second)
	}
	if s := e.inspect(name).State.Status; s != "running" {
		t.Errorf("after the rollback: %s", s)
	}
	if img := e.imageInspect(ref); img.Id != second {
		t.Errorf("after the rollback %s names %s, want %s", ref, img.Id, second)
	}
	exec.Command("systemctl", "reset-failed", units.TemplateInstance(name)).Run()
}

// Containers of run -d, of create and of a generate systemd --new unit,
// labelled for it, are updated too: made anew as they were made, from the
// name's new image; one whose new image fails goes back to the image it
// ran.
func TestAutoUpdateOfRunAndCreateContainers(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	e.installTemplate()
	ref := reg.Addr + "/test/app:1"
	serve := []string{"sh", "-c", "cat /app/hello.txt; sleep 1000"}
	e.pushCmdImage(ref, "one", serve...)
	label := "io.containers.autoupdate=registry"
	ran, created, plain := e.name("ran"), e.name("created"), e.name("plain")
	e.must("run", "-d", "--name", ran, "--label", label, "--stop-timeout", "1", "-e", "KEPT=yes", ref)
	e.must("create", "--name", created, "--label", label, "--stop-timeout", "1", ref)
	e.must("start", created)
	e.must("run", "-d", "--name", plain, "--stop-timeout", "1", ref)
	// And one of a generate systemd --new unit, which makes it as it
	// starts: restarted, as podman's auto-update does.
	gen := e.name("gen")
	e.must("create", "--name", gen, "--label", label, "--stop-timeout", "1", ref)
	genUnit, _ := e.installNewUnit(gen)
	e.must("rm", gen)
	systemctl(t, "daemon-reload")
	systemctl(t, "start", genUnit)
	first := e.imageRecord(ran).ImageID

	e.pushCmdImage(ref, "two", serve...)
	out := e.must("auto-update", "--format", "json")
	second := e.imageInspect(ref).Id
	if second == first {
		t.Fatalf("the registry's new image was not pulled: %s", out)
	}
	for _, n := range []string{ran, created, gen} {
		if !strings.Contains(out, `"ContainerName": "`+n+`"`) {
			t.Errorf("%s is not in the report: %s", n, out)
		}
		c := e.inspect(n)
		if id := e.imageRecord(n).ImageID; id != second || c.State.Status != "running" {
			t.Errorf("%s after the update: image %s (want %s), %s", n, id, second, c.State.Status)
		}
		e.waitFor(n+"'s output from the new image", 5*time.Second, func() bool {
			return strings.Contains(e.must("logs", n), "two")
		})
	}
	if strings.Count(out, `"Updated": "true"`) != 3 {
		t.Errorf("auto-update: %s; want the three updated", out)
	}
	// Made as it was made: its options too, and its kind of unit.
	if env := e.must("exec", ran, "sh", "-c", "echo $KEPT"); env != "yes\n" {
		t.Errorf("the updated container lost its -e: %q", env)
	}
	if u := e.inspect(created).Unit; u != units.TemplateInstance(created) {
		t.Errorf("the updated container of create has unit %s", u)
	}
	if id := e.imageRecord(plain).ImageID; id != first {
		t.Errorf("the container without the label was updated")
	}

	// A new image whose command does not exist: back to the one it ran.
	e.pushCmdImage(ref, "three", "/no/such/command")
	out = e.must("auto-update", "--format", "json")
	if strings.Count(out, `"Updated": "rolled back"`) != 3 {
		t.Errorf("auto-update of a broken image: %s; want the three rolled back", out)
	}
	for _, n := range []string{ran, created, gen} {
		if id, st := e.imageRecord(n).ImageID, e.inspect(n).State.Status; id != second || st != "running" {
			t.Errorf("%s after the rollback: image %s (want %s), %s", n, id, second, st)
		}
	}
}
