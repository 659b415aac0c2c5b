package definition

import (
	"bytes"
	"testing"
)

// FuzzParse: any text is read without a panic, every problem names the
// file, every value reads in every mode without a panic, and the keys
// reach the settings' parsers (File.Options) and the unit's sections
// without one either.
func FuzzParse(f *testing.F) {
	for _, c := range systemdCases() {
		f.Add([]byte(c.unit))
	}
	f.Add([]byte("[Container]\nExec=a\\\n# c \\\n b \"c\\x41\" %n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("/d/web.container", bytes.NewReader(data))
		if ps, ok := err.(Problems); ok {
			for _, p := range ps {
				if p.File != "/d/web.container" {
					t.Fatalf("problem without the file: %v", p)
				}
			}
		}
		sp := &Specifiers{Unit: "ctr@web.service"}
		for _, e := range file.Settings {
			for _, m := range []Mode{Raw, Unquoted, Words, Args} {
				e.Values(m, sp)
			}
		}
		file.Options()
		file.UnitSettings(func(string) bool { return true })
		file.InstallSettings(func(string) bool { return false })
	})
}
