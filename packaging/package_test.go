// Package packaging holds what installs ctr-unit on a machine: the unit
// template, the boot service, tmpfiles and the Debian package (hack/mkdeb).
// Its test builds the package and checks that what it installs works.
package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianPackageInstallsAWorkingLayout builds the .deb, unpacks it
// into a scratch root (nothing touches the machine) and checks what
// systemd and dpkg will find there.
func TestDebianPackageInstallsAWorkingLayout(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "systemd-tmpfiles"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	out := t.TempDir()
	build := exec.Command("../hack/mkdeb", out)
	build.Stderr = os.Stderr
	deb, err := build.Output()
	if err != nil {
		t.Fatalf("hack/mkdeb: %v", err)
	}
	pkg := strings.TrimSpace(string(deb))

	info, err := exec.Command("dpkg-deb", "--field", pkg, "Package", "Depends", "Recommends").Output()
	if err != nil {
		t.Fatal(err)
	}
	// Recommended: networks other than the host's, --init and top.
	for _, want := range []string{"Package: ctr-unit", "runc", "systemd", "dbus", "netavark", "aardvark-dns", "catatonit", "procps"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("control fields %q lack %q", info, want)
		}
	}

	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", pkg, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v: %s", err, out)
	}
	for path, mode := range map[string]os.FileMode{
		"usr/bin/ctr-unit":                                  0o755,
		"usr/libexec/ctr-unit/ctr-unit-step":                0o755,
		"usr/libexec/ctr-unit/ctr-unit-image":               0o755,
		"usr/share/man/man1/ctr-unit.1.gz":                  0o644,
		"usr/share/man/man1/ctr-unit-exec.1.gz":             0o644,
		"usr/share/bash-completion/completions/ctr-unit":    0o644,
		"usr/share/zsh/vendor-completions/_ctr-unit":        0o644,
		"usr/share/fish/vendor_completions.d/ctr-unit.fish": 0o644,
		"lib/systemd/system/ctr@.service":                   0o644,
		"lib/systemd/system/ctr-unit-restart.service":       0o644,
		"lib/systemd/system/ctr-unit-auto-update.service":   0o644,
		"lib/systemd/system/ctr-unit-auto-update.timer":     0o644,
		"usr/lib/tmpfiles.d/ctr-unit.conf":                  0o644,
	} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("package lacks %s: %v", path, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	if dest, err := os.Readlink(filepath.Join(root, "lib/systemd/system-generators/ctr-unit-generator")); err != nil || dest != "/usr/bin/ctr-unit" {
		t.Errorf("generator link points at %q (%v), want /usr/bin/ctr-unit", dest, err)
	}
	// systemd's search path would find a ctr-unit in /usr/local first.
	if unit, _ := os.ReadFile(filepath.Join(root, "lib/systemd/system/ctr-unit-restart.service")); !strings.Contains(string(unit), "ExecStart=/usr/bin/ctr-unit ") {
		t.Errorf("ctr-unit-restart.service does not run /usr/bin/ctr-unit:\n%s", unit)
	}

	// The generator is the binary under another name: run it so, over a
	// definition file, as systemd would at boot.
	defs := t.TempDir()
	if err := os.WriteFile(filepath.Join(defs, "web.container"), []byte("[Container]\nRootfs=/srv/web\nExec=/bin/httpd -f\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(t.TempDir(), "ctr-unit-generator")
	if err := os.Symlink(filepath.Join(root, "usr/bin/ctr-unit"), gen); err != nil {
		t.Fatal(err)
	}
	units := t.TempDir()
	state := filepath.Join(t.TempDir(), "state")
	run := exec.Command(gen, units, units, units)
	run.Env = append(os.Environ(), "CTR_UNIT_DEFINITION_DIRS="+defs, "CTR_UNIT_STATE_DIR="+state, "CTR_UNIT_RUNTIME_DIR="+filepath.Join(t.TempDir(), "run"))
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v: %s", err, out)
	}
	// It runs at early boot, before /var may be mounted.
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the generator made the state directory %s (%v)", state, err)
	}
	dropIn, err := os.ReadFile(filepath.Join(units, "ctr@web.service.d", "50-ctr-unit.conf"))
	if err != nil {
		t.Fatalf("the generator wrote no drop-in for web.container: %v", err)
	}
	// ctr-unit finds the package's lean binary for the steps.
	step := filepath.Join(root, "usr/libexec/ctr-unit/ctr-unit-step")
	for _, want := range []string{"ExecStopPost=" + step + " ", " prepare-start web\n"} {
		if !strings.Contains(string(dropIn), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, dropIn)
		}
	}

	// tmpfiles creates ctr-unit's directories (here below the scratch root).
	conf := filepath.Join(root, "usr/lib/tmpfiles.d/ctr-unit.conf")
	if out, err := exec.Command("systemd-tmpfiles", "--create", "--root="+root, conf).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v: %s", err, out)
	}
	for _, dir := range []string{"run/ctr-unit", "var/lib/ctr-unit"} {
		fi, err := os.Stat(filepath.Join(root, dir))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("tmpfiles made %s as %v (%v), want a 0700 directory", dir, fi, err)
		}
	}
}
