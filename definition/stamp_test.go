package definition

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
)

// FindOne answers for one name what Find answers for all: earlier
// directories hide later ones, /dev/null masks, directories are skipped.
func TestFindOneAgreesWithFind(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, name string) {
		if err := os.WriteFile(filepath.Join(dir, name+Suffix), []byte("[Container]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "first")
	write(b, "first")
	write(b, "second")
	write(b, "masked")
	if err := os.Symlink(os.DevNull, filepath.Join(a, "masked"+Suffix)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(a, "dir"+Suffix), 0o755); err != nil {
		t.Fatal(err)
	}
	write(b, "dir")
	dirs := []string{a, filepath.Join(a, "missing"), b}
	all, err := Find(dirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"first", "second", "masked", "dir", "none", ""} {
		path, ok, err := FindOne(dirs, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, wantOK := all[name]
		if path != want || ok != wantOK {
			t.Errorf("FindOne(%q) = %q %v, Find says %q %v", name, path, ok, want, wantOK)
		}
	}
}

// A record is fresh while its file and drop-ins are as they were read, by
// the same binary; any write to them, or another binary, makes it stale.
func TestFreshFollowsTheFileAndTheBinary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "web"+Suffix)
	bin := filepath.Join(dir, "ctr-unit")
	for _, p := range []string{path, bin} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &container.Config{Name: "web", Source: path, SourceStamp: Stamp(path, []string{dir}, nil, BinaryStamp(bin))}
	if !Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Fatal("record made from the file as it is is not fresh")
	}
	if Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(filepath.Join(dir, "other")))) {
		t.Error("record is fresh for another binary")
	}
	if Fresh(rec, filepath.Join(dir, "other"+Suffix), Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Error("record is fresh for a file it was not made from")
	}
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Error("record is fresh after the file changed")
	}
	if Fresh(rec, path, "") {
		t.Error("record is fresh for a file that cannot be read")
	}
	// Its drop-ins are part of it: added, changed, removed.
	rec.SourceStamp = Stamp(path, []string{dir}, nil, BinaryStamp(bin))
	drop := filepath.Join(dir, "web"+Suffix+".d", "10-env.conf")
	if err := os.MkdirAll(filepath.Dir(drop), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(drop, []byte("[Container]\nEnvironment=A=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Error("record is fresh after a drop-in was added")
	}
	rec.SourceStamp = Stamp(path, []string{dir}, nil, BinaryStamp(bin))
	if !Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Error("record made with the drop-in is not fresh")
	}
	if err := os.Chtimes(drop, later, later); err != nil {
		t.Fatal(err)
	}
	if Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Error("record is fresh after its drop-in changed")
	}
	rec.SourceStamp = Stamp(path, []string{dir}, nil, BinaryStamp(bin))
	if err := os.Remove(drop); err != nil {
		t.Fatal(err)
	}
	if Fresh(rec, path, Stamp(path, []string{dir}, nil, BinaryStamp(bin))) {
		t.Error("record is fresh after its drop-in was removed")
	}
	if !Fresh(&container.Config{Name: "web"}, path, "") {
		t.Error("create's record is not the container's")
	}
}

func TestDirsFromEnv(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := DirsFromEnv(getenv); !slices.Equal(got, DefaultDirs()) {
		t.Errorf("without CTR_UNIT_DEFINITION_DIRS: %v, want the defaults", got)
	}
	env["CTR_UNIT_DEFINITION_DIRS"] = "/a:/b"
	if got := DirsFromEnv(getenv); !slices.Equal(got, []string{"/a", "/b"}) {
		t.Errorf("CTR_UNIT_DEFINITION_DIRS=/a:/b: %v", got)
	}
}
