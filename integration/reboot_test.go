//go:build reboot

// The reboot tests run on the host, not inside a box: they boot a
// throwaway systemd with hack/sysbox, drive it with sysbox exec, power it
// off and boot it again with the same persisted state (sysbox --persist:
// /etc/systemd/system, /etc/systemd/system-generators and /etc/ctr-unit
// survive; /run and /tmp do not; the boot ID changes). make test runs
// them: go test -tags reboot ./integration/
package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/buildtags"
	"github.com/ctr-unit/ctr-unit/units"
)

// box is one throwaway systemd and the directory that survives its reboots.
type box struct {
	t       *testing.T
	name    string
	persist string // host path, visible inside the box at the same path
	bin     string // ctr-unit, built into persist
	rootfs  string
	state   string
}

func sysbox(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("../hack/sysbox", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("hack/sysbox %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newBox(t *testing.T, layout string) *box {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	// Not /tmp: the box has its own, so the binary, rootfs and records
	// would be invisible inside it.
	parent := os.Getenv("CTR_UNIT_REBOOT_DIR")
	if parent == "" {
		parent, _ = filepath.Abs("..")
	}
	persist, err := os.MkdirTemp(parent, ".reboot-test-")
	if err != nil {
		t.Fatal(err)
	}
	b := &box{
		t: t, persist: persist,
		name:   fmt.Sprintf("%s-%s", envOr("CTR_UNIT_REBOOT_BOX", fmt.Sprintf("rb%d", os.Getpid())), layout),
		bin:    filepath.Join(persist, "bin", "ctr-unit"),
		rootfs: filepath.Join(persist, "rootfs"),
		state:  filepath.Join(persist, "state"),
	}
	t.Cleanup(func() {
		exec.Command("../hack/sysbox", "down", b.name).Run()
		os.RemoveAll(persist)
	})
	build := exec.Command("go", "build", "-tags", buildtags.Tags(), "-o", filepath.Dir(b.bin)+"/", "../cmd/ctr-unit", "../cmd/ctr-unit-step", "../cmd/ctr-unit-image")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if out, err := exec.Command("../hack/mkrootfs", b.rootfs).CombinedOutput(); err != nil {
		t.Fatalf("mkrootfs: %v\n%s", err, out)
	}
	// What make install puts in place, in the box's persisted /etc.
	b.write("etc-systemd-system/ctr@.service", mustRead(t, "../packaging/ctr@.service"), 0o644)
	b.write("etc-systemd-system-generators/ctr-unit-generator",
		fmt.Sprintf("#!/bin/sh\nCTR_UNIT_STATE_DIR=%s exec %s internal generator \"$@\"\n", b.state, b.bin), 0o755)
	sysbox(t, "up", b.name, layout, "--persist", persist)
	return b
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func mustRead(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (b *box) write(rel, text string, mode os.FileMode) {
	path := filepath.Join(b.persist, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		b.t.Fatal(err)
	}
}

// exec runs a command in the box; ctr-unit gets this box's state dir.
func (b *box) exec(args ...string) (string, error) {
	if args[0] == "ctr-unit" {
		args = append([]string{b.bin, "--state-dir", b.state}, args[1:]...)
	}
	var stderr strings.Builder
	c := exec.Command("../hack/sysbox", append([]string{"exec", b.name, "--"}, args...)...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), err
}

func (b *box) must(args ...string) string {
	b.t.Helper()
	out, err := b.exec(args...)
	if err != nil {
		b.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

type psEntry struct {
	Name  string
	Unit  string
	State string
}

func (b *box) ps() map[string]psEntry {
	b.t.Helper()
	var list []psEntry
	out := b.must("ctr-unit", "ps", "-a", "--format", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		b.t.Fatalf("ps: %v\n%s", err, out)
	}
	m := map[string]psEntry{}
	for _, e := range list {
		m[e.Name] = e
	}
	return m
}

// enableRestartService installs and enables ctr-unit-restart.service as
// make install does, for this box's binary and state.
func (b *box) enableRestartService() {
	restart := strings.Replace(mustRead(b.t, "../packaging/ctr-unit-restart.service"),
		"ExecStart=/usr/bin/ctr-unit", fmt.Sprintf("Environment=CTR_UNIT_STATE_DIR=%s\nExecStart=%s", b.state, b.bin), 1)
	b.write("etc-systemd-system/ctr-unit-restart.service", restart, 0o644)
	b.must("systemctl", "enable", "ctr-unit-restart.service")
}

const termable = `trap "exit 0" TERM; sleep 1000 & wait`

func TestRebootBringsUpEnabledContainers(t *testing.T) {
	for _, layout := range strings.Fields(envOr("CTR_UNIT_REBOOT_LAYOUTS", "v2 hybrid")) {
		t.Run(layout, func(t *testing.T) { testReboot(t, layout) })
	}
}

func testReboot(t *testing.T, layout string) {
	b := newBox(t, layout)
	// my-web: made with create, enabled with systemctl by its name as
	// it is.
	b.must("ctr-unit", "create", "--name", "my-web", "--rootfs", b.rootfs, "--", "sh", "-c", termable)
	b.must("systemctl", "enable", "ctr@my-web")
	// idle: made with create, not enabled, started once before the reboot.
	b.must("ctr-unit", "create", "--name", "idle", "--rootfs", b.rootfs, "--", "sh", "-c", termable)
	b.must("ctr-unit", "start", "idle")
	// tr: a transient container running at power-off.
	b.must("ctr-unit", "run", "-d", "--name", "tr", "--rootfs", b.rootfs, "--", "sh", "-c", termable)
	// my-filed: defined in a file, enabled by its [Install] section, and
	// requiring my-web; broken: a malformed file the generator must skip.
	b.write("etc-ctr-unit/my-filed.container", fmt.Sprintf("[Container]\nRootfs=%s\nExec=sh -c '%s'\nRequires=my-web\n\n[Install]\nWantedBy=multi-user.target\n", b.rootfs, termable), 0o644)
	b.write("etc-ctr-unit/broken.container", fmt.Sprintf("[Container]\nRootfs=%s\nExec sh\n\n[Install]\nWantedBy=multi-user.target\n", b.rootfs), 0o644)
	// Transient containers come back by their restart policy, through
	// ctr-unit-restart.service: always even after a stop by the user;
	// unless-stopped only if the user did not stop it.
	b.enableRestartService()
	for name, policy := range map[string]string{"al": "always", "us": "unless-stopped", "uss": "unless-stopped"} {
		b.must("ctr-unit", "run", "-d", "--name", name, "--restart", policy, "--rootfs", b.rootfs, "--", "sh", "-c", termable)
	}
	b.must("ctr-unit", "stop", "al", "uss")
	reg := b.registryImage()
	bootBefore := b.must("cat", "/proc/sys/kernel/random/boot_id")

	sysbox(t, "reboot", b.name)

	if boot := b.must("cat", "/proc/sys/kernel/random/boot_id"); boot == bootBefore {
		t.Fatal("the boot ID did not change")
	}
	for _, name := range []string{"my-web", "my-filed", "reg-filed"} {
		if got, _ := b.exec("systemctl", "is-active", units.TemplateInstance(name)); got != "active" {
			status, _ := b.exec("systemctl", "status", "--no-pager", units.TemplateInstance(name))
			t.Errorf("%s after reboot: %s\n%s", name, got, status)
		}
	}
	if got, _ := b.exec("systemctl", "is-active", units.TemplateInstance("idle")); got == "active" {
		t.Error("idle was not enabled but came up at boot")
	}
	if out, err := b.exec("ls", "/run/systemd/generator/"+units.TemplateInstance("broken")+".d"); err == nil {
		t.Errorf("generator wrote a drop-in for the malformed file: %s", out)
	}
	// reg-filed's image was pulled at boot by its pull unit.
	if journal, _ := b.exec("journalctl", "-u", units.PullUnit("reg-filed"), "--no-pager", "-o", "cat"); !strings.Contains(journal, "Copying blob") {
		t.Errorf("no pull of %s at boot in the journal:\n%s", reg, journal)
	}
	// ps: nothing shows as running that is not; the file-defined
	// container is listed like any other.
	ps := b.ps()
	want := map[string]string{"my-web": "running", "my-filed": "running", "reg-filed": "running", "idle": "exited", "tr": "exited",
		"al": "running", "us": "running", "uss": "exited"}
	for name, status := range want {
		if got := ps[name].State; got != status {
			t.Errorf("ps after reboot: %s is %q, want %q", name, got, status)
		}
	}
	for name, e := range ps {
		active, _ := b.exec("systemctl", "is-active", e.Unit)
		if (e.State == "running") != (active == "active") {
			t.Errorf("ps says %s is %s, systemd says its unit %s is %s", name, e.State, e.Unit, active)
		}
	}
	// The transient container starts again under its old name.
	b.must("ctr-unit", "start", "tr")
	b.must("ctr-unit", "rm", "-f", "tr", "idle", "my-web")
}

// registryImage runs a registry in the box from a unit in its persisted
// /etc (so it runs again after the reboot, before network-online.target,
// which pull units wait for), pushes an image made from the rootfs to it,
// removes the local copy and defines reg-filed.container, enabled, from
// the registry's image. It returns the image's name.
func (b *box) registryImage() string {
	addr := "127.0.0.1:5111"
	b.write("registry/config.yml", fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(b.persist, "registry", "data"), addr), 0o644)
	b.write("etc-systemd-system/test-registry.service", fmt.Sprintf("[Unit]\nBefore=network-online.target\n[Service]\nExecStart=/usr/bin/docker-registry serve %s\n[Install]\nWantedBy=network-online.target\n", filepath.Join(b.persist, "registry", "config.yml")), 0o644)
	conf := filepath.Join(b.persist, "registries.conf")
	b.write("registries.conf", fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", addr), 0o644)
	policy := filepath.Join(b.persist, "policy.json")
	b.write("policy.json", `{"default": [{"type": "insecureAcceptAnything"}]}`, 0o644)
	b.must("systemctl", "enable", "--now", "test-registry.service")
	b.must("tar", "-C", b.rootfs, "-cf", filepath.Join(b.persist, "rootfs.tar"), ".")
	b.must("ctr-unit", "import", filepath.Join(b.persist, "rootfs.tar"), "rb:1")
	ref := addr + "/test/rb:1"
	var err error
	for try := 0; try < 20; try++ { // the registry may still be starting
		if _, err = b.exec("ctr-unit", "push", "--tls-verify=false", "--signature-policy", policy, "rb:1", ref); err == nil {
			break
		}
		b.exec("sleep", "0.5")
	}
	if err != nil {
		b.t.Fatalf("push to the box's registry: %v", err)
	}
	b.must("ctr-unit", "rmi", "rb:1")
	b.write("etc-ctr-unit/reg-filed.container", fmt.Sprintf("[Container]\nImage=%s\nExec=sh -c '%s'\n\n[Service]\nEnvironment=CONTAINERS_REGISTRIES_CONF=%s CONTAINERS_POLICY_JSON=%s\n\n[Install]\nWantedBy=multi-user.target\n", ref, termable, conf, policy), 0o644)
	return ref
}
