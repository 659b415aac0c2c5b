//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoginLogoutWithTLSAndPasswords(t *testing.T) {
	reg := startRegistry(t, true)
	e := newEnv(t)
	dir := e.hostConfig("")
	auth := filepath.Join(dir, "auth.json")
	ref := reg.Addr + "/test/app:1"
	certs := "--cert-dir=" + reg.CertDir

	// Without the test's CA the certificate is refused.
	if msg := e.fails("login", "-u", reg.User, "-p", reg.Pass, reg.Addr); !strings.Contains(msg, "certificate") {
		t.Errorf("login without the CA: %q", msg)
	}
	// Anonymous pushes and pulls are refused.
	if msg := e.fails("pull", certs, ref); !strings.Contains(msg, "the registry requires a login") {
		t.Errorf("anonymous pull: %q", msg)
	}
	// A wrong password: a clear error, nothing stored.
	before, _ := os.ReadFile(auth)
	r := e.ctr("login", certs, "-u", reg.User, "-p", "wrong", reg.Addr)
	if r.code != 125 || !strings.Contains(r.stderr, "the registry refused the credentials") || !strings.Contains(r.stderr, "nothing was stored") {
		t.Errorf("login with a wrong password: %s", r)
	}
	if after, _ := os.ReadFile(auth); string(after) != string(before) {
		t.Errorf("a refused login changed %s: %s", auth, after)
	}
	// --creds with a wrong password is refused the same way.
	if msg := e.fails("pull", certs, "--creds", reg.User+":wrong", ref); !strings.Contains(msg, "the registry refused the credentials") {
		t.Errorf("pull with wrong --creds: %q", msg)
	}

	// The password on stdin, as scripts give it.
	login := e.cmd("login", certs, "-u", reg.User, "--password-stdin", reg.Addr)
	login.Stdin = strings.NewReader(reg.Pass + "\n")
	if out, err := login.CombinedOutput(); err != nil || !strings.Contains(string(out), "Login Succeeded!") {
		t.Fatalf("login: %v: %s", err, out)
	}
	if data, _ := os.ReadFile(auth); !strings.Contains(string(data), reg.Addr) {
		t.Errorf("%s after login: %s", auth, data)
	}
	if u := strings.TrimSpace(e.must("login", "--get-login", reg.Addr)); u != reg.User {
		t.Errorf("--get-login: %q", u)
	}
	e.pushTestImage(ref, "behind a password", certs)
	id := strings.TrimSpace(e.must("pull", certs, ref))
	if out := e.must("run", "--name", e.name("auth"), id, "cat", "/app/hello.txt"); out != "behind a password\n" {
		t.Errorf("run of the pulled image printed %q", out)
	}

	if out := e.must("logout", reg.Addr); !strings.Contains(out, "Removed login credentials for "+reg.Addr) {
		t.Errorf("logout printed %q", out)
	}
	if msg := e.fails("logout", reg.Addr); !strings.Contains(msg, "not logged in") {
		t.Errorf("second logout: %q", msg)
	}
	if msg := e.fails("pull", certs, ref); !strings.Contains(msg, "the registry requires a login") {
		t.Errorf("pull after logout: %q", msg)
	}
	// --creds alone is enough.
	e.must("pull", certs, "--creds", reg.User+":"+reg.Pass, ref)
}

// podman login and ctr-unit login share their credentials: the same file,
// where podman keeps it for root (/run/containers/0/auth.json without
// XDG_RUNTIME_DIR; the box's /run is its own).
func TestLoginsAreSharedWithPodman(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is not installed (make deps installs it): %v", err)
	}
	reg := startRegistry(t, true)
	e := newEnv(t)
	e.hostConfig("")
	// The default place: neither REGISTRY_AUTH_FILE nor XDG_RUNTIME_DIR.
	var env []string
	for _, kv := range append(os.Environ(), e.environ...) {
		if !strings.HasPrefix(kv, "REGISTRY_AUTH_FILE=") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			env = append(env, kv)
		}
	}
	e.environ = nil
	def := "/run/containers/0/auth.json"
	if _, err := os.Stat(def); err == nil {
		t.Fatalf("%s exists before the test", def)
	}
	t.Cleanup(func() { os.Remove(def) })
	// podman refuses a run root path of more than 50 characters.
	podmanDir, err := os.MkdirTemp("", "pm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(podmanDir) })
	pod := func(args ...string) (string, error) {
		// podman's own storage in the test's temp dir: login touches
		// none, but podman opens it.
		full := append([]string{"--root", filepath.Join(podmanDir, "root"), "--runroot", filepath.Join(podmanDir, "run")}, args...)
		c := exec.Command(podman, full...)
		c.Env = env
		// Its answer on stdout; its warnings (a CNI configuration
		// it cannot use, say) go to stderr, and into an error.
		r := e.run(c)
		if r.code != 0 {
			return r.stdout, fmt.Errorf("podman %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout, nil
	}
	ctr := func(args ...string) (string, error) {
		c := e.cmd(args...)
		c.Env = env
		out, err := c.CombinedOutput()
		return string(out), err
	}
	certs := "--cert-dir=" + reg.CertDir

	if out, err := ctr("login", certs, "-u", reg.User, "-p", reg.Pass, reg.Addr); err != nil {
		t.Fatalf("ctr-unit login: %v: %s", err, out)
	}
	if _, err := os.Stat(def); err != nil {
		t.Errorf("ctr-unit login did not write %s: %v", def, err)
	}
	if out, err := pod("login", "--get-login", reg.Addr); err != nil || strings.TrimSpace(out) != reg.User {
		t.Errorf("podman sees ctr-unit's login as %q (%v)", out, err)
	}
	if out, err := pod("logout", reg.Addr); err != nil {
		t.Fatalf("podman logout: %v: %s", err, out)
	}
	if out, err := ctr("login", "--get-login", reg.Addr); err == nil {
		t.Errorf("ctr-unit still logged in after podman logout: %s", out)
	}
	if out, err := pod("login", certs, "-u", reg.User, "-p", reg.Pass, reg.Addr); err != nil {
		t.Fatalf("podman login: %v: %s", err, out)
	}
	if out, err := ctr("login", "--get-login", reg.Addr); err != nil || strings.TrimSpace(out) != reg.User {
		t.Errorf("ctr-unit sees podman's login as %q (%v)", out, err)
	}
	if out, err := ctr("logout", reg.Addr); err != nil {
		t.Errorf("ctr-unit logout of podman's login: %v: %s", err, out)
	}
}
