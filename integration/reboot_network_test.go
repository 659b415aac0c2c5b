//go:build reboot

package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// After a reboot, a container with a published port that starts at boot
// answers again, and no address of the last boot is still held: the
// address book lives in /run (and is stamped with the boot ID besides).
// Inside the box's own network namespace only (10.81.40.0/24).
func TestRebootNetworkComesBack(t *testing.T) {
	layout := strings.Fields(envOr("CTR_UNIT_REBOOT_LAYOUTS", "v2 hybrid"))[0]
	b := newBox(t, layout)
	b.must("ctr-unit", "network", "create", "--subnet", "10.81.40.0/24", "--interface-name", "rbnet0", "rbnet")
	serve := "mkdir -p /tmp/w && echo hello-boot >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
	b.must("ctr-unit", "create", "--name", "pub", "--network", "rbnet", "-p", "18094:80", "--rootfs", b.rootfs, "--", "sh", "-c", serve)
	b.must("systemctl", "enable", "ctr@pub")
	b.must("ctr-unit", "start", "pub")
	// tr: a transient container on the network, running at power-off.
	b.must("ctr-unit", "run", "-d", "--name", "tr", "--network", "rbnet", "--rootfs", b.rootfs, "--", "sh", "-c", termable)
	if n := b.heldAddresses(); n != 2 {
		t.Fatalf("before the reboot %d addresses are held, want 2", n)
	}

	sysbox(t, "reboot", b.name)

	if got, _ := b.exec("systemctl", "is-active", units.TemplateInstance("pub")); got != "active" {
		status, _ := b.exec("systemctl", "status", "--no-pager", units.TemplateInstance("pub"))
		t.Fatalf("pub after reboot: %s\n%s", got, status)
	}
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if body, _ = b.exec("timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:18094/"); strings.Contains(body, "hello-boot") {
			break
		}
	}
	if !strings.Contains(body, "hello-boot") {
		t.Errorf("pub's published port after reboot answered %q", body)
	}
	if n := b.heldAddresses(); n != 1 {
		t.Errorf("after the reboot %d addresses are held, want pub's only", n)
	}
	// The transient one starts again, with an address of this boot.
	b.must("ctr-unit", "start", "tr")
	if n := b.heldAddresses(); n != 2 {
		t.Errorf("with tr started again %d addresses are held, want 2", n)
	}
	b.must("ctr-unit", "rm", "-f", "tr", "pub")
	if n := b.heldAddresses(); n != 0 {
		t.Errorf("after rm %d addresses are held", n)
	}
	if out, _ := b.exec("sh", "-c", "find /run/ctr-unit/netns /run/ctr-unit/net/containers -mindepth 1 2>/dev/null"); strings.TrimSpace(out) != "" {
		t.Errorf("left after rm: %s", out)
	}
	b.must("ctr-unit", "network", "rm", "rbnet")
}

// heldAddresses counts the addresses the box's address book holds.
func (b *box) heldAddresses() int {
	b.t.Helper()
	out, err := b.exec("cat", "/run/ctr-unit/net/ipam.json")
	if err != nil {
		return 0
	}
	var book struct {
		Networks map[string]map[string]string `json:"networks"`
	}
	if err := json.Unmarshal([]byte(out), &book); err != nil {
		b.t.Fatalf("address book: %v\n%s", err, out)
	}
	n := 0
	for _, held := range book.Networks {
		n += len(held)
	}
	return n
}
