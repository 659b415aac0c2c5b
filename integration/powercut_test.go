//go:build reboot

package integration

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A power cut (fault scenario 3): the box's systemd, its PID 1, killed
// with SIGKILL from outside during a burst of starts, which takes every
// process of the box with it, then the box booted again on the same
// persisted state. Every record reads whole and none that run -d
// reported made is lost; always and unless-stopped containers (unless
// the user stopped them) run again, through ctr-unit-restart.service,
// and the others do not; every unit belongs to a record; and every
// container starts and is removed with nothing left, so no stale runc
// state or half-made record blocks it. Run like the reboot tests:
// CTR_UNIT_REBOOT_BOX=NAME go test -tags reboot -run TestFaultPowerCut ./integration/
func TestFaultPowerCut(t *testing.T) {
	for _, layout := range strings.Fields(envOr("CTR_UNIT_REBOOT_LAYOUTS", "v2 hybrid")) {
		t.Run(layout, func(t *testing.T) { testPowerCut(t, layout) })
	}
}

func testPowerCut(t *testing.T, layout string) {
	b := newBox(t, layout)
	b.enableRestartService()
	policyOf := map[string]string{"pc-up": "unless-stopped", "pc-down": "unless-stopped"}
	for name, policy := range policyOf {
		b.must("ctr-unit", "run", "-d", "--name", name, "--restart", policy, "--rootfs", b.rootfs, "--", "sh", "-c", termable)
	}
	b.must("ctr-unit", "stop", "pc-down")

	policies := []string{"always", "unless-stopped", "no"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := map[string]bool{}
	for i := range 15 {
		name, policy := fmt.Sprintf("pc-%d", i), policies[i%len(policies)]
		policyOf[name] = policy
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.exec("ctr-unit", "run", "-d", "--name", name, "--restart", policy, "--rootfs", b.rootfs, "--", "sh", "-c", termable); err == nil {
				mu.Lock()
				made[name] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Duration(200+rand.IntN(1300)) * time.Millisecond)
	pid := boxPID(t, b.name)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL of the box's systemd (pid %d): %v", pid, err)
	}
	wg.Wait()
	for deadline := time.Now().Add(10 * time.Second); exec.Command("../hack/sysbox", "status", b.name).Run() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the box's systemd outlived SIGKILL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%s: systemd killed with %d of 15 run -d done", layout, len(made))
	// down clears what the dead box left on the host (cgroups, sysbox's
	// own state); the persisted directory stays.
	sysbox(t, "down", b.name)
	sysbox(t, "up", b.name, layout, "--persist", b.persist)
	// Boot done: ctr-unit-restart.service has run.
	b.exec("systemctl", "is-system-running", "--wait")

	ps := b.ps()
	for name := range made {
		if _, ok := ps[name]; !ok {
			t.Errorf("%s: run -d reported it made, gone after the power cut", name)
		}
	}
	for name, e := range ps {
		if _, err := b.exec("ctr-unit", "inspect", name); err != nil {
			t.Errorf("%s is listed but does not read: %v", name, err)
		}
		policy := policyOf[name]
		want := policy == "always" || policy == "unless-stopped" && name != "pc-down"
		if (e.State == "running") != want {
			t.Errorf("%s (restart %s) is %s after the power cut", name, policy, e.State)
		}
		active, _ := b.exec("systemctl", "is-active", e.Unit)
		if (e.State == "running") != (active == "active") {
			t.Errorf("ps says %s is %s, systemd says its unit %s is %s", name, e.State, e.Unit, active)
		}
	}
	running := 0
	for _, e := range ps {
		if e.State == "running" {
			running++
		}
	}
	t.Logf("%s: after the boot %d containers stored (of 17 asked for), %d running", layout, len(ps), running)
	for _, u := range b.testUnits() {
		owned := false
		for name := range ps {
			owned = owned || strings.Contains(u, name+".") || strings.Contains(u, name+"-")
		}
		if !owned {
			t.Errorf("unit %s has no container after the power cut", u)
		}
	}
	for name, e := range ps {
		if e.State != "running" {
			if out, err := b.exec("ctr-unit", "start", name); err != nil {
				t.Errorf("start %s after the power cut: %v %s", name, err, out)
			}
		}
		b.must("ctr-unit", "rm", "-f", name)
	}
	if left := b.ps(); len(left) > 0 {
		t.Errorf("containers left after rm -f: %v", left)
	}
	if us := b.testUnits(); len(us) > 0 {
		t.Errorf("units left after rm -f: %v", us)
	}
	if out, _ := b.exec("sh", "-c", "ls /run/ctr-unit/runc 2>/dev/null; grep -c "+b.state+" /proc/self/mountinfo"); strings.TrimSpace(out) != "0" {
		t.Errorf("runc state or mounts left after rm -f: %s", out)
	}
}

// testUnits lists the units loaded for the power cut's containers.
func (b *box) testUnits() []string {
	out, _ := b.exec("systemctl", "list-units", "--all", "--plain", "--no-legend", "*pc-*")
	var us []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[1] != "not-found" {
			us = append(us, f[0])
		}
	}
	return us
}

// boxPID is the host's pid of the box's systemd.
func boxPID(t *testing.T, name string) int {
	t.Helper()
	for _, f := range strings.Fields(sysbox(t, "status", name)) {
		if v, ok := strings.CutPrefix(f, "pid="); ok {
			if pid, err := strconv.Atoi(v); err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no pid for box %s", name)
	return 0
}
