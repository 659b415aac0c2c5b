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

// Stamp identifies the definition file at path as it is now, and the
// ctr-unit binary reading it (binary is BinaryStamp's): a record with the
// same stamp was made from this very file by this very ctr-unit (an
// upgrade may read a file differently). The file's change time moves with
// every write, rename and change of owner, so an edit never goes unseen.
// "" if path cannot be read.
func Stamp(path, binary string) string {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d.%d/%s", st.Dev, st.Ino, st.Size, st.Mtim.Nano(), st.Ctim.Nano(), binary)
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
