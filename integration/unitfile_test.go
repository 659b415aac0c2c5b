//go:build integration

package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// The box's /etc/systemd/system and /etc/systemd/system-generators are its
// own (hack/sysbox), so these tests install the template and the generator
// there and remove them afterwards.
const (
	templatePath  = "/etc/systemd/system/ctr@.service"
	generatorPath = "/etc/systemd/system-generators/ctr-unit-generator"
	generatedDir  = "/run/systemd/generator"
)

// installTemplate puts packaging/ctr@.service where the box's systemd finds
// it, plus a generator that runs this test's ctr-unit with its state and
// runtime directories. It returns the ctr-unit the units run.
func (e *env) installTemplate() string {
	e.t.Helper()
	data, err := os.ReadFile("../packaging/ctr@.service")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(templatePath, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	genBin := e.useGenerator(binary, "ctr-unit")
	systemctl(e.t, "daemon-reload")
	// Cleanups run last-registered first: remove the containers while
	// the template is still there (newEnv's removal then finds none).
	e.t.Cleanup(func() {
		e.removeAll()
		os.Remove(templatePath)
		os.Remove(generatorPath)
		os.RemoveAll(filepath.Dir(genBin))
		exec.Command("systemctl", "daemon-reload").Run()
	})
	return genBin
}

// useGenerator installs bin as the generator, as bin's package would,
// running with this test's state and runtime directories. systemd runs
// generators with a private /tmp, where the test's binary is not: they get
// a copy, named ctr-unit, in a directory of the box's /run named for this
// test and name, whose path it returns. The helpers built beside bin go
// beside the copy, where a package installs them: the units' steps run
// ctr-unit-step, which finds that ctr-unit again, and a pull unit's
// ctr-unit-image (a version older than a helper, as the upgrade test
// installs, has none and does without).
func (e *env) useGenerator(bin, name string) string {
	e.t.Helper()
	dir := filepath.Join("/run/ctr-unit-it", e.prefix+name)
	genBin := filepath.Join(dir, unitstep.FullName)
	e.t.Cleanup(func() { os.RemoveAll(dir) })
	for _, b := range []string{unitstep.FullName, unitstep.LeanName, unitstep.ImageName} {
		src := filepath.Join(filepath.Dir(bin), b)
		if b == unitstep.FullName {
			src = bin
		} else if _, err := os.Stat(src); err != nil {
			continue
		}
		if out, err := exec.Command("install", "-D", src, filepath.Join(dir, b)).CombinedOutput(); err != nil {
			e.t.Fatalf("copy %s: %v: %s", src, err, out)
		}
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nCTR_UNIT_STATE_DIR=%s CTR_UNIT_RUNTIME_DIR=%s exec %s internal generator \"$@\"\n", e.stateDir, e.runtimeDir, genBin)
	if err := os.WriteFile(generatorPath, []byte(wrapper), 0o755); err != nil {
		e.t.Fatal(err)
	}
	return genBin
}

// defineFile writes /etc/ctr-unit/NAME.container, removed at cleanup.
func (e *env) defineFile(name, text string) string {
	e.t.Helper()
	path := filepath.Join("/etc/ctr-unit", name+".container")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		exec.Command("systemctl", "stop", units.TemplateInstance(name)).Run()
		os.Remove(path)
		e.cmd("rm", "-f", name).Run()
	})
	return path
}

func isActive(unit string) string {
	out, _ := exec.Command("systemctl", "is-active", unit).Output()
	return strings.TrimSpace(string(out))
}

func TestSystemctlRunsContainerMadeWithCreate(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	name := e.name("web")
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	unit := units.TemplateInstance(name)
	c := e.inspect(name)
	if c.Unit != unit || c.State.Status != "created" {
		t.Fatalf("after create: unit %q status %q, want %s created", c.Unit, c.State.Status, unit)
	}
	dropIn := filepath.Join("/etc/systemd/system", unit+".d", "50-ctr-unit.conf")
	if _, err := os.Stat(dropIn); err != nil {
		t.Fatalf("create wrote no drop-in: %v", err)
	}

	systemctl(t, "start", unit)
	c = e.inspect(name)
	if c.State.Status != "running" {
		t.Fatalf("after systemctl start: %q, want running", c.State.Status)
	}
	cgroup := unitProperty(t, unit, "ControlGroup")
	if cgroup != "/system.slice/"+unit {
		t.Errorf("ControlGroup %s, want the same layout as a transient container", cgroup)
	}
	pids := cgroupPids(t, cgroup)
	mainPID, _ := strconv.Atoi(unitProperty(t, unit, "MainPID"))
	if len(pids) != 2 || mainPID != c.State.Pid || comm(mainPID) != "sh" {
		t.Fatalf("cgroup pids %v, MainPID %d (%s), inspect pid %d: want the container's 2 processes, init as main", pids, mainPID, comm(mainPID), c.State.Pid)
	}
	if out, err := exec.Command("systemctl", "status", "--no-pager", unit).CombinedOutput(); err != nil {
		t.Errorf("systemctl status: %v\n%s", err, out)
	}
	if ps := e.must("ps", "--format", "{{.Name}} {{.Unit}} {{.State.Status}}"); !strings.Contains(ps, name+" "+unit+" running") {
		t.Errorf("ps does not list %s as running: %q", name, ps)
	}

	systemctl(t, "restart", unit)
	if c2 := e.inspect(name); c2.State.Status != "running" || c2.State.Pid == c.State.Pid {
		t.Errorf("after systemctl restart: %s pid %d (was %d)", c2.State.Status, c2.State.Pid, c.State.Pid)
	}
	pids = cgroupPids(t, cgroup)

	systemctl(t, "stop", unit)
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("process %d survived systemctl stop", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot(), cgroup)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after stop", cgroup)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.runtimeDir, "runc")); len(entries) != 0 {
		t.Errorf("runc state left after stop: %v", entries)
	}
	if got := e.inspect(name).State; got.Status != "exited" || got.ExitCode != 0 {
		t.Errorf("after systemctl stop: %+v, want exited 0", got)
	}

	// ctr-unit's own start and stop drive the same unit.
	e.must("start", name)
	if got := isActive(unit); got != "active" {
		t.Errorf("after ctr-unit start: %s is %s", unit, got)
	}
	e.must("stop", name)

	systemctl(t, "enable", unit)
	wants := "/etc/systemd/system/multi-user.target.wants/" + unit
	if _, err := os.Lstat(wants); err != nil {
		t.Fatalf("systemctl enable made no symlink: %v", err)
	}
	e.must("rm", name)
	for _, p := range []string{dropIn, filepath.Dir(dropIn), wants} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after rm", p)
		}
	}
}

func TestDefinitionFileBecomesRunningContainer(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	name, bad := e.name("filed"), e.name("broken")
	unit := units.TemplateInstance(name)
	e.defineFile(name, fmt.Sprintf(`[Unit]
Description=defined in a file

[Container]
Rootfs=%s
Exec=sh -c 'trap "exit 0" TERM; echo hello from $GREETING; sleep 1000 & wait'
Environment=GREETING=file
StopTimeout=5

[Install]
WantedBy=multi-user.target
`, rootfs))
	badPath := e.defineFile(bad, fmt.Sprintf("[Container]\nRootfs=%s\nExec sh\nRestart=sometimes\n", rootfs))

	r := e.ctr("validate", badPath)
	if r.code == 0 || !strings.Contains(r.stderr, badPath+":3:") || !strings.Contains(r.stderr, badPath+":4:") {
		t.Errorf("validate of a bad file: %s; want problems at lines 3 and 4", r)
	}
	if out := e.must("validate", filepath.Join("/etc/ctr-unit", name+".container")); !strings.Contains(out, "ok") {
		t.Errorf("validate of a good file: %q", out)
	}

	systemctl(t, "daemon-reload")
	if _, err := os.Stat(filepath.Join(generatedDir, unit+".d", "50-ctr-unit.conf")); err != nil {
		t.Fatalf("generator wrote no drop-in: %v", err)
	}
	if _, err := os.Stat(filepath.Join(generatedDir, units.TemplateInstance(bad)+".d")); !os.IsNotExist(err) {
		t.Errorf("generator wrote something for the bad file: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(generatedDir, "multi-user.target.wants", unit)); err != nil {
		t.Errorf("[Install] WantedBy gave no wants symlink: %v", err)
	}

	systemctl(t, "start", unit)
	c := e.inspect(name)
	if c.State.Status != "running" || c.Unit != unit {
		t.Fatalf("after start: %+v", c)
	}
	if ps := e.must("ps", "--format", "{{.Name}} {{.State.Status}}"); !strings.Contains(ps, name+" running") {
		t.Errorf("ps does not list %s: %q", name, ps)
	}
	e.waitFor("the container's output", 5*time.Second, func() bool {
		return strings.Contains(e.must("logs", name), "hello from file")
	})
	e.must("stop", name)
	if got := isActive(unit); got != "inactive" {
		t.Errorf("after ctr-unit stop: %s", got)
	}
}

// startedAt is when unit last became active.
func startedAt(t *testing.T, unit string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(unitProperty(t, unit, "ActiveEnterTimestampMonotonic"), 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("%s has no start time: %v", unit, err)
	}
	return n
}

func TestDependencyChainStartsInOrder(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	a, b, c := e.name("a"), e.name("b"), e.name("c")
	e.must("create", "--name", c, "--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("create", "--name", b, "--requires", c, "--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("create", "--name", a, "--requires", b, "--rootfs", rootfs, "--", "sh", "-c", termable)
	// systemctl show quotes names with escapes, doubling the backslash.
	if got := strings.ReplaceAll(unitProperty(t, units.TemplateInstance(a), "Requires"), `\\`, `\`); !strings.Contains(got, units.TemplateInstance(b)) {
		t.Errorf("Requires of a: %q", got)
	}

	check := func(how string) {
		t.Helper()
		for _, n := range []string{a, b, c} {
			if s := e.inspect(n).State.Status; s != "running" {
				t.Fatalf("%s: %s is %s, want running", how, n, s)
			}
		}
		ta, tb, tc := startedAt(t, units.TemplateInstance(a)), startedAt(t, units.TemplateInstance(b)), startedAt(t, units.TemplateInstance(c))
		if !(tc < tb && tb < ta) {
			t.Errorf("%s: started c %d, b %d, a %d; want c, then b, then a", how, tc, tb, ta)
		}
	}
	e.must("start", a)
	check("ctr-unit start a")
	e.must("stop", a, b, c)

	systemctl(t, "start", units.TemplateInstance(a))
	check("systemctl start ctr@a")
	e.must("stop", a, b, c)

	// A dependency that cannot start is named.
	d := e.name("d")
	broken := filepath.Join(t.TempDir(), "rootfs")
	os.Mkdir(broken, 0o755)
	e.must("create", "--name", d, "--rootfs", broken, "--", "/nothing")
	x := e.name("x")
	e.must("create", "--name", x, "--requires", d, "--rootfs", rootfs, "--", "sh", "-c", termable)
	if msg := e.fails("start", x); !strings.Contains(msg, "dependency "+d+" failed") {
		t.Errorf("start with a failing dependency: %q, want it named", msg)
	}
}

func TestDependencyCycleIsRefused(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	x, y := e.name("x"), e.name("y")
	xPath := e.defineFile(x, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sleep 1000\nRequires=%s\n", rootfs, y))
	msg := e.fails("create", "--name", y, "--requires", x, "--rootfs", rootfs, "--", "sleep", "1000")
	want := fmt.Sprintf("dependency cycle: %s -> %s -> %s", y, x, y)
	if !strings.Contains(msg, want) {
		t.Errorf("create closing a cycle: %q, want %q", msg, want)
	}
	e.defineFile(y, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sleep 1000\nRequires=%s\n", rootfs, x))
	r := e.ctr("validate", xPath)
	if r.code == 0 || !strings.Contains(r.stderr, fmt.Sprintf("%s:4: dependency cycle: %s -> %s -> %s", xPath, x, y, x)) {
		t.Errorf("validate of a file in a cycle: %s", r)
	}
	if msg := e.fails("start", x); !strings.Contains(msg, "dependency cycle") {
		t.Errorf("start of a container in a cycle: %q", msg)
	}
}

// After a simulated reboot (the records of a container last started in a
// boot that is not this one), nothing shows as running and no runtime
// file is left. The real reboot is in reboot_test.go.
func TestStateFromEarlierBootIsRefreshed(t *testing.T) {
	e := newEnv(t)
	name := e.name("old")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	unit := e.inspect(name).Unit
	// What a power cut leaves: the unit gone without its stop step, the
	// bundle and runc's state still there, the record from another boot.
	systemctl(t, "kill", "--signal=KILL", unit)
	e.waitFor(unit+" to stop", 10*time.Second, func() bool {
		s := isActive(unit)
		return s == "inactive" || s == "failed"
	})
	os.MkdirAll(filepath.Join(e.runtimeDir, "runc", name), 0o700)
	os.MkdirAll(filepath.Join(e.runtimeDir, "containers", name), 0o700)
	statePath := filepath.Join(e.stateDir, "containers", name, "state.json")
	data, _ := os.ReadFile(statePath)
	os.WriteFile(statePath, []byte(strings.Replace(string(data), `"BootID": "`, `"BootID": "earlier-`, 1)), 0o600)
	os.WriteFile(filepath.Join(e.stateDir, "boot_id"), []byte("earlier\n"), 0o600)

	if s := e.inspect(name).State.Status; s == "running" {
		t.Errorf("after the reboot %s shows as running", name)
	}
	for _, d := range []string{"runc", "containers"} {
		if _, err := os.Stat(filepath.Join(e.runtimeDir, d, name)); !os.IsNotExist(err) {
			t.Errorf("stale %s files of %s left", d, name)
		}
	}
	e.must("start", name)
	if s := e.inspect(name).State.Status; s != "running" {
		t.Errorf("start after the reboot: %s", s)
	}
}

// A container whose unit has a file of the user's own (generate systemd
// --files) starts from that file even when its unit lingers failed:
// systemd refuses a transient unit of that name.
func TestOwnUnitFileIsStartedFromItsFileAfterAFailure(t *testing.T) {
	e := newEnv(t)
	name := e.name("own")
	e.must("create", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	path := strings.TrimSpace(e.must("generate", "systemd", "--files", "--dir", "/etc/systemd/system", name))
	unit := filepath.Base(path)
	t.Cleanup(func() {
		exec.Command("systemctl", "stop", unit).Run()
		exec.Command("systemctl", "reset-failed", unit).Run()
		os.Remove(path)
		exec.Command("systemctl", "daemon-reload").Run()
	})
	if unit != e.inspect(name).Unit {
		t.Skipf("generate wrote %s, the container's unit is %s", unit, e.inspect(name).Unit)
	}
	systemctl(t, "daemon-reload")
	e.must("start", name)
	systemctl(t, "kill", "--signal=KILL", unit)
	e.waitFor(unit+" to fail", 10*time.Second, func() bool { return isActive(unit) == "failed" })

	e.must("start", name)
	if got := unitProperty(t, unit, "FragmentPath"); got != path {
		t.Errorf("started from %q, want the unit file %s", got, path)
	}
	if c := e.inspect(name); c.State.Status != "running" {
		t.Errorf("after start: %s", c.State.Status)
	}
}

// A definition's unit starts through ctr-unit-step, which writes the
// bundle from the record while the record is what the file makes, and
// hands the start to ctr-unit when it is not: the first start (no record
// yet) and the first after the file changed, even with no daemon-reload
// in between.
func TestTemplateStartStepReadsAChangedFileThroughCtrUnit(t *testing.T) {
	e := newEnv(t)
	full := e.installTemplate()
	name := e.name("lean")
	unit := units.TemplateInstance(name)
	define := func(word string) {
		e.defineFile(name, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sh -c 'trap \"exit 0\" TERM; echo started %s; sleep 1000 & wait'\n", rootfs, word))
	}
	// The journal rather than ctr-unit logs: the test's ctr-unit is
	// another binary than the units' copy, and its refresh would rewrite
	// the record under its own stamp, which the start step then takes for
	// an edit.
	started := func(word string, times int) {
		t.Helper()
		e.waitFor("the container's output", 5*time.Second, func() bool {
			return strings.Count(journal(e.t, unit), "started "+word) == times
		})
	}
	define("one")
	systemctl(t, "daemon-reload")
	if start := unitProperty(t, unit, "ExecStart"); !strings.Contains(start, unitstep.LeanName+" ") || !strings.Contains(start, " prepare-start "+name) {
		t.Fatalf("the unit's start step is not ctr-unit-step's prepare-start: %s", start)
	}
	systemctl(t, "start", unit)
	started("one", 1)
	systemctl(t, "stop", unit)
	// The start from the record is ctr-unit-step's alone: with the
	// units' ctr-unit replaced by a script that only leaves a mark (of
	// the same size and modification time, so that the record still
	// reads as made by it), the container starts and nothing is marked.
	mark := filepath.Join(t.TempDir(), "ctr-unit-ran")
	restore := impostor(t, full, fmt.Sprintf("#!/bin/sh\necho \"$@\" >>%s\nexit 1\n", mark))
	systemctl(t, "start", unit)
	started("one", 2)
	if got := isActive(unit); got != "active" {
		t.Fatalf("after a start from the record: %s", got)
	}
	if data, err := os.ReadFile(mark); err == nil {
		t.Errorf("the start from the record ran ctr-unit: %s", data)
	}
	restore()

	systemctl(t, "stop", unit)
	define("two")
	systemctl(t, "start", unit)
	started("two", 1)
	if logs := journal(e.t, unit); strings.Count(logs, "started one") != 2 {
		t.Errorf("the edited file's start ran the old command too:\n%s", logs)
	}
	systemctl(t, "stop", unit)
	systemctl(t, "start", unit)
	started("two", 2)
}

// A drop-in of a definition (NAME.container.d/*.conf) is part of it: one
// added, changed or removed after the container's record was made takes
// effect at the next start, as an edit of the file itself does.
func TestDefinitionDropInChangeTakesEffect(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	name := e.name("drop")
	unit := units.TemplateInstance(name)
	e.defineFile(name, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sh -c 'trap \"exit 0\" TERM; echo greeting $GREETING; sleep 1000 & wait'\nEnvironment=GREETING=file\n", rootfs))
	dropDir := filepath.Join("/etc/ctr-unit", name+".container.d")
	t.Cleanup(func() { os.RemoveAll(dropDir) })
	// The journal rather than ctr-unit logs (see above).
	greeted := func(word string, times int) {
		t.Helper()
		e.waitFor("greeting "+word, 5*time.Second, func() bool {
			return strings.Count(journal(e.t, unit), "greeting "+word) == times
		})
	}
	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	greeted("file", 1)
	systemctl(t, "stop", unit)

	if err := os.MkdirAll(dropDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dropDir, "10-env.conf"), []byte("[Container]\nEnvironment=GREETING=dropin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	greeted("dropin", 1)
	systemctl(t, "stop", unit)

	if err := os.Remove(filepath.Join(dropDir, "10-env.conf")); err != nil {
		t.Fatal(err)
	}
	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	greeted("file", 2)
}

// impostor writes script over the binary at path, in place and padded to
// its size, with its modification time: what identifies a binary to a
// record's stamp (definition.BinaryStamp) stays the same. restore puts
// the binary back, also at cleanup.
func impostor(t *testing.T, path, script string) (restore func()) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	put := func(data []byte) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteAt(data, 0)
			err = errors.Join(err, f.Close(), os.Chtimes(path, info.ModTime(), info.ModTime()))
		}
		if err != nil {
			t.Fatalf("rewrite %s: %v", path, err)
		}
	}
	fake := make([]byte, len(orig))
	copy(fake, script)
	put(fake)
	done := false
	restore = func() {
		if !done {
			done = true
			put(orig)
		}
	}
	t.Cleanup(restore)
	return restore
}
