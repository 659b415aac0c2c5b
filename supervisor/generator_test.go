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
