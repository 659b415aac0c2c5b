//go:build integration

package integration

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ctr-unit/ctr-unit/imagestore/testarchive"
)

// registry is a Debian docker-registry (the CNCF distribution registry)
// that a test runs on loopback, its storage in the test's temp dir. The
// box has a network namespace of its own: nothing reaches the host's.
type registry struct {
	Addr string // 127.0.0.1:PORT
	// CertDir holds ca.crt, the test's CA, for --cert-dir ("" for plain
	// HTTP).
	CertDir    string
	User, Pass string
}

// startRegistry starts a registry: plain HTTP, or with secure TLS from a
// CA the test makes and htpasswd authentication. It stops at the test's
// end.
func startRegistry(t *testing.T, secure bool) *registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry is not installed (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	r := &registry{Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), r.Addr)
	client := &http.Client{Timeout: 2 * time.Second}
	scheme := "http"
	if secure {
		r.CertDir = filepath.Join(dir, "certs")
		pool := makeCerts(t, dir, r.CertDir)
		r.User, r.Pass = "tester", "s3cret-Pass"
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "htpasswd"), r.User+":"+string(hash)+"\n")
		cfg += fmt.Sprintf(`  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: ctr-unit-test
    path: %s
`, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "htpasswd"))
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		scheme = "https"
	}
	writeFile(t, filepath.Join(dir, "config.yml"), cfg)
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	// REGISTRY_* variables override the configuration (REGISTRY_AUTH_FILE
	// would be read as auth.file): none of the test's.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(log.Name())
			t.Fatalf("registry on %s did not answer: %v\n%s", r.Addr, err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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

// makeCerts writes a CA (certDir/ca.crt, as --cert-dir wants it) and a
// server certificate for 127.0.0.1 it signed (dir/server.crt, .key).
func makeCerts(t *testing.T, dir, certDir string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ctr-unit test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(certDir, "ca.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	writeFile(t, filepath.Join(dir, "server.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})))
	writeFile(t, filepath.Join(dir, "server.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
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
