package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/buildtags"
)

// Every container start runs ctr-unit; containers/image's package
// initializers would double what starting it costs, so only
// ctr-unit-image links the library (and mpb, its progress bars).
func TestCLIDoesNotLinkContainersImage(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", buildtags.Tags(), "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range []string{"go.podman.io/image", "github.com/vbauerster/mpb", "github.com/ctr-unit/ctr-unit/transfer"} {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("ctr-unit links %s", pkg)
			}
		}
	}
}
