package definition

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dropIn is one drop-in file of the layout below: in search directory
// dir (0 comes first), in the unit's own drop-in directory (full), the
// one of its name cut after the dash (prefix) or the one for every unit
// of the type (kind); it sets text in the unit's list setting, or is
// /dev/null.
type dropIn struct {
	dir        int
	sub        string // full, prefix, kind
	name, text string
}

// dropInLayout is a unit foo-bar with drop-ins that pull every way, and
// what systemd 252 made of it: the list setting after main's value (M=main)
// and the drop-ins, and the drop-ins it used, in order. The verdict was
// read from systemd as foo-bar.service, with the drop-ins in
// /etc/systemd/system (dir 0) and /run/systemd/system (dir 1), service.d
// for kind (TestSystemdAgreesOnDropIns reads it again).
type dropInCase struct {
	files []dropIn
	want  []string
	used  []int // indexes of files, in order
}

func dropInLayout() dropInCase {
	return dropInCase{
		files: []dropIn{
			0:  {1, "full", "05-x.conf", "O=1"},
			1:  {0, "kind", "07-y.conf", "O=2"},
			2:  {0, "kind", "08-reset.conf", "\nX=R=1"}, // an empty assignment, then R=1
			3:  {0, "kind", "10-a.conf", "T=etc-kind"},
			4:  {1, "full", "10-a.conf", "T=run-full"}, // the unit's own beat the type's
			5:  {0, "prefix", "20-b.conf", "U=etc-prefix"},
			6:  {1, "full", "20-b.conf", "U=run-full"}, // an earlier directory beats a closer name
			7:  {1, "prefix", "30-c.conf", "V=run-prefix"},
			8:  {0, "full", "30-c.conf", "V=etc-full"},
			9:  {0, "prefix", "40-d.conf", "W=etc-prefix"}, // the prefix's beat the type's
			10: {0, "kind", "40-d.conf", "W=etc-kind"},
			11: {0, "full", "50-masked.conf", ""}, // /dev/null hides the name
			12: {1, "prefix", "50-masked.conf", "MASKED=yes"},
		},
		want: []string{"R=1", "T=run-full", "U=etc-prefix", "V=etc-full", "W=etc-prefix"},
		used: []int{0, 1, 2, 4, 5, 8, 9},
	}
}

// where is the directory a drop-in of the layout goes in, for a unit
// foo-bar of the given type (container or service).
func (d dropIn) where(dirs []string, kind string) string {
	switch d.sub {
	case "full":
		return filepath.Join(dirs[d.dir], "foo-bar."+kind+".d")
	case "prefix":
		return filepath.Join(dirs[d.dir], "foo-."+kind+".d")
	}
	return filepath.Join(dirs[d.dir], kind+".d")
}

// content is the drop-in's text: its lines set key in section.
func (d dropIn) content(section, key string) string {
	var b strings.Builder
	b.WriteString("[" + section + "]\n")
	for _, v := range strings.Split(d.text, "\nX=") {
		b.WriteString(key + "=" + v + "\n")
	}
	return b.String()
}

// writeDropIns makes the layout for a unit foo-bar of the given type.
func writeDropIns(t *testing.T, dirs []string, kind, section, key string) {
	t.Helper()
	for _, d := range dropInLayout().files {
		dir := d.where(dirs, kind)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, d.name)
		var err error
		if d.text == "" {
			err = os.Symlink(os.DevNull, p)
		} else {
			err = os.WriteFile(p, []byte(d.content(section, key)), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDropInsApplyAsSystemdApplies(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	main := filepath.Join(dirs[1], "foo-bar.container")
	os.WriteFile(main, []byte("[Container]\nImage=x\nEnvironment=M=main\n"), 0o644)
	writeDropIns(t, dirs, "container", "Container", "Environment")
	// Not drop-ins: another suffix, a hidden file, a directory, the
	// drop-ins of another name.
	os.WriteFile(filepath.Join(dirs[0], "foo-bar.container.d", "99.conf.orig"), []byte("[Container]\nEnvironment=NO=1\n"), 0o644)
	os.WriteFile(filepath.Join(dirs[0], "foo-bar.container.d", ".99.conf"), []byte("[Container]\nEnvironment=NO=2\n"), 0o644)
	os.Mkdir(filepath.Join(dirs[0], "container.d", "99-dir.conf"), 0o755)
	os.MkdirAll(filepath.Join(dirs[0], "foo-bar-baz.container.d"), 0o755)
	os.WriteFile(filepath.Join(dirs[0], "foo-bar-baz.container.d", "99.conf"), []byte("[Container]\nEnvironment=NO=3\n"), 0o644)

	paths, err := DropIns("foo-bar", dirs)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, i := range dropInLayout().used {
		d := dropInLayout().files[i]
		want = append(want, filepath.Join(d.where(dirs, "container"), d.name))
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("DropIns:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	// Read through the directories listed once, the same files.
	present, err := DropInDirsIn(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if listed, err := DropInsIn("foo-bar", dirs, present); err != nil || !reflect.DeepEqual(listed, want) {
		t.Errorf("DropInsIn:\n%s\nwant\n%s (%v)", strings.Join(listed, "\n"), strings.Join(want, "\n"), err)
	}

	f, err := Load(main, dirs)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, e := range f.List("Environment") {
		env = append(env, e.Value)
	}
	if !reflect.DeepEqual(env, dropInLayout().want) {
		t.Errorf("Environment = %q, want %q (systemd's)", env, dropInLayout().want)
	}
	// Each setting names the file it came from.
	if e := f.List("Environment")[0]; e.File != want[2] || e.Line != 3 {
		t.Errorf("R=1 comes from %s:%d, want %s:3", e.File, e.Line, want[2])
	}
}

func TestLoadReportsProblemsOfDropInsAtTheirLines(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "web.container")
	os.WriteFile(main, []byte("[Unit]\nDescription=web\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "web.container.d"), 0o755)
	drop := filepath.Join(dir, "web.container.d", "10-image.conf")
	os.WriteFile(drop, []byte("[Container]\nImage=x\nExec=echo \\.\nbad line\n"), 0o644)

	f, err := Load(main, []string{dir})
	if err == nil || !strings.Contains(err.Error(), drop+":4: ") {
		t.Fatalf("Load: %v; want the drop-in's line 4", err)
	}
	// [Container] may come from a drop-in only.
	if f.SectionFile != drop || f.SectionLine != 1 {
		t.Errorf("section at %s:%d", f.SectionFile, f.SectionLine)
	}
	exec, _ := f.Get("Exec")
	if _, err := exec.Values(Args, nil); err == nil || !strings.HasPrefix(err.Error(), drop+":3: Exec=") {
		t.Errorf("Exec= problem: %v", err)
	}

	os.WriteFile(drop, []byte("[Service]\nRestart=always\n"), 0o644)
	if _, err := Load(main, []string{dir}); err == nil || !strings.Contains(err.Error(), "no [Container] section") {
		t.Errorf("Load without [Container]: %v", err)
	}
}

func TestFindHidesMaskedNames(t *testing.T) {
	etc, usr := t.TempDir(), t.TempDir()
	os.Symlink(os.DevNull, filepath.Join(etc, "web.container"))
	os.WriteFile(filepath.Join(usr, "web.container"), []byte("[Container]\n"), 0o644)
	os.WriteFile(filepath.Join(usr, "db.container"), []byte("[Container]\n"), 0o644)
	found, err := Find([]string{etc, usr})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"db": filepath.Join(usr, "db.container")}; !reflect.DeepEqual(found, want) {
		t.Errorf("Find = %v, want %v", found, want)
	}
}
