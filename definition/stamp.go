package definition

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/container"
)

// DirsFromEnv are the definition directories CTR_UNIT_DEFINITION_DIRS
// names (colon-separated), DefaultDirs if it names none.
func DirsFromEnv(getenv func(string) string) []string {
	if v := getenv("CTR_UNIT_DEFINITION_DIRS"); v != "" {
		return strings.Split(v, ":")
	}
	return DefaultDirs()
}

// FindOne is Find for one name: the file that defines container name,
// ok false if none does (or one is masked). It reads one directory entry
// per directory rather than listing them, for a unit's start step.
func FindOne(dirs []string, name string) (path string, ok bool, err error) {
	if name == "" {
		return "", false, nil
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name+Suffix)
		info, err := os.Lstat(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("find definition of %s: %w", name, err)
		}
		if info.IsDir() {
			continue
		}
		if info.Mode()&(fs.ModeSymlink|fs.ModeCharDevice) != 0 && isDevNull(p) {
			return "", false, nil
		}
		return p, true, nil
	}
	return "", false, nil
}

// DropInDirs are where the drop-ins of the definition at path are, given
// the definition directories dirs: those, or, for a file elsewhere
// (validate of a file not installed yet), its own directory.
func DropInDirs(path string, dirs []string) []string {
	if inDirs(path, dirs) {
		return dirs
	}
	return []string{filepath.Dir(path)}
}

func inDirs(path string, dirs []string) bool {
	dir := filepath.Dir(path)
	for _, d := range dirs {
		if filepath.Clean(d) == dir {
			return true
		}
	}
	return false
}

// Stamp identifies the definition file at path and its drop-ins (in
// DropInDirs of dirs) as they are now, and the ctr-unit binary reading
// them (binary is BinaryStamp's): a record with the same stamp was made
// from these very files by this very ctr-unit (an upgrade may read a file
// differently). A file's change time moves with every write, rename and
// change of owner, and a drop-in added or removed changes the list, so an
// edit never goes unseen. "" if a file cannot be read. present, if not
// nil, is DropInDirsIn(dirs), read once for many files.
func Stamp(path string, dirs []string, present map[string]bool, binary string) string {
	var b strings.Builder
	if !statStamp(&b, path) {
		return ""
	}
	if !inDirs(path, dirs) {
		present = nil
	}
	drops, err := DropInsIn(strings.TrimSuffix(filepath.Base(path), Suffix), DropInDirs(path, dirs), present)
	if err != nil {
		return ""
	}
	for _, d := range drops {
		b.WriteByte('+')
		if !statStamp(&b, d) {
			return ""
		}
	}
	b.WriteByte('/')
	b.WriteString(binary)
	return b.String()
}

// statStamp writes what identifies the file at path as it is now.
func statStamp(b *strings.Builder, path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return false
	}
	fmt.Fprintf(b, "%d.%d.%d.%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Nano(), st.Ctim.Nano())
	return true
}

// BinaryStamp is the part of Stamp that identifies the ctr-unit binary at
// path ("-" if it cannot be read).
func BinaryStamp(path string) string {
	var bin unix.Stat_t
	if path == "" || unix.Stat(path, &bin) != nil {
		return "-"
	}
	return fmt.Sprintf("%d.%d.%d.%d", bin.Dev, bin.Ino, bin.Size, bin.Mtim.Nano())
}

// Fresh reports whether rec, the record of the container the file at path
// defines, is what reading that file now would give: it was made from
// the file as stamp (Stamp's) identifies it, or by create (a record
// create made is the container's, whatever a file says).
func Fresh(rec *container.Config, path, stamp string) bool {
	return rec.Source == "" || stamp != "" && rec.Source == path && rec.SourceStamp == stamp
}
