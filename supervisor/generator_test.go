package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
)

// The generator writes, for each definition, the drop-in and [Install]
// symlinks that generate unit prints; [Unit] dependencies on X.container
// name X's unit; a bad file is skipped and logged, the others written.
func TestGeneratorWritesWhatGenerateUnitPrints(t *testing.T) {
	sv, _ := testSupervisor(t, cgroupmgr.Unified)
	defDir := sv.defDirs[0]
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(defDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("my-db.container", "[Container]\nRootfs="+root+"\nExec=sleep 1\n")
	write("my-web.container", "[Unit]\nRequires=my-db.container\nAfter=my-db.container\n[Container]\nRootfs="+root+"\nExec=sleep 1\n[Install]\nWantedBy=multi-user.target\nAlias=web@my-web.service\n")
	write("bad.container", "[Container]\nRootfs="+root+"\nExec=sleep 1\n[Unit]\nWants=nope.container\n")

	dir := t.TempDir()
	var logged []string
	if err := sv.Generate(dir, func(f string, a ...any) { logged = append(logged, f) }); err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 {
		t.Errorf("logged %q, want the bad file only", logged)
	}
	dropIn, err := os.ReadFile(filepath.Join(dir, "ctr@my-web.service.d", "50-ctr-unit.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Requires=ctr@my-db.service\n", "After=ctr@my-db.service\n", "start my-web\n"} {
		if !strings.Contains(string(dropIn), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, dropIn)
		}
	}
	for _, link := range []string{"multi-user.target.wants/ctr@my-web.service", "web@my-web.service"} {
		if target, err := os.Readlink(filepath.Join(dir, link)); err != nil || !strings.HasSuffix(target, "/ctr@.service") {
			t.Errorf("%s: %q, %v; want a link to the template", link, target, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ctr@bad.service.d")); !os.IsNotExist(err) {
		t.Errorf("the bad file got a drop-in: %v", err)
	}

	for _, def := range []string{"my-web", filepath.Join(defDir, "my-web.container")} {
		out, err := sv.GenerateDefinition(def)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"# /run/systemd/generator/ctr@my-web.service.d/50-ctr-unit.conf\n" + string(dropIn),
			"# /run/systemd/generator/multi-user.target.wants/ctr@my-web.service -> ",
			"# /run/systemd/generator/web@my-web.service -> ",
		} {
			if !strings.Contains(string(out), want) {
				t.Errorf("generate unit %s lacks %q:\n%s", def, want, out)
			}
		}
	}
	if _, err := sv.GenerateDefinition("bad"); err == nil || !strings.Contains(err.Error(), "bad.container:5: Wants=nope.container: no container nope is defined") {
		t.Errorf("generate unit of the bad file: %v", err)
	}
	if _, err := sv.GenerateDefinition("ghost"); err == nil {
		t.Error("generate unit of no definition succeeded")
	}
}

// A definition's registry image gets a pull unit of its own, which the
// container's unit requires and follows; Pull=never has none, and a
// rootfs container never.
func TestGeneratorWritesPullUnits(t *testing.T) {
	sv, _ := testSupervisor(t, cgroupmgr.Unified)
	defDir := sv.defDirs[0]
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(defDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web.container", "[Container]\nImage=registry.example/app:1\nPull=newer\nAuthFile=/etc/ctr-unit/auth.json\n[Service]\nEnvironment=HTTPS_PROXY=http://proxy:3128\n")
	write("local.container", "[Container]\nImage=registry.example/app:1\nPull=never\n")
	write("dir.container", "[Container]\nRootfs="+t.TempDir()+"\nExec=sleep 1\n")
	dir := t.TempDir()
	if err := sv.Generate(dir, func(f string, a ...any) { t.Errorf(f, a...) }); err != nil {
		t.Fatal(err)
	}
	pull, err := os.ReadFile(filepath.Join(dir, "ctr-pull@web.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Wants=network-online.target\n", "After=network-online.target\n", "Type=oneshot\n",
		"TimeoutStartSec=3600s\n", " internal pull-image web\n", "Environment=HTTPS_PROXY=http://proxy:3128\n"} {
		if !strings.Contains(string(pull), want) {
			t.Errorf("pull unit lacks %q:\n%s", want, pull)
		}
	}
	dropIn, err := os.ReadFile(filepath.Join(dir, "ctr@web.service.d", "50-ctr-unit.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Requires=ctr-pull@web.service\n", "After=ctr-pull@web.service\n"} {
		if !strings.Contains(string(dropIn), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, dropIn)
		}
	}
	for _, name := range []string{"local", "dir"} {
		if _, err := os.Stat(filepath.Join(dir, "ctr-pull@"+name+".service")); !os.IsNotExist(err) {
			t.Errorf("%s got a pull unit: %v", name, err)
		}
		if d, _ := os.ReadFile(filepath.Join(dir, "ctr@"+name+".service.d", "50-ctr-unit.conf")); strings.Contains(string(d), "ctr-pull@") {
			t.Errorf("%s's unit requires a pull unit:\n%s", name, d)
		}
	}
	cfg, err := sv.Definition("web")
	if err != nil || cfg.Pull != "newer" || cfg.AuthFile != "/etc/ctr-unit/auth.json" || cfg.Image != "registry.example/app:1" {
		t.Errorf("Definition(web) = %+v, %v", cfg, err)
	}
}
