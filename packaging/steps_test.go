package packaging

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/unitstep"
)

// The package's own unit and scripts call ctr-unit's steps by name: the
// names must be steps of unitstep.Table, with the arguments they take.
func TestPackagedStepCallsAreSteps(t *testing.T) {
	call := regexp.MustCompile(`/usr/bin/ctr-unit (internal [^>\n]*)`)
	found := 0
	for _, file := range []string{"ctr-unit-restart.service", "debian/postinst"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(data), -1) {
			found++
			if _, err := unitstep.Parse(strings.Fields(m[1]), unitstep.DefaultGlobals()); err != nil {
				t.Errorf("%s: %q: %v", file, m[1], err)
			}
		}
	}
	if found < 2 {
		t.Errorf("found %d step calls, want the boot service's and postinst's", found)
	}
}
