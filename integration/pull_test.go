//go:build integration

package integration

import (
	"archive/tar"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

// imageInfo is what image inspect shows that these tests read.
type imageInfo struct {
	Id          string
	Names       []string
	Digest      string
	RepoTags    []string
	RepoDigests []string
}

func (e *env) imageInspect(ref string) imageInfo {
	e.t.Helper()
	var out []imageInfo
	if err := json.Unmarshal([]byte(e.must("image", "inspect", ref)), &out); err != nil || len(out) != 1 {
		e.t.Fatalf("image inspect %s: %v", ref, err)
	}
	return out[0]
}

func TestPullByTagAndDigestThenRun(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	ref := reg.Addr + "/test/app:1"
	e.pushTestImage(ref, "hello from the registry")

	id := strings.TrimSpace(e.must("pull", ref))
	img := e.imageInspect(ref)
	if img.Id != id || !slices.Equal(img.RepoTags, []string{ref}) || img.Digest == "" {
		t.Fatalf("pulled image: %+v, want ID %s named %s with a digest", img, id, ref)
	}
	byDigest := reg.Addr + "/test/app@" + img.Digest
	if !slices.Equal(img.RepoDigests, []string{byDigest}) {
		t.Errorf("RepoDigests %v, want [%s]", img.RepoDigests, byDigest)
	}
	if out := e.must("images", "--digests"); !strings.Contains(out, img.Digest) || !strings.Contains(out, reg.Addr+"/test/app") {
		t.Errorf("images --digests:\n%s", out)
	}
	if out := e.must("run", "--name", e.name("tag"), ref, "cat", "/app/hello.txt"); out != "hello from the registry\n" {
		t.Errorf("run by tag printed %q", out)
	}
	// The short name finds the pulled image.
	if out := e.must("run", "--name", e.name("short"), "test/app:1", "cat", "/app/hello.txt"); out != "hello from the registry\n" {
		t.Errorf("run by short name printed %q", out)
	}

	// By digest, into another store: the same image.
	e2 := newEnv(t)
	e2.environ = e.environ
	if id2 := strings.TrimSpace(e2.must("pull", byDigest)); id2 != id {
		t.Errorf("pull by digest gave %s, by tag %s", id2, id)
	}
	if out := e2.must("run", "--name", e2.name("digest"), byDigest, "cat", "/app/hello.txt"); out != "hello from the registry\n" {
		t.Errorf("run by digest printed %q", out)
	}
	if got := e2.imageInspect(byDigest); !slices.Contains(got.RepoDigests, byDigest) {
		t.Errorf("RepoDigests of the image pulled by digest: %v", got.RepoDigests)
	}
	// A digest the registry does not have.
	bad := reg.Addr + "/test/app@sha256:" + strings.Repeat("0", 64)
	if msg := e2.fails("pull", bad); !strings.Contains(msg, "no such image in the registry") {
		t.Errorf("pull of an unknown digest: %q", msg)
	}
}

func TestPullPolicies(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	ref := reg.Addr + "/test/app:1"
	e.pushTestImage(ref, "one")

	if msg := e.fails("pull", "--policy", "never", ref); !strings.Contains(msg, "no such image") || !strings.Contains(msg, "never") {
		t.Errorf("pull --policy never of a missing image: %q", msg)
	}
	first := strings.TrimSpace(e.must("pull", "--policy", "missing", ref))
	if got := strings.TrimSpace(e.must("pull", "--policy", "never", ref)); got != first {
		t.Errorf("--policy never gave %s, want the stored %s", got, first)
	}
	// A new image under the same tag: missing keeps the stored one,
	// newer and always fetch it.
	e.pushTestImage(ref, "two")
	if got := strings.TrimSpace(e.must("pull", "--policy", "missing", ref)); got != first {
		t.Errorf("--policy missing gave %s, want the stored %s", got, first)
	}
	second := strings.TrimSpace(e.must("pull", "--policy", "newer", ref))
	if second == first {
		t.Fatalf("--policy newer kept %s although the tag moved", first)
	}
	if got := strings.TrimSpace(e.must("pull", "--policy", "newer", ref)); got != second {
		t.Errorf("--policy newer of an unchanged tag gave %s, want %s", got, second)
	}
	if got := strings.TrimSpace(e.must("pull", ref)); got != second {
		t.Errorf("--policy always gave %s, want %s", got, second)
	}
	if msg := e.fails("pull", "--policy", "sometimes", ref); !strings.Contains(msg, "always, missing, newer or never") {
		t.Errorf("bad policy: %q", msg)
	}
}

func TestRegistriesConfShortNamesMirrorsAndPolicy(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	e.pushTestImage(reg.Addr+"/test/app:1", "short")

	// One search registry: a short name resolves there.
	// (Top-level keys come before the [[registry]] tables in TOML.)
	dir := e.hostConfig(fmt.Sprintf("unqualified-search-registries = [%q]\n", reg.Addr) + insecure(reg.Addr))
	e.must("pull", "test/app:1")
	e.must("rmi", "test/app:1")

	// Two: ambiguous, refused without a terminal, nothing pulled.
	other := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.hostConfig(fmt.Sprintf("unqualified-search-registries = [%q, %q]\n", reg.Addr, other) + insecure(reg.Addr))
	e.storedUnchangedImages("an ambiguous short name", func() {
		msg := e.fails("pull", "test/app:1")
		for _, want := range []string{"ambiguous short name", reg.Addr + "/test/app:1", other + "/test/app:1", "give the full name"} {
			if !strings.Contains(msg, want) {
				t.Errorf("ambiguous pull: %q lacks %q", msg, want)
			}
		}
	})
	// An alias settles it.
	e.hostConfig(fmt.Sprintf("unqualified-search-registries = [%q, %q]\n", reg.Addr, other) + insecure(reg.Addr) +
		fmt.Sprintf("[aliases]\n\"myapp\" = %q\n", reg.Addr+"/test/app"))
	e.must("pull", "myapp:1")

	// A mirror serves a registry that does not exist.
	e.hostConfig(insecure(reg.Addr) + fmt.Sprintf("[[registry]]\nlocation = \"mirrored.invalid/test\"\n[[registry.mirror]]\nlocation = %q\ninsecure = true\n", reg.Addr+"/test"))
	e.must("pull", "mirrored.invalid/test/app:1")
	if img := e.imageInspect("mirrored.invalid/test/app:1"); !slices.Contains(img.RepoTags, "mirrored.invalid/test/app:1") {
		t.Errorf("image pulled through the mirror is named %v", img.RepoTags)
	}

	// policy.json is obeyed.
	e.hostConfig(insecure(reg.Addr))
	writeFile(t, filepath.Join(dir, "reject.json"), `{"default": [{"type": "reject"}]}`)
	e.storedUnchangedImages("a rejecting policy", func() {
		if msg := e.fails("pull", "--signature-policy", filepath.Join(dir, "reject.json"), reg.Addr+"/test/app:1"); !strings.Contains(msg, "refused by the signature policy") {
			t.Errorf("pull against a rejecting policy: %q", msg)
		}
	})
}

// storedUnchangedImages runs refused and fails the test if the image store
// changed.
func (e *env) storedUnchangedImages(what string, refused func()) {
	e.t.Helper()
	before := e.storeState()
	refused()
	if after := e.storeState(); after != before {
		e.t.Errorf("%s changed the image store:\nbefore %s\nafter  %s", what, before, after)
	}
}

func TestFailedPullsLeaveTheStoreUnchanged(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	e.pushTestImage(reg.Addr+"/test/app:1", "kept")
	e.must("pull", reg.Addr+"/test/app:1")
	e.storedUnchangedImages("failed pulls", func() {
		if msg := e.fails("pull", reg.Addr+"/test/nosuch:1"); !strings.Contains(msg, "no such image in the registry") || !strings.Contains(msg, "nosuch") {
			t.Errorf("pull of an unknown image: %q", msg)
		}
		down := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		e.hostConfig(insecure(reg.Addr) + insecure(down))
		if msg := e.fails("pull", down+"/test/app:1"); !strings.Contains(msg, down) || !strings.Contains(msg, "connection refused") {
			t.Errorf("pull from an unreachable registry: %q", msg)
		}
		// A secure registry wanted for a plain-HTTP one.
		if msg := e.fails("pull", "--tls-verify=true", reg.Addr+"/test/app:2"); !strings.Contains(msg, reg.Addr) {
			t.Errorf("pull with TLS from a plain-HTTP registry: %q", msg)
		}
	})
	if left, _ := os.ReadDir(filepath.Join(e.stateDir, "storage", "ctr-unit-tmp")); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
}

func TestKilledPullLeavesTheStoreIntact(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	// busybox and four layers of incompressible data, so that the pull
	// takes a while.
	dir := t.TempDir()
	layers := []string{filepath.Join(dir, "busybox.tar")}
	if err := testarchive.BusyboxLayer(layers[0]); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("layer%d.tar", i))
		data := make([]byte, 16<<20)
		rand.Read(data)
		if err := testarchive.WriteLayer(p, func(tw *tar.Writer) error {
			return testarchive.File(tw, fmt.Sprintf("layer%d.bin", i), data, 0o644)
		}); err != nil {
			t.Fatal(err)
		}
		layers = append(layers, p)
	}
	archive := filepath.Join(dir, "big.tar")
	if err := testarchive.WriteOCI(archive, testarchive.Image{Name: "big:1", Config: v1.ImageConfig{Cmd: []string{"ls", "/"}, Env: []string{"PATH=/bin"}}, Layers: layers}); err != nil {
		t.Fatal(err)
	}
	e.must("image", "load", "-q", "-i", archive)
	ref := reg.Addr + "/test/big:1"
	e.must("push", "-q", "big:1", ref)
	e.must("rmi", "big:1")
	before := e.must("images", "--format", "json")

	// Killed once the first blobs are on disk, then once two layers are
	// stored and the others not yet.
	tmp := filepath.Join(e.stateDir, "storage", "ctr-unit-tmp")
	for _, when := range []struct {
		what string
		cond func() bool
	}{
		{"blobs being fetched", func() bool { return dirBytes(tmp) > 4<<20 }},
		{"two layers stored", func() bool { return storedLayers(t, e) >= 2 }},
	} {
		pull := e.cmd("pull", ref)
		if err := pull.Start(); err != nil {
			t.Fatal(err)
		}
		e.waitFor(when.what, 60*time.Second, when.cond)
		pull.Process.Kill()
		pull.Wait()
		t.Logf("killed with %s: %d layers stored", when.what, storedLayers(t, e))
		if after := e.must("images", "--format", "json"); after != before {
			t.Fatalf("a pull killed with %s changed the images:\nbefore %s\nafter  %s", when.what, before, after)
		}
	}
	id := strings.TrimSpace(e.must("pull", ref))
	if out := e.must("run", "--name", e.name("big"), id); !strings.Contains(out, "layer4") {
		t.Errorf("run of the image pulled after a killed pull printed %q", out)
	}
	e.must("image", "prune", "-f")
	store := openStore(t, e)
	ids, err := store.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// The image's five layers and the container's: nothing dangling.
	if len(ids) != 6 {
		t.Errorf("%d layers after prune, want 6: %v", len(ids), ids)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
}

// storedLayers counts the layers in the store's records, read without
// the store's locks, which a pull holds.
func storedLayers(t *testing.T, e *env) int {
	matches, _ := filepath.Glob(filepath.Join(e.stateDir, "storage", "*-layers", "layers.json"))
	n := 0
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var ls []json.RawMessage
		if json.Unmarshal(data, &ls) == nil {
			n += len(ls)
		}
	}
	return n
}

// dirBytes is the size of the files below dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Progress, as podman's: on a terminal a line per layer while pulling and
// pushing; off one, pull prints the image's ID alone and push nothing.
func TestProgressOnlyOnATerminal(t *testing.T) {
	reg := startRegistry(t, false)
	e := newEnv(t)
	e.hostConfig(insecure(reg.Addr))
	ref, pushed := reg.Addr+"/test/app:1", reg.Addr+"/test/again:1"
	e.pushTestImage(ref, "progress")

	// On a terminal (tmux's), then the result.
	codeFile := filepath.Join(t.TempDir(), "code")
	ctr := strings.Join(append(append([]string{"env"}, e.environ...), binary, "--state-dir", e.stateDir, "--runtime-dir", e.runtimeDir), " ")
	cmd := ctr + " pull " + ref + " && " + ctr + " push " + ref + " " + pushed + "; echo $? >" + codeFile + "; sleep 100"
	_, screen := tmuxSession(t, e, cmd)
	e.waitFor("the pull and the push to end", 60*time.Second, func() bool {
		b, _ := os.ReadFile(codeFile)
		return len(b) > 0
	})
	if b, _ := os.ReadFile(codeFile); strings.TrimSpace(string(b)) != "0" {
		t.Fatalf("pull and push on a terminal exited %s:\n%s", b, screen())
	}
	pane := screen()
	id := e.imageInspect(ref).Id
	// The store held nothing before the pull.
	ls, err := openStore(t, e).Layers()
	if err != nil {
		t.Fatal(err)
	}
	layers := len(ls)
	// The pull copies every layer, the push finds them all in the
	// registry already and says so: a line per layer each time.
	if n := strings.Count(pane, "Copying blob"); n != 2*layers {
		t.Errorf("%d \"Copying blob\" lines on the terminal, want %d (a line per layer, for the pull and the push):\n%s", n, 2*layers, pane)
	}
	if !strings.Contains(pane, id) {
		t.Errorf("the pulled image's ID %s is not on the terminal:\n%s", id, pane)
	}
	t.Logf("the terminal:\n%s", pane)

	// Not on a terminal: the result alone.
	e.must("rmi", ref)
	r := e.ctr("pull", ref)
	if r.code != 0 || r.stdout != id+"\n" || r.stderr != "" {
		t.Errorf("pull, piped: %s; want the ID %s alone", r, id)
	}
	if r := e.ctr("push", ref, pushed); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("push, piped: %s; want nothing", r)
	}
}
