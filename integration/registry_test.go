//go:build integration

package integration

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
	"github.com/ctr-unit/ctr-unit/testregistry"
)

// startRegistry starts a registry (see testregistry) in the test's temp
// dir, plain HTTP or TLS with a login; it stops at the test's end.
func startRegistry(t *testing.T, secure bool) *testregistry.Registry {
	t.Helper()
	r, err := testregistry.Start(t.TempDir(), secure)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := testregistry.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// hostConfig points the test's ctr-unit commands at configuration files
// of its own, by the variables containers/image and podman honour:
// registries.conf (registriesConf's text), a policy.json accepting
// anything, and a credentials file. It returns the directory they are in.
func (e *env) hostConfig(registriesConf string) string {
	e.t.Helper()
	dir := e.t.TempDir()
	writeFile(e.t, filepath.Join(dir, "registries.conf"), registriesConf)
	writeFile(e.t, filepath.Join(dir, "policy.json"), `{"default": [{"type": "insecureAcceptAnything"}]}`)
	// podman refuses a REGISTRY_AUTH_FILE that does not exist, as
	// ctr-unit does.
	writeFile(e.t, filepath.Join(dir, "auth.json"), `{"auths": {}}`)
	e.environ = []string{
		"CONTAINERS_REGISTRIES_CONF=" + filepath.Join(dir, "registries.conf"),
		"CONTAINERS_POLICY_JSON=" + filepath.Join(dir, "policy.json"),
		"REGISTRY_AUTH_FILE=" + filepath.Join(dir, "auth.json"),
	}
	return dir
}

// insecure is a registries.conf entry for a plain-HTTP registry.
func insecure(addr string) string {
	return fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", addr)
}

// pushTestImage loads a busybox image with an app layer saying greeting
// (made by the test) and pushes it to dest; the local copy is removed.
// extra args go to push (--cert-dir...).
func (e *env) pushTestImage(dest, greeting string, extra ...string) {
	e.t.Helper()
	archive := testImage(e.t, "oci", "pushme:1", appConfig, func(tw *tar.Writer) error {
		if err := testarchive.Dir(tw, "app", 0o755); err != nil {
			return err
		}
		return testarchive.File(tw, "app/hello.txt", []byte(greeting+"\n"), 0o644)
	})
	e.must("image", "load", "-q", "-i", archive)
	e.must(append(append([]string{"push", "-q"}, extra...), "pushme:1", dest)...)
	e.must("rmi", "pushme:1")
}

// storeState is what the image store holds, for before/after checks.
func (e *env) storeState() string {
	e.t.Helper()
	s := e.must("images", "--format", "json")
	store := openStore(e.t, e)
	ls, err := store.Layers()
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%s layers %v", s, ls)
}
