//go:build integration

package integration

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-unit/ctr-unit/network"
)

// Containers on networks, through ctr-unit run: the unit's start step sets
// the network up, its stop step tears it down. As the network package's
// tests, inside the box's own network namespace only (10.81.0.0/16).

// netWorld is a test's ctr-unit world with its own network definitions.
func netWorld(t *testing.T) (*env, *network.Runtime) {
	t.Helper()
	newNetEnv(t) // checks that this is the box's own namespace
	e := newEnv(t)
	e.environ = append(e.environ, "CTR_UNIT_NETWORK_CONFIG_DIR="+filepath.Join(t.TempDir(), "networks"))
	return e, &network.Runtime{RuntimeDir: e.runtimeDir}
}

// netCreate makes a network unique to the test; its bridge is named after it.
func (e *env) netCreate(name, subnet string, extra ...string) string {
	e.t.Helper()
	name = strings.TrimSuffix(e.prefix, "-") + name
	args := append([]string{"network", "create", "--subnet", subnet, "--interface-name", name}, extra...)
	e.must(append(args, name)...)
	e.t.Cleanup(func() { e.ctr("network", "rm", name) })
	return name
}

// webServer runs busybox httpd on port 80 serving body, on net with ports.
func (e *env) webServer(name, body string, netArgs ...string) {
	e.t.Helper()
	args := append([]string{"run", "-d", "--name", name, "--rootfs", rootfs}, netArgs...)
	e.must(append(args, "--", "sh", "-c", "mkdir -p /tmp/w && echo "+body+" >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w")...)
}

// warmFirewall runs a container with a published port once: netavark's
// global chains stay once made (as under podman), so made first they are
// part of what a test counts as there before.
func (e *env) warmFirewall() {
	e.t.Helper()
	warm := e.netCreate("w", "10.81.33.0/24")
	e.must("run", "--rm", "--name", e.name("warm"), "--network", warm, "-p", "18093:80", "--rootfs", rootfs, "--", "true")
	e.must("network", "rm", warm)
}

// fetchFrom runs a container on net that fetches url (retrying while the
// server and its name come up) and returns its exit code and output.
func (e *env) fetchFrom(name, net, url string, tries int) result {
	e.t.Helper()
	// busybox's wget -T crashes: timeout bounds it.
	script := fmt.Sprintf("for i in $(seq %d); do timeout 2 wget -q -O - %s && exit 0; sleep 0.2; done; exit 1", tries, url)
	return e.ctr("run", "--rm", "--name", name, "--network", net, "--rootfs", rootfs, "--", "sh", "-c", script)
}

func TestContainersOnANetwork(t *testing.T) {
	e, rt := netWorld(t)
	e.warmFirewall()
	before := countLeftovers(t, rt)
	net := e.netCreate("a", "10.81.30.0/24")
	other := e.netCreate("b", "10.81.31.0/24")
	web := e.name("web")
	e.webServer(web, "hello-web", "--network", net, "-p", "18091:80", "--network-alias", "www")
	e.waitStatus(web, "running", 10*time.Second)

	// Published: on loopback and on the box's address on the network.
	if body := wgetEventually(t, "", "http://127.0.0.1:18091/"); !strings.Contains(body, "hello-web") {
		t.Errorf("127.0.0.1:18091 answered %q", body)
	}
	if body := wgetEventually(t, "", "http://10.81.30.1:18091/"); !strings.Contains(body, "hello-web") {
		t.Errorf("the gateway's 18091 answered %q", body)
	}
	if out := e.must("port", web); strings.TrimSpace(out) != "80/tcp -> 0.0.0.0:18091" {
		t.Errorf("port %s: %q", web, out)
	}
	// By name and alias, through aardvark-dns, from a peer on the network.
	for _, host := range []string{web, "www"} {
		if r := e.fetchFrom(e.name("peer"), net, "http://"+host+"/", 25); r.code != 0 || !strings.Contains(r.stdout, "hello-web") {
			t.Errorf("a peer fetching http://%s/: %s", host, r)
		}
	}
	// The container's files: its name, its address, the network's DNS.
	att, err := rt.Attachment(web)
	if err != nil || att == nil {
		t.Fatalf("no network record of %s: %v", web, err)
	}
	ip := att.Networks[0].Addresses[0].Addr()
	bundle := filepath.Join(e.runtimeDir, "containers", web)
	hosts, _ := os.ReadFile(filepath.Join(bundle, "hosts"))
	resolv, _ := os.ReadFile(filepath.Join(bundle, "resolv.conf"))
	hostname, _ := os.ReadFile(filepath.Join(bundle, "hostname"))
	if !strings.Contains(string(hosts), ip.String()+"\t"+web) || !strings.Contains(string(resolv), "nameserver 10.81.30.1") || string(hostname) != web+"\n" {
		t.Errorf("files of %s: hosts %q, resolv.conf %q, hostname %q", web, hosts, resolv, hostname)
	}
	// Another network cannot reach it, even by address.
	if r := e.fetchFrom(e.name("stranger"), other, "http://"+ip.String()+"/", 2); r.code == 0 {
		t.Errorf("a container on another network reached %s: %s", web, r)
	}

	// A restart gets a fresh network that works.
	e.must("restart", web)
	e.waitStatus(web, "running", 10*time.Second)
	if body := wgetEventually(t, "", "http://127.0.0.1:18091/"); !strings.Contains(body, "hello-web") {
		t.Errorf("after restart 127.0.0.1:18091 answered %q", body)
	}
	// The init killed: the stop step tears the network down all the same.
	c := e.inspect(web)
	if err := syscall.Kill(c.State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(web, "exited", 10*time.Second)
	e.waitFor("the network of "+web+" to be torn down", 10*time.Second, func() bool {
		a, _ := rt.Attachment(web)
		return a == nil
	})
	if _, err := os.Lstat(rt.NetnsPath(web)); err == nil {
		t.Errorf("%s's namespace is left after it was killed", web)
	}
	if _, err := wget("", "http://127.0.0.1:18091/"); err == nil {
		t.Errorf("the published port answers after the container ended")
	}
	// Stopped, it still names the network: rm of the network is refused.
	if msg := e.fails("network", "rm", net); !strings.Contains(msg, web) {
		t.Errorf("network rm of a network a stopped container names: %q", msg)
	}
	e.must("rm", web)
	for _, n := range []string{net, other} {
		e.must("network", "rm", n)
	}
	if after := countLeftovers(t, rt); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
}

func TestContainerNetworkRefusals(t *testing.T) {
	e, rt := netWorld(t)
	net := e.netCreate("r", "10.81.32.0/24")
	holder := e.name("holder")
	e.webServer(holder, "x", "--network", net, "-p", "18092:80")
	e.waitStatus(holder, "running", 10*time.Second)
	e.storedUnchanged("bad options", func() {
		e.fails("create", "--name", e.name("bad1"), "--rootfs", rootfs, "-p", "99999:80", "--", "true")
		e.fails("create", "--name", e.name("bad2"), "--rootfs", rootfs, "-p", "8080:80", "--network", "host", "--", "true")
		e.fails("create", "--name", e.name("bad3"), "--rootfs", rootfs, "--network", "no/such", "--", "true")
		if msg := e.fails("create", "--name", e.name("bad4"), "--rootfs", rootfs, "--network", "nosuch", "--", "true"); !strings.Contains(msg, "nosuch") {
			t.Errorf("create on a missing network: %q", msg)
		}
	})
	// The port of another container: the start fails, naming it, and
	// leaves nothing set up.
	taken := e.name("taken")
	r := e.ctr("run", "-d", "--name", taken, "--network", net, "-p", "18092:80", "--rootfs", rootfs, "--", "sleep", "100")
	msg := r.stderr + e.ctr("inspect", taken).stdout
	if r.code == 0 && !strings.Contains(msg, "18092") {
		e.waitFor(taken+" to fail", 10*time.Second, func() bool { return e.inspect(taken).State.Status != "running" })
	}
	if c := e.inspect(taken); c.State.Running {
		t.Errorf("%s runs with the port %s holds", taken, holder)
	}
	if a, _ := rt.Attachment(taken); a != nil {
		t.Errorf("%s keeps a network after its start failed: %+v", taken, a)
	}
	if !strings.Contains(r.stderr+e.ctr("inspect", taken).stdout, "18092") {
		t.Errorf("the failure does not name the port: %s", r)
	}
}

// -P publishes the image's EXPOSE ports on free host ports, as podman's:
// port and ps show the ones picked, and the server answers on them.
func TestPublishAllExposedPorts(t *testing.T) {
	e, rt := netWorld(t)
	e.warmFirewall()
	before := countLeftovers(t, rt)
	net := e.netCreate("p", "10.81.50.0/24")
	serve := "mkdir -p /tmp/w && echo hello-exposed >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
	cfg := v1.ImageConfig{Cmd: []string{"sh", "-c", serve}, Env: []string{"PATH=/bin"}, ExposedPorts: map[string]struct{}{"80/tcp": {}}}
	img := e.name("exposed") + ":1"
	e.must("image", "load", "-i", testImage(t, "oci", img, cfg, nil))
	t.Cleanup(func() { e.ctr("rmi", img) })
	web := e.name("web")
	e.must("run", "-d", "-P", "--network", net, "--name", web, img)
	e.waitStatus(web, "running", 10*time.Second)

	out := strings.TrimSpace(e.must("port", web))
	hostPort, ok := strings.CutPrefix(out, "80/tcp -> 0.0.0.0:")
	if !ok || hostPort == "" || hostPort == "0" {
		t.Fatalf("port %s: %q; want 80/tcp on a picked host port", web, out)
	}
	if body := wgetEventually(t, "", "http://127.0.0.1:"+hostPort+"/"); !strings.Contains(body, "hello-exposed") {
		t.Errorf("127.0.0.1:%s answered %q", hostPort, body)
	}
	if ps := strings.TrimSpace(e.must("ps", "--filter", "name=^"+web+"$", "--format", "{{.Ports}}")); ps != "0.0.0.0:"+hostPort+"->80/tcp" {
		t.Errorf("ps {{.Ports}} of %s: %q", web, ps)
	}
	// inspect's NetworkSettings, as podman names them, from the records.
	format := `{{range $k, $v := .NetworkSettings.Ports}}{{$k}}={{range $v}}{{.HostPort}}{{end}} {{end}}` +
		`{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{(index .NetworkSettings.Networks "` + net + `").IPAddress}}`
	if got := strings.Fields(e.must("inspect", "--format", format, web)); len(got) != 4 || got[0] != "80/tcp="+hostPort ||
		!strings.HasPrefix(got[1], "10.81.50.") || got[2] != "10.81.50.1" || got[3] != got[1] {
		t.Errorf("inspect's NetworkSettings of %s: %q", web, got)
	}
	e.must("rm", "-f", web)
	e.must("network", "rm", net)
	if after := countLeftovers(t, rt); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
}

// TestFaultNetworkCycles starts and ends containers with a published port
// on a network through their units, ending them every way there is:
// stop, SIGKILL of the init, systemctl kill, and Restart= after a SIGKILL
// (a fresh network each time, the port answering); then counts what is
// left against what was there before. make faults runs the full 50.
func TestFaultNetworkCycles(t *testing.T) {
	e, rt := netWorld(t)
	e.warmFirewall()
	before := countLeftovers(t, rt)
	net := e.netCreate("cy", "10.81.51.0/24")
	serve := []string{"--", "sh", "-c", "mkdir -p /tmp/w && echo cycling >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"}
	// --init: httpd as PID 1 of its namespace would be deaf to SIGTERM,
	// and each stop would wait out the stop timeout.
	plain, restarting := e.name("plain"), e.name("again")
	e.must(append([]string{"create", "--init", "--name", plain, "--network", net, "-p", "18095:80", "--rootfs", rootfs}, serve...)...)
	e.must(append([]string{"create", "--init", "--name", restarting, "--network", net, "-p", "18096:80", "--restart", "on-failure", "--rootfs", rootfs}, serve...)...)
	answers := func(i int, port string) {
		t.Helper()
		if body := wgetEventually(t, "", "http://127.0.0.1:"+port+"/"); !strings.Contains(body, "cycling") {
			t.Fatalf("cycle %d: 127.0.0.1:%s answered %q", i, port, body)
		}
	}
	tornDown := func(i int, name string) {
		t.Helper()
		e.waitFor(fmt.Sprintf("cycle %d: the network of %s to be torn down", i, name), 10*time.Second, func() bool {
			a, _ := rt.Attachment(name)
			return a == nil && !network.IsNetns(rt.NetnsPath(name))
		})
	}
	cycles := faultScale(12, 50)
	kinds := map[string]int{}
	began := time.Now()
	for i := range cycles {
		if i%4 == 3 { // Restart=: the init killed, systemd starts it again
			e.must("start", restarting)
			answers(i, "18096")
			c := e.inspect(restarting)
			if err := syscall.Kill(c.State.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			e.waitFor(fmt.Sprintf("cycle %d: %s restarted", i, restarting), 20*time.Second, func() bool {
				n := e.inspect(restarting)
				return n.RestartCount > c.RestartCount && n.State.Status == "running" && n.State.Pid != c.State.Pid
			})
			answers(i, "18096")
			e.must("stop", restarting)
			tornDown(i, restarting)
			kinds["Restart= after SIGKILL, then stop"]++
			continue
		}
		e.must("start", plain)
		answers(i, "18095")
		c := e.inspect(plain)
		switch i % 4 {
		case 0:
			e.must("stop", plain)
			kinds["stop"]++
		case 1:
			if err := syscall.Kill(c.State.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			kinds["SIGKILL of the init"]++
		case 2:
			if out, err := exec.Command("systemctl", "kill", c.Unit).CombinedOutput(); err != nil {
				t.Fatalf("systemctl kill %s: %v: %s", c.Unit, err, out)
			}
			kinds["systemctl kill"]++
		}
		e.waitStatus(plain, "exited", 10*time.Second)
		tornDown(i, plain)
	}
	took := time.Since(began)
	e.must("rm", plain, restarting)
	e.must("network", "rm", net)
	after := countLeftovers(t, rt)
	t.Logf("%d cycles in %v %v: before %+v, after %+v", cycles, took.Round(time.Millisecond), kinds, before, after)
	if after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
}

// Through run: a container on an --internal network reaches its peer but
// nothing beyond its network, not even the box on another bridge; one on
// an --ipv6 network gets an IPv6 address, on which its peer reaches it.
func TestContainersOnInternalAndIPv6Networks(t *testing.T) {
	e, rt := netWorld(t)
	e.warmFirewall()
	// netavark's ip6tables chains too are made once and stay.
	warm6 := e.netCreate("w6", "10.81.55.0/24", "--ipv6", "--subnet", "fd81:55::/64")
	e.must("run", "--rm", "--name", e.name("warm6"), "--network", warm6, "--rootfs", rootfs, "--", "true")
	e.must("network", "rm", warm6)
	before := countLeftovers(t, rt)
	internal := e.netCreate("in", "10.81.52.0/24", "--internal")
	open := e.netCreate("ex", "10.81.53.0/24")
	six := e.netCreate("v6", "10.81.54.0/24", "--ipv6", "--subnet", "fd81:54::/64")

	boxOnOpen := fmt.Sprintf("http://10.81.53.1:%d/", boxServer(t))
	if r := e.fetchFrom(e.name("out"), open, boxOnOpen, 25); r.code != 0 || !strings.Contains(r.stdout, "box") {
		t.Fatalf("a container on a network that is not internal fetching %s: %s", boxOnOpen, r)
	}

	inner := e.name("inner")
	e.webServer(inner, "hello-inner", "--network", internal)
	e.waitStatus(inner, "running", 10*time.Second)
	att, err := rt.Attachment(inner)
	if err != nil || att == nil {
		t.Fatalf("no network record of %s: %v", inner, err)
	}
	innerURL := "http://" + att.Networks[0].Addresses[0].Addr().String() + "/"
	if r := e.fetchFrom(e.name("peer"), internal, innerURL, 25); r.code != 0 || !strings.Contains(r.stdout, "hello-inner") {
		t.Errorf("a peer on the internal network fetching %s: %s", innerURL, r)
	}
	if r := e.fetchFrom(e.name("escape"), internal, boxOnOpen, 2); r.code == 0 {
		t.Errorf("a container on an internal network reached %s: %s", boxOnOpen, r)
	}
	if r := e.ctr("run", "--rm", "--name", e.name("routes"), "--network", internal, "--rootfs", rootfs, "--", "ip", "route"); r.code != 0 || strings.Contains(r.stdout, "default") {
		t.Errorf("routes of a container on an internal network: %s", r)
	}

	v6 := e.name("six")
	e.webServer(v6, "hello-six", "--network", six)
	e.waitStatus(v6, "running", 10*time.Second)
	att, err = rt.Attachment(v6)
	if err != nil || att == nil {
		t.Fatalf("no network record of %s: %v", v6, err)
	}
	var addr6 netip.Addr
	for _, a := range att.Networks[0].Addresses {
		if a.Addr().Is6() {
			addr6 = a.Addr()
		}
	}
	if !netip.MustParsePrefix("fd81:54::/64").Contains(addr6) {
		t.Fatalf("%s's addresses %v: want one in fd81:54::/64", v6, att.Networks[0].Addresses)
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{.NetworkSettings.GlobalIPv6Address}}", v6)); got != addr6.String() {
		t.Errorf("inspect's GlobalIPv6Address of %s: %q, want %s", v6, got, addr6)
	}
	url6 := "http://[" + addr6.String() + "]/"
	if r := e.fetchFrom(e.name("peer6"), six, url6, 25); r.code != 0 || !strings.Contains(r.stdout, "hello-six") {
		t.Errorf("a peer fetching %s over IPv6: %s", url6, r)
	}

	e.must("rm", "-f", inner, v6)
	for _, n := range []string{internal, open, six} {
		e.must("network", "rm", n)
	}
	if after := countLeftovers(t, rt); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
}
