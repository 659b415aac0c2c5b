package unitstep

import (
	"os"
	"path/filepath"
)

// The binaries ctr-unit is made of. ctr-unit's helpers are installed in
// PREFIX/libexec/ctr-unit beside PREFIX/bin/ctr-unit, or built into the
// same directory.
const (
	FullName  = "ctr-unit"
	LeanName  = "ctr-unit-step"
	ImageName = "ctr-unit-image"
)

// Helper finds the helper binary name of the ctr-unit at full; "" if it
// is not installed.
func Helper(full, name string) string {
	dir := filepath.Dir(full)
	return firstExecutable(filepath.Join(dir, "..", "libexec", "ctr-unit", name), filepath.Join(dir, name))
}

// FullOf finds the ctr-unit that the helper at helper belongs to (Helper's
// inverse); "" if there is none.
func FullOf(helper string) string {
	dir := filepath.Dir(helper)
	return firstExecutable(filepath.Join(dir, "..", "..", "bin", FullName), filepath.Join(dir, FullName))
}

func firstExecutable(paths ...string) string {
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return filepath.Clean(p)
		}
	}
	return ""
}
