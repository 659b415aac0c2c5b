package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/buildtags"
)

// Every container start runs ctr-unit; containers/image's package
// initializers would double what starting it costs, so only
// ctr-unit-image links the library (and mpb, its progress bars). The man
// pages' generator and its Markdown and YAML libraries are linked only
// into the ctrunit_docs build that packaging runs.
func TestCLIDoesNotLinkContainersImage(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", buildtags.Tags(), "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range []string{"go.podman.io/image", "github.com/vbauerster/mpb", "github.com/ctr-unit/ctr-unit/transfer",
			"github.com/spf13/cobra/doc", "github.com/russross/blackfriday", "go.yaml.in/yaml"} {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("ctr-unit links %s", pkg)
			}
		}
	}
}

// The packaging build (make install, hack/mkdeb) writes a man page per
// command and the shell completions.
func TestDocsBuildWritesManPagesAndCompletions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ctr-unit")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ctr-unit-docs")
	if out, err := exec.Command("go", "build", "-tags", buildtags.Tags()+",ctrunit_docs", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags ctrunit_docs: %v\n%s", err, out)
	}
	docs := filepath.Join(dir, "docs")
	if out, err := exec.Command(bin, "generate-docs", docs).CombinedOutput(); err != nil {
		t.Fatalf("generate-docs: %v\n%s", err, out)
	}
	for _, f := range []string{"man1/ctr-unit.1", "man1/ctr-unit-run.1", "man1/ctr-unit-ps.1", "bash/ctr-unit", "zsh/_ctr-unit", "fish/ctr-unit.fish"} {
		if st, err := os.Stat(filepath.Join(docs, f)); err != nil || st.Size() == 0 {
			t.Errorf("generate-docs wrote no %s: %v", f, err)
		}
	}
}
