//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// syscallsDir holds the syscalls test program (testdata/syscalls), built
// once, static, to be mounted into containers at /t.
var syscallsDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ctr-unit-syscalls-")
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "syscalls"), "./testdata/syscalls")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the syscalls program: %v\n%s", err, out)
	}
	return dir, nil
})

// blockedCalls are calls podman's and docker's default profile refuses a
// container with the default capabilities.
var blockedCalls = []string{"keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load", "init_module", "unshare", "mount"}

// errnos runs the syscalls program in a container made with opts and
// returns each call's errno.
func (e *env) errnos(name string, opts ...string) map[string]int {
	e.t.Helper()
	dir, err := syscallsDir()
	if err != nil {
		e.t.Fatal(err)
	}
	args := append([]string{"run", "--rm", "--name", name, "--rootfs", rootfs, "-v", dir + ":/t:ro"}, opts...)
	out := e.must(append(args, "--", "/t/syscalls", "getpid")...)
	args = append([]string{"run", "--rm", "--name", name, "--rootfs", rootfs, "-v", dir + ":/t:ro"}, opts...)
	out += e.must(append(append(args, "--", "/t/syscalls"), blockedCalls...)...)
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		call, n, _ := strings.Cut(line, " ")
		errno, err := strconv.Atoi(n)
		if err != nil {
			e.t.Fatalf("syscalls printed %q", line)
		}
		got[call] = errno
	}
	return got
}

// status reads fields of /proc/self/status in a container made with opts.
func (e *env) status(name string, opts ...string) map[string]string {
	e.t.Helper()
	args := append([]string{"run", "--rm", "--name", name, "--rootfs", rootfs}, opts...)
	out := e.must(append(args, "--", "cat", "/proc/self/status")...)
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.TrimSpace(v)
	}
	return fields
}

const ePERM = 1

// The default seccomp profile (podman's and docker's) stops keyctl, bpf,
// perf_event_open, userfaultfd and the rest with EPERM before the kernel
// sees their arguments; seccomp=unconfined and --privileged run without a
// filter, where the same calls reach the kernel.
func TestSeccompDefaultProfileRefusesWhatPodmanRefuses(t *testing.T) {
	e := newEnv(t)
	def := e.errnos(e.name("default"))
	if def["getpid"] != 0 {
		t.Errorf("getpid under the default profile: errno %d", def["getpid"])
	}
	for _, c := range blockedCalls {
		if def[c] != ePERM {
			t.Errorf("%s under the default profile: errno %d, want EPERM", c, def[c])
		}
	}
	for _, opts := range [][]string{{"--security-opt", "seccomp=unconfined"}, {"--privileged"}} {
		free := e.errnos(e.name("free"), opts...)
		for _, c := range []string{"keyctl", "add_key", "perf_event_open"} {
			if free[c] == ePERM || free[c] == 0 {
				t.Errorf("%s with %v: errno %d, want the kernel's refusal of its arguments", c, opts, free[c])
			}
		}
	}
	if s := e.status(e.name("st")); s["Seccomp"] != "2" {
		t.Errorf("Seccomp %q in a default container, want 2 (filtered)", s["Seccomp"])
	}
	if s := e.status(e.name("st"), "--security-opt", "seccomp=unconfined"); s["Seccomp"] != "0" {
		t.Errorf("Seccomp %q with seccomp=unconfined, want 0", s["Seccomp"])
	}
}

// An ordinary workload runs under the default profile: processes, pipes,
// files, signals, and a stop that ends it cleanly.
func TestSeccompDefaultProfileRunsAWorkload(t *testing.T) {
	e := newEnv(t)
	out := e.must("run", "--rm", "--name", e.name("work"), "--rootfs", rootfs, "--", "sh", "-c",
		`for i in 3 1 2; do echo $i; done | sort | tr -d '\n'; mkdir -p /tmp/d && echo hi >/tmp/d/f && cat /tmp/d/f; sleep 0.1 & wait; kill -0 $$ && echo alive; date +%Y >/dev/null && ls /proc/self/fd >/dev/null && echo done`)
	if out != "123hi\nalive\ndone\n" {
		t.Errorf("workload printed %q", out)
	}
	name := e.name("svc")
	e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sh", "-c", termable)
	e.must("stop", name)
	if c := e.inspect(name); c.State.ExitCode != 0 {
		t.Errorf("stop of a filtered container: exit %d, want 0 (its TERM trap ran)", c.State.ExitCode)
	}
}

// --security-opt seccomp=PROFILE.json applies the file's profile, read at
// every start; a file that cannot be used is refused at create, naming it,
// and a start without it fails saying so.
func TestSeccompProfileFile(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "nomkdir.json")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(profile, `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`)
	r := e.ctr("run", "--rm", "--name", e.name("nomkdir"), "--rootfs", rootfs, "--security-opt", "seccomp="+profile, "--", "sh", "-c", "mkdir /tmp/x; touch /tmp/y && echo touched")
	if !strings.Contains(r.stderr, "Operation not permitted") || r.stdout != "touched\n" {
		t.Errorf("under a profile refusing mkdir: %s", r)
	}

	garbled := filepath.Join(dir, "garbled.json")
	write(garbled, `{"defaultAction": SCMP_ACT_ALLOW`)
	e.storedUnchanged("bad profiles", func() {
		for _, p := range []string{garbled, filepath.Join(dir, "missing.json")} {
			if stderr := e.fails("create", "--name", e.name("bad"), "--rootfs", rootfs, "--security-opt", "seccomp="+p, "--", "true"); !strings.Contains(stderr, p) || !strings.Contains(stderr, "seccomp") {
				t.Errorf("create with profile %s: %q does not name it", p, stderr)
			}
		}
	})

	gone := filepath.Join(dir, "gone.json")
	write(gone, `{"defaultAction":"SCMP_ACT_ALLOW"}`)
	name := e.name("gone")
	e.must("create", "--name", name, "--rootfs", rootfs, "--security-opt", "seccomp="+gone, "--", "true")
	os.Remove(gone)
	if stderr := e.fails("start", name); !strings.Contains(stderr, gone) {
		t.Errorf("start without its profile: %q does not name %s", stderr, gone)
	}
	if c := e.inspect(name); c.State.Status != "created" {
		t.Errorf("a start that failed left %s %s", name, c.State.Status)
	}
}

// capMask is the /proc/PID/status mask of caps.
func capMask(caps ...int) string {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return fmt.Sprintf("%016x", m)
}

// Capabilities as podman: its default set, --cap-drop ALL with what
// --cap-add gives back, no-new-privileges off unless asked for.
func TestCapabilitiesAndNoNewPrivileges(t *testing.T) {
	e := newEnv(t)
	// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	// NET_BIND_SERVICE SYS_CHROOT SETFCAP: podman's default.
	podman := capMask(0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31)
	s := e.status(e.name("def"))
	if s["CapEff"] != podman || s["CapBnd"] != podman || s["NoNewPrivs"] != "0" {
		t.Errorf("default: CapEff %s CapBnd %s NoNewPrivs %s; want %s, %s, 0", s["CapEff"], s["CapBnd"], s["NoNewPrivs"], podman, podman)
	}
	s = e.status(e.name("few"), "--cap-drop", "ALL", "--cap-add", "net_bind_service", "--security-opt", "no-new-privileges")
	if want := capMask(10); s["CapEff"] != want || s["CapBnd"] != want || s["NoNewPrivs"] != "1" {
		t.Errorf("--cap-drop ALL --cap-add net_bind_service: CapEff %s CapBnd %s NoNewPrivs %s; want %s and 1", s["CapEff"], s["CapBnd"], s["NoNewPrivs"], want)
	}
	s = e.status(e.name("more"), "--cap-add", "SYS_ADMIN", "--cap-drop", "CAP_KILL")
	if want := capMask(0, 1, 3, 4, 6, 7, 8, 10, 18, 21, 31); s["CapEff"] != want {
		t.Errorf("--cap-add SYS_ADMIN --cap-drop CAP_KILL: CapEff %s, want %s", s["CapEff"], want)
	}
	// A capability ctr-unit itself lacks is refused by name, not left
	// to runc.
	if mine := readStatus(t)["CapBnd"]; mine != capMask(allCaps()...) {
		e.storedUnchanged("a capability not held", func() {
			if stderr := e.fails("create", "--name", e.name("nores"), "--rootfs", rootfs, "--cap-add", "sys_resource", "--", "true"); !strings.Contains(stderr, "CAP_SYS_RESOURCE") {
				t.Errorf("--cap-add sys_resource without it: %q", stderr)
			}
		})
	}
	e.storedUnchanged("unknown capabilities", func() {
		if stderr := e.fails("create", "--name", e.name("fly"), "--rootfs", rootfs, "--cap-add", "fly", "--", "true"); !strings.Contains(stderr, `unknown capability "fly"`) {
			t.Errorf("--cap-add fly: %q", stderr)
		}
	})
}

func readStatus(t *testing.T) map[string]string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.TrimSpace(v)
	}
	return fields
}

func allCaps() []int {
	data, _ := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	last, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	var all []int
	for i := 0; i <= last; i++ {
		all = append(all, i)
	}
	return all
}

// --privileged as podman: every capability ctr-unit has, no seccomp
// filter, nothing of /proc masked, /sys writable, the host's devices.
func TestPrivileged(t *testing.T) {
	e := newEnv(t)
	out := e.must("run", "--rm", "--name", e.name("priv"), "--rootfs", rootfs, "--privileged", "--", "sh", "-c",
		`grep -E "^(CapEff|Seccomp):" /proc/self/status; grep -c " /proc/keys " /proc/mounts; grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1; ls /dev`)
	lines := strings.Split(out, "\n")
	mine := readStatus(t)["CapBnd"]
	if len(lines) < 4 || lines[0] != "CapEff:\t"+mine || lines[1] != "Seccomp:\t0" || lines[2] != "0" || lines[3] != "rw" {
		t.Errorf("privileged: %q; want CapEff %s, Seccomp 0, /proc/keys not masked, /sys rw", out, mine)
	}
	if _, err := os.Stat("/dev/fuse"); err == nil && !strings.Contains(out, "\nfuse\n") {
		t.Errorf("the host's /dev/fuse is missing from a privileged container's /dev: %q", out)
	}
	def := e.must("run", "--rm", "--name", e.name("plain"), "--rootfs", rootfs, "--", "sh", "-c", `grep -c " /proc/keys " /proc/mounts; ls /dev`)
	if !strings.HasPrefix(def, "1\n") || strings.Contains(def, "\nfuse\n") {
		t.Errorf("a default container: %q; want /proc/keys masked and no host devices", def)
	}
}

// --read-only: the root cannot be written, /run, /tmp and /var/tmp can;
// with --read-only-tmpfs=false nothing can, /dev/shm included.
func TestReadOnlyRoot(t *testing.T) {
	e := newEnv(t)
	r := e.ctr("run", "--rm", "--name", e.name("ro"), "--rootfs", rootfs, "--read-only", "--", "sh", "-c",
		`touch /x 2>&1; touch /tmp/a /run/a /var/tmp/a /dev/shm/a && echo writable`)
	if !strings.Contains(r.stdout, "Read-only file system") || !strings.HasSuffix(r.stdout, "writable\n") {
		t.Errorf("--read-only: %s", r)
	}
	r = e.ctr("run", "--rm", "--name", e.name("rox"), "--rootfs", rootfs, "--read-only", "--read-only-tmpfs=false", "--", "sh", "-c",
		`for f in /x /tmp/a /dev/shm/a; do touch $f 2>/dev/null && echo wrote $f; done; echo end`)
	if r.stdout != "end\n" {
		t.Errorf("--read-only --read-only-tmpfs=false: %s", r)
	}
	if out := e.must("run", "--rm", "--name", e.name("rw"), "--rootfs", rootfs, "--", "sh", "-c", "touch /tmp/a && echo ok"); out != "ok\n" {
		t.Errorf("default: %q", out)
	}
}

// --device gives a host device with the access asked for (the device
// cgroup refuses the rest); --ulimit and --sysctl reach the container.
func TestDevicesUlimitsAndSysctls(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse on this host")
	}
	r := e.ctr("run", "--rm", "--name", e.name("dev"), "--rootfs", rootfs, "--device", "/dev/fuse:/dev/f:r", "--", "sh", "-c",
		`ls -l /dev/f | cut -c1; exec 3</dev/f && echo read; exec 4<>/dev/f && echo written`)
	if r.stdout != "c\nread\n" || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("--device /dev/fuse:/dev/f:r: %s", r)
	}
	out := e.must("run", "--rm", "--name", e.name("lim"), "--rootfs", rootfs, "--ulimit", "nofile=100:200", "--network", "none",
		"--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "--sysctl", "kernel.shmmax=12345678", "--", "sh", "-c",
		`ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax`)
	if out != "100\n200\n80\n12345678\n" {
		t.Errorf("ulimit and sysctls: %q", out)
	}
	e.storedUnchanged("bad devices and sysctls", func() {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--device", "/dev/nonexistent"}, "/dev/nonexistent"},
			{[]string{"--device", "/etc/hostname"}, "not a device node"},
			{[]string{"--sysctl", "net.ipv4.ip_forward=1"}, "host's network"},
			{[]string{"--sysctl", "kernel.panic=1"}, "not namespaced"},
		} {
			args := append(append([]string{"create", "--name", e.name("bad"), "--rootfs", rootfs}, c.args...), "--", "true")
			if stderr := e.fails(args...); !strings.Contains(stderr, c.want) {
				t.Errorf("%v: %q does not say %q", c.args, stderr, c.want)
			}
		}
	})
}

// quadlet's keys mean their flags: a definition file's container, started
// by systemctl, runs with them.
func TestSecurityKeysOfDefinitionFiles(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse on this host")
	}
	dir, err := syscallsDir()
	if err != nil {
		t.Fatal(err)
	}
	name := e.name("seckeys")
	out := t.TempDir()
	profile := filepath.Join(out, "profile.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.defineFile(name, fmt.Sprintf(`[Container]
Rootfs=%s
Volume=%s:/out
Volume=%s:/t:ro
Exec=sh -c 'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status >/out/status; /t/syscalls getpid >/out/calls; touch /x 2>/out/rofs; ls /dev >/out/dev; ulimit -n >/out/nofile; cat /proc/sys/kernel/shmmax >/out/shmmax; touch /out/done; exec sleep 1000'
DropCapability=all
AddCapability=net_bind_service chown
ReadOnly=true
NoNewPrivileges=true
SeccompProfile=%s
AddDevice=/dev/fuse -/dev/nonexistent-ctr-unit
Ulimit=nofile=50:60
Sysctl=kernel.shmmax=7654321
`, rootfs, out, dir, profile))
	systemctl(t, "daemon-reload")
	systemctl(t, "start", units.TemplateInstance(name))
	e.waitFor("the container's files", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(out, "done"))
		return err == nil
	})
	read := func(f string) string {
		b, _ := os.ReadFile(filepath.Join(out, f))
		return strings.TrimSpace(string(b))
	}
	if got, want := read("status"), "CapEff:\t"+capMask(0, 10)+"\nNoNewPrivs:\t1"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	if got := read("calls"); got != "getpid 1" {
		t.Errorf("the file's seccomp profile: %q", got)
	}
	if got := read("rofs"); !strings.Contains(got, "Read-only") {
		t.Errorf("ReadOnly=true: touch / said %q", got)
	}
	if got := read("dev"); !strings.Contains(got, "fuse") {
		t.Errorf("AddDevice=/dev/fuse: /dev has %q", got)
	}
	if got, got2 := read("nofile"), read("shmmax"); got != "50" || got2 != "7654321" {
		t.Errorf("Ulimit= and Sysctl=: %q %q", got, got2)
	}
}
