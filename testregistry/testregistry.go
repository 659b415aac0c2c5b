// Package testregistry runs Debian's docker-registry (the CNCF
// distribution registry) on loopback for tests and benchmarks: its
// configuration and storage in a directory of the caller's, plain HTTP or
// TLS from a CA it makes, with htpasswd logins. Run it where loopback is
// private (a sysbox box has a network namespace of its own).
package testregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is one running registry.
type Registry struct {
	Addr string // 127.0.0.1:PORT
	// CertDir holds ca.crt, the CA of the registry's certificate, as
	// --cert-dir wants it ("" for plain HTTP).
	CertDir string
	// User and Pass log in (TLS only).
	User, Pass string
	cmd        *exec.Cmd
	log        *os.File
}

// Start starts a registry keeping everything in dir, plain HTTP or
// (secure) TLS with a login. Stop it with Stop.
func Start(dir string, secure bool) (*Registry, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, fmt.Errorf("docker-registry is not installed (make deps installs it): %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
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
		pool, err := makeCerts(dir, r.CertDir)
		if err != nil {
			return nil, err
		}
		r.User, r.Pass = "tester", "s3cret-Pass"
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Pass), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(dir, "htpasswd"), r.User+":"+string(hash)+"\n"); err != nil {
			return nil, err
		}
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
	if err := writeFile(filepath.Join(dir, "config.yml"), cfg); err != nil {
		return nil, err
	}
	if r.log, err = os.Create(filepath.Join(dir, "registry.log")); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	// REGISTRY_* variables override the configuration (REGISTRY_AUTH_FILE
	// would be read as auth.file): none of the caller's.
	r.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	// The registry goes with its caller, however that ends.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		r.log.Close()
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r, nil
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(r.log.Name())
			r.Stop()
			return nil, fmt.Errorf("registry on %s did not answer: %w\n%s", r.Addr, err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the registry.
func (r *Registry) Stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.log.Close()
}

// FreePort is a loopback port nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeFile(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(data), 0o600)
}

// makeCerts writes a CA (certDir/ca.crt) and a server certificate for
// 127.0.0.1 it signed (dir/server.crt and .key).
func makeCerts(dir, certDir string) (*x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ctr-unit test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	errs := errors.Join(
		writeFile(filepath.Join(certDir, "ca.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))),
		writeFile(filepath.Join(dir, "server.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}))),
		writeFile(filepath.Join(dir, "server.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))),
	)
	if errs != nil {
		return nil, errs
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}
