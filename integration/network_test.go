//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/network"
)

// The network tests drive the network package (and ctr-unit network)
// inside the box, whose network namespace is its own (hack/sysbox): the
// bridges, veths, firewall rules and addresses they make exist only
// there, and their traffic goes only to loopback or to the containers'
// addresses on the test networks (10.81.0.0/16, fd81::/16).

// netEnv is one test's networks: its own definitions and runtime dir.
type netEnv struct {
	t      *testing.T
	store  *network.Store
	rt     *network.Runtime
	prefix string
}

func newNetEnv(t *testing.T) *netEnv {
	t.Helper()
	if binary == "" {
		t.Skip("not inside hack/sysbox")
	}
	// Only loopback and what the tests make (bridges, veths): never a
	// real interface, which only the host's namespace has.
	out, err := exec.Command("ip", "-o", "-d", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] != "lo:" && !strings.Contains(l, " veth ") && !strings.Contains(l, " bridge ") {
			t.Fatalf("the network namespace has %s: not the box's own? (run inside hack/sysbox)", f[1])
		}
	}
	if _, err := os.Stat("/usr/lib/podman/netavark"); err != nil {
		t.Fatalf("netavark is not installed (apt-get install netavark aardvark-dns): %v", err)
	}
	dir := t.TempDir()
	st := &network.Store{Dir: filepath.Join(dir, "networks")}
	e := &netEnv{t: t, store: st, rt: &network.Runtime{Store: st, RuntimeDir: filepath.Join(dir, "run")},
		prefix: fmt.Sprintf("n%d", testSeq.Add(1))}
	return e
}

// create makes a network; its name and bridge are unique to the test.
func (e *netEnv) create(name, subnet string, o network.CreateOptions) *network.Network {
	e.t.Helper()
	o.Name = e.prefix + name
	if subnet != "" {
		o.Subnets = append([]string{subnet}, o.Subnets...)
	}
	o.Interface = e.prefix + name
	if len(o.Interface) > 15 {
		e.t.Fatalf("bridge name %s too long", o.Interface)
	}
	n, err := e.store.Create(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// setup joins container name to networks; it is torn down at the end.
func (e *netEnv) setup(name string, ports []string, nets ...string) *network.Attachment {
	e.t.Helper()
	req := network.SetupRequest{Container: e.prefix + name}
	for _, n := range nets {
		req.Networks = append(req.Networks, network.Attach{Network: e.prefix + n})
	}
	for _, p := range ports {
		m, err := network.ParsePublish(p)
		if err != nil {
			e.t.Fatal(err)
		}
		req.Ports = append(req.Ports, m)
	}
	a, err := e.rt.Setup(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { e.rt.Teardown(context.Background(), req.Container) })
	return a
}

func addr(a *network.Attachment, i int) netip.Addr { return a.Networks[0].Addresses[i].Addr() }

// httpd serves body with busybox httpd on port 80 inside a namespace,
// until the test ends.
func httpd(t *testing.T, netns, body string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", "--net="+netns, "--", "busybox", "httpd", "-f", "-p", "80", "-h", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// wget fetches url, from netns ("" for the box itself).
func wget(netns, url string) (string, error) {
	// busybox 1.35's wget -T crashes: timeout(1) bounds it instead (a
	// dropped connection would hang).
	args := []string{"timeout", "3", "busybox", "wget", "-q", "-O", "-", url}
	if netns != "" {
		args = append([]string{"nsenter", "--net=" + netns, "--"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("wget %s: %w: %s", url, err, out)
	}
	return string(out), nil
}

// wgetEventually retries while the server starts.
func wgetEventually(t *testing.T, netns, url string) string {
	t.Helper()
	var err error
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if body, err = wget(netns, url); err == nil {
			return body
		}
	}
	t.Fatalf("from %q: %v", netns, err)
	return ""
}

func urlOf(a netip.Addr, port int) string {
	return "http://" + net.JoinHostPort(a.String(), fmt.Sprint(port)) + "/"
}

func TestNetworkPublishedPortAnswers(t *testing.T) {
	e := newNetEnv(t)
	e.create("pp", "10.81.1.0/24", network.CreateOptions{})
	a := e.setup("web", []string{"18080:80"}, "pp")
	httpd(t, a.Netns, "hello from web")
	if got := wgetEventually(t, "", "http://127.0.0.1:18080/"); got != "hello from web" {
		t.Errorf("127.0.0.1:18080 answered %q", got)
	}
	if a.Ports[0].HostPort != 18080 || a.Ports[0].ContainerPort != 80 {
		t.Errorf("recorded ports %+v", a.Ports)
	}
	// A port left to ctr-unit gets a free one, which answers too.
	b := e.setup("web2", []string{"80"}, "pp")
	httpd(t, b.Netns, "hello from web2")
	if p := b.Ports[0].HostPort; p == 0 || p == 18080 {
		t.Fatalf("picked host port %d", p)
	} else if got := wgetEventually(t, "", fmt.Sprintf("http://127.0.0.1:%d/", p)); got != "hello from web2" {
		t.Errorf("picked port %d answered %q", p, got)
	}
	if err := e.rt.Teardown(context.Background(), e.prefix+"web"); err != nil {
		t.Fatal(err)
	}
	if _, err := wget("", "http://127.0.0.1:18080/"); err == nil {
		t.Error("the port still answers after teardown")
	}
}

func TestNetworkContainersFindEachOtherByName(t *testing.T) {
	e := newNetEnv(t)
	e.create("dns", "10.81.2.0/24", network.CreateOptions{})
	req := network.SetupRequest{Container: e.prefix + "a", Networks: []network.Attach{{Network: e.prefix + "dns", Aliases: []string{"alpha"}}}}
	a, err := e.rt.Setup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.rt.Teardown(context.Background(), req.Container) })
	b := e.setup("b", nil, "dns")
	httpd(t, b.Netns, "b here")

	// The container's resolv.conf points at the network's DNS server.
	host, upstream, _, err := network.ReadHostFiles()
	if err != nil {
		t.Fatal(err)
	}
	rc := string(network.ResolvConf(network.ResolvConfParams{Host: host, ResolvedUpstream: upstream, OwnNetns: true,
		NetworkServers: a.DNSServers, NetworkSearch: a.DNSSearch}))
	if !strings.Contains(rc, "nameserver 10.81.2.1\n") || !strings.HasPrefix(rc, "search dns.podman") {
		t.Fatalf("resolv.conf of a:\n%s", rc)
	}
	server := strings.Fields(strings.SplitAfter(rc, "nameserver ")[1])[0]

	for _, q := range []struct {
		from *network.Attachment
		name string
		want netip.Addr
	}{
		{a, e.prefix + "b", addr(b, 0)},
		{a, e.prefix + "b.dns.podman", addr(b, 0)},
		{b, e.prefix + "a", addr(a, 0)},
		{b, "alpha", addr(a, 0)},
	} {
		// aardvark-dns loads new entries on a SIGHUP from netavark, a
		// moment after setup returns.
		var got netip.Addr
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got, err = lookup(q.from.Netns, server, q.name); err == nil {
				break
			}
		}
		if err != nil || got != q.want {
			t.Errorf("%s resolves %s to %v (%v), want %v", q.from.Container, q.name, got, err, q.want)
		}
	}
	ip, err := lookup(a.Netns, server, e.prefix+"b")
	if err != nil {
		t.Fatal(err)
	}
	if got := wgetEventually(t, a.Netns, urlOf(ip, 80)); got != "b here" {
		t.Errorf("a reached b by name and got %q", got)
	}
}

// lookup resolves name with the server, from inside netns.
func lookup(netns, server, name string) (netip.Addr, error) {
	out, err := exec.Command("nsenter", "--net="+netns, "--", "busybox", "nslookup", "-type=a", name, server).CombinedOutput()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("nslookup %s: %w: %s", name, err, out)
	}
	// The answer section follows the server's own "Address: S:53" line.
	for _, l := range strings.Split(string(out), "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(l), "Address:"); ok {
			if ip, err := netip.ParseAddr(strings.TrimSpace(a)); err == nil {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("nslookup %s: no address in %q", name, out)
}

func TestNetworksAreIsolated(t *testing.T) {
	e := newNetEnv(t)
	e.create("one", "10.81.3.0/24", network.CreateOptions{})
	e.create("two", "10.81.4.0/24", network.CreateOptions{})
	a := e.setup("a", nil, "one")
	b := e.setup("b", nil, "two")
	c := e.setup("c", nil, "two")
	httpd(t, b.Netns, "b here")
	if got := wgetEventually(t, c.Netns, urlOf(addr(b, 0), 80)); got != "b here" {
		t.Fatalf("c, on b's network, got %q", got)
	}
	if got, err := wget(a.Netns, urlOf(addr(b, 0), 80)); err == nil {
		t.Errorf("a, on another network, reached b: %q", got)
	}
}

// boxServer serves "box" on all the box's addresses (the bridges'
// gateways among them) until the test ends, and returns its port.
func boxServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "box") })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func TestInternalNetworkHasNoRouteOut(t *testing.T) {
	e := newNetEnv(t)
	e.create("int", "10.81.5.0/24", network.CreateOptions{Internal: true})
	e.create("ext", "10.81.6.0/24", network.CreateOptions{})
	i := e.setup("i", nil, "int")
	x := e.setup("x", nil, "ext")
	port := boxServer(t)
	outside := netip.MustParseAddr("10.81.5.1") // for x, beyond its own network
	if got := wgetEventually(t, x.Netns, urlOf(outside, port)); got != "box" {
		t.Fatalf("x (not internal) got %q from %v", got, outside)
	}
	if got, err := wget(i.Netns, urlOf(netip.MustParseAddr("10.81.6.1"), port)); err == nil {
		t.Errorf("i (internal) reached beyond its network: %q", got)
	}
	routes, err := exec.Command("nsenter", "--net="+i.Netns, "--", "ip", "route").CombinedOutput()
	if err != nil || strings.Contains(string(routes), "default") {
		t.Errorf("routes of i: %s %v", routes, err)
	}
	if _, err := e.rt.Setup(context.Background(), network.SetupRequest{Container: e.prefix + "p",
		Networks: []network.Attach{{Network: e.prefix + "int"}}, Ports: []network.PortMapping{{HostPort: 18200, ContainerPort: 80, Protocol: "tcp"}}}); !errors.Is(err, network.ErrInvalid) {
		t.Errorf("a published port on an internal network: %v, want refused", err)
	}
}

func TestNetworkIPv6(t *testing.T) {
	e := newNetEnv(t)
	e.create("six", "10.81.9.0/24", network.CreateOptions{IPv6: true, Subnets: []string{"fd81:9::/64"}})
	a := e.setup("a", nil, "six")
	b := e.setup("b", nil, "six")
	if len(b.Networks[0].Addresses) != 2 || !addr(b, 1).Is6() || !netip.MustParsePrefix("fd81:9::/64").Contains(addr(b, 1)) {
		t.Fatalf("b's addresses %v", b.Networks[0].Addresses)
	}
	httpd(t, b.Netns, "b over v6")
	if got := wgetEventually(t, a.Netns, urlOf(addr(b, 1), 80)); got != "b over v6" {
		t.Errorf("a got %q from b over IPv6", got)
	}
}

// leftovers is what a container's network may leave behind.
type leftovers struct {
	Veths, Bridges, Rules, NetnsMounts, Records, Addresses, DNSEntries, DNSServers int
}

func countLeftovers(t *testing.T, rt *network.Runtime) leftovers {
	t.Helper()
	var c leftovers
	lines := func(args ...string) []string {
		out, err := exec.Command(args[0], args[1:]...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	for _, l := range lines("ip", "-o", "-d", "link", "show") {
		switch {
		case strings.Contains(l, " veth "):
			c.Veths++
		case strings.Contains(l, " bridge "):
			c.Bridges++
		}
	}
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		for _, l := range lines(tool) {
			if strings.HasPrefix(l, "-A ") || strings.HasPrefix(l, ":") {
				c.Rules++
			}
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	c.NetnsMounts = strings.Count(string(mi), " "+rt.NetnsPath("")+"/")
	if ents, err := os.ReadDir(filepath.Join(rt.RuntimeDir, "net", "containers")); err == nil {
		c.Records = len(ents)
	}
	var book struct {
		Networks map[string]map[string]string `json:"networks"`
	}
	if data, err := os.ReadFile(filepath.Join(rt.RuntimeDir, "net", "ipam.json")); err == nil && len(data) > 0 {
		if err := json.Unmarshal(data, &book); err != nil {
			t.Fatal(err)
		}
	}
	for _, held := range book.Networks {
		c.Addresses += len(held)
	}
	dnsDir := filepath.Join(rt.RuntimeDir, "net", "netavark", "aardvark-dns")
	if ents, err := os.ReadDir(dnsDir); err == nil {
		for _, ent := range ents {
			if strings.HasPrefix(ent.Name(), "ctr-unit.") {
				data, _ := os.ReadFile(filepath.Join(dnsDir, ent.Name()))
				c.DNSEntries += strings.Count(strings.TrimSpace(string(data)), "\n") // the first line is the network's
			}
		}
	}
	for _, pid := range lines("sh", "-c", "pgrep -x aardvark-dns || true") {
		if cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline"); err == nil && strings.Contains(string(cmdline), rt.RuntimeDir) {
			c.DNSServers++
		}
	}
	return c
}

var netsetterOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "netsetter-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "netsetter")
	build := exec.Command("go", "build", "-o", bin, "./testdata/netsetter")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build netsetter: %w\n%s", err, out)
	}
	return bin, nil
})

// TestNetworkCyclesLeaveNothing sets up and tears down one container 50
// times, with the setter-upper killed mid-way (as a unit, with its whole
// cgroup, at a random moment), the container's processes killed with
// SIGKILL or systemctl kill, setups repeated without a teardown (a
// Restart= that skipped the stop step), and clean runs; then counts what
// is left against what was there before.
func TestNetworkCyclesLeaveNothing(t *testing.T) {
	e := newNetEnv(t)
	setter, err := netsetterOnce()
	if err != nil {
		t.Fatal(err)
	}
	e.create("cyc", "10.81.7.0/24", network.CreateOptions{})
	name := e.prefix + "c"
	ctx := context.Background()
	args := func(verb string) []string {
		return []string{setter, "-networks", e.store.Dir, "-runtime", e.rt.RuntimeDir, "-p", "18090:80", verb, name, e.prefix + "cyc"}
	}
	unit := func(i int) string { return fmt.Sprintf("%s-cycle%d", e.prefix, i) }
	run := func(a ...string) {
		t.Helper()
		if out, err := exec.Command(a[0], a[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", a, err, out)
		}
	}
	waitGone := func(u string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			out, _ := exec.Command("systemctl", "is-active", u).Output()
			if s := strings.TrimSpace(string(out)); s != "active" && s != "activating" && s != "deactivating" {
				return
			}
		}
		t.Fatalf("unit %s did not end", u)
	}

	// A first cycle makes netavark's own chains, which stay (as with podman).
	t0 := time.Now()
	run(args("setup")...)
	setupTime := time.Since(t0)
	run(args("teardown")...)
	before := countLeftovers(t, e.rt)
	t.Logf("before: %+v (one setup by the setter: %v)", before, setupTime.Round(time.Millisecond))

	kinds := map[string]int{}
	for i := range 50 {
		switch i % 5 {
		case 0, 4: // the setter killed with its cgroup, mid-way
			u := unit(i)
			run(append([]string{"systemd-run", "-q", "--collect", "--unit", u}, args("setup")...)...)
			time.Sleep(time.Duration(rand.Int64N(int64(setupTime * 3 / 2))))
			exec.Command("systemctl", "kill", "-s", "KILL", u).Run()
			waitGone(u)
			kinds["setter killed"]++
		case 1, 2: // set up, then the container's process killed
			run(append([]string{"systemd-run", "-q", "--collect", "--wait", "--unit", unit(i)}, args("setup")...)...)
			u := unit(i) + "-ctr"
			run("systemd-run", "-q", "--collect", "--unit", u, "nsenter", "--net="+e.rt.NetnsPath(name), "--", "busybox", "httpd", "-f", "-p", "80", "-h", "/")
			if i%5 == 1 {
				pid, _ := exec.Command("systemctl", "show", "-P", "MainPID", u).Output()
				run("kill", "-9", strings.TrimSpace(string(pid)))
				kinds["container SIGKILL"]++
			} else {
				run("systemctl", "kill", u)
				kinds["systemctl kill"]++
			}
			waitGone(u)
		case 3: // set up twice with no teardown between, then clean
			run(args("setup")...)
			run(args("setup")...)
			kinds["setup twice"]++
		}
		// The stop step.
		if err := e.rt.Teardown(ctx, name); err != nil {
			t.Logf("cycle %d: teardown: %v", i, err)
		}
		if network.IsNetns(e.rt.NetnsPath(name)) {
			t.Fatalf("cycle %d: the namespace is still mounted", i)
		}
	}
	after := countLeftovers(t, e.rt)
	t.Logf("after 50 cycles %v: %+v", kinds, after)
	if after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
		out, _ := exec.Command("sh", "-c", "ip -o link; iptables-save; ls -R "+e.rt.RuntimeDir).CombinedOutput()
		t.Logf("%s", out)
	}
}

func TestNetworkBadInputChangesNothing(t *testing.T) {
	e := newNetEnv(t)
	e.create("bad", "10.81.8.0/24", network.CreateOptions{})
	e.setup("a", []string{"18100:80"}, "bad")
	ctx := context.Background()
	before := countLeftovers(t, e.rt)
	recBefore, _ := os.ReadFile(filepath.Join(e.rt.RuntimeDir, "net", "ipam.json"))

	// A process of the box's holding a port.
	l, err := net.Listen("tcp", "127.0.0.1:18101")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tt := range []struct {
		req  network.SetupRequest
		want string
		is   error
	}{
		{network.SetupRequest{Networks: []network.Attach{{Network: e.prefix + "bad"}}, Ports: []network.PortMapping{{HostPort: 18100, ContainerPort: 80, Protocol: "tcp"}}},
			"published by container " + e.prefix + "a", network.ErrAddressInUse},
		{network.SetupRequest{Networks: []network.Attach{{Network: e.prefix + "bad"}}, Ports: []network.PortMapping{{HostPort: 18101, ContainerPort: 80, Protocol: "tcp"}}},
			"in use on the host", network.ErrAddressInUse},
		{network.SetupRequest{Networks: []network.Attach{{Network: e.prefix + "bad", IPs: []netip.Addr{netip.MustParseAddr("10.81.99.5")}}}},
			"outside network", network.ErrInvalid},
		{network.SetupRequest{Networks: []network.Attach{{Network: e.prefix + "bad", IPs: []netip.Addr{addrOf(t, e, "a")}}}},
			"is container " + e.prefix + "a's", network.ErrAddressInUse},
		{network.SetupRequest{Networks: []network.Attach{{Network: e.prefix + "nosuch"}}},
			"no such network", network.ErrNoSuchNetwork},
	} {
		tt.req.Container = e.prefix + "b"
		_, err := e.rt.Setup(ctx, tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), "container "+e.prefix+"b") {
			t.Errorf("Setup(%+v) = %v; want an error naming container %sb with %q", tt.req, err, e.prefix, tt.want)
		}
	}
	if after := countLeftovers(t, e.rt); after != before {
		t.Errorf("refused setups changed things: before %+v, after %+v", before, after)
	}
	if recAfter, _ := os.ReadFile(filepath.Join(e.rt.RuntimeDir, "net", "ipam.json")); string(recAfter) != string(recBefore) {
		t.Errorf("refused setups changed the address book:\n%s\n%s", recBefore, recAfter)
	}

	// The command line: a bad subnet is a clear error and stores nothing.
	ne := newEnv(t)
	ne.runtimeDir = e.rt.RuntimeDir // where a's network is recorded
	cli := func(args ...string) result {
		return ne.ctr(append([]string{"network", "--network-config-dir", e.store.Dir}, args...)...)
	}
	lsBefore := cli("ls", "--format", "json")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--subnet", "10.81.10.5/24", e.prefix + "x"}, "did you mean 10.81.10.0/24"},
		{[]string{"create", "--subnet", "10.81.8.0/25", e.prefix + "x"}, "overlaps 10.81.8.0/24 of network " + e.prefix + "bad"},
		{[]string{"create", "--subnet", "10.81.10.0/24", "--gateway", "10.81.11.1", e.prefix + "x"}, "gateway 10.81.11.1: not a host address of subnet 10.81.10.0/24"},
		{[]string{"create", e.prefix + "bad"}, "already exists"},
		{[]string{"create", "host"}, "network mode"},
		{[]string{"rm", e.prefix + "bad"}, "used by " + e.prefix + "a"},
		{[]string{"rm", network.DefaultNetwork}, "cannot be removed"},
		{[]string{"inspect", e.prefix + "nosuch"}, "no such network"},
	} {
		r := cli(tt.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("network %v: %s; want a failure with %q", tt.args, r, tt.want)
		}
	}
	if lsAfter := cli("ls", "--format", "json"); lsAfter.stdout != lsBefore.stdout {
		t.Errorf("refused commands changed the networks:\n%s\n%s", lsBefore.stdout, lsAfter.stdout)
	}
}

func addrOf(t *testing.T, e *netEnv, name string) netip.Addr {
	t.Helper()
	a, err := e.rt.Attachment(e.prefix + name)
	if err != nil || a == nil {
		t.Fatalf("attachment of %s: %v", name, err)
	}
	return addr(a, 0)
}

func TestNetworkAddressesOfAnEarlierBootAreFree(t *testing.T) {
	e := newNetEnv(t)
	e.create("boot", "10.81.12.0/24", network.CreateOptions{})
	a := e.setup("a", nil, "boot")
	if got := addr(a, 0).String(); got != "10.81.12.2" {
		t.Fatalf("first address %s", got)
	}
	// The same runtime dir seen from a later boot (as a runtime dir that
	// is not a tmpfs would be): nothing is attached, every address free.
	later := *e.rt
	later.BootID = func() (string, error) { return "a-later-boot", nil }
	if recs, err := later.Attachments(context.Background()); err != nil || len(recs) != 0 {
		t.Errorf("attachments seen from a later boot: %v, %v", recs, err)
	}
	users, err := later.Users(context.Background(), e.prefix+"boot")
	if err != nil || len(users) != 0 {
		t.Errorf("users seen from a later boot: %v, %v", users, err)
	}
}

func TestNetworkCommands(t *testing.T) {
	e := newNetEnv(t)
	ne := newEnv(t)
	cli := func(args ...string) string {
		t.Helper()
		return ne.must(append([]string{"network", "--network-config-dir", e.store.Dir}, args...)...)
	}
	if got := cli("create", "--subnet", "10.81.13.0/24", "--internal", "--interface-name", e.prefix+"cli", e.prefix+"web"); got != e.prefix+"web\n" {
		t.Errorf("create printed %q", got)
	}
	cli("create", "--subnet", "10.81.14.0/24", "--ipv6", "--interface-name", e.prefix+"cl6", e.prefix+"six")
	cli("create", "--subnet", "10.81.15.0/24", "--interface-name", e.prefix+"cl7", e.prefix+"used")
	ls := cli("ls")
	for _, want := range []string{"NETWORK ID", network.DefaultNetwork, e.prefix + "web", e.prefix + "six", "bridge"} {
		if !strings.Contains(ls, want) {
			t.Errorf("ls lacks %q:\n%s", want, ls)
		}
	}
	if got := cli("ls", "-q"); !strings.HasPrefix(got, network.DefaultNetwork+"\n") {
		t.Errorf("ls -q:\n%s", got)
	}
	var nets []map[string]any
	if err := json.Unmarshal([]byte(cli("inspect", e.prefix+"web", e.prefix+"six")), &nets); err != nil || len(nets) != 2 {
		t.Fatalf("inspect: %v %v", nets, err)
	}
	if nets[0]["internal"] != true || nets[0]["network_interface"] != e.prefix+"cli" || nets[1]["ipv6_enabled"] != true {
		t.Errorf("inspect: %v", nets)
	}
	if got := cli("inspect", "--format", "{{.Name}} {{range .Subnets}}{{.Subnet}} {{end}}", e.prefix+"web"); got != e.prefix+"web 10.81.13.0/24 \n" {
		t.Errorf("inspect --format: %q", got)
	}
	// A network in use survives rm and prune.
	a, err := e.rt.Setup(context.Background(), network.SetupRequest{Container: e.prefix + "a", Networks: []network.Attach{{Network: e.prefix + "used"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.rt.Teardown(context.Background(), a.Container)
	ne2 := &env{t: t, stateDir: ne.stateDir, runtimeDir: e.rt.RuntimeDir, prefix: ne.prefix}
	cli2 := func(args ...string) result {
		return ne2.ctr(append([]string{"network", "--network-config-dir", e.store.Dir}, args...)...)
	}
	if r := cli2("rm", e.prefix+"used"); r.code == 0 || !strings.Contains(r.stderr, "used by "+e.prefix+"a") {
		t.Errorf("rm of a network in use: %s", r)
	}
	if r := cli2("rm", e.prefix+"web"); r.code != 0 || r.stdout != e.prefix+"web\n" {
		t.Errorf("rm: %s", r)
	}
	r := cli2("prune", "-f")
	if r.code != 0 || r.stdout != e.prefix+"six\n" {
		t.Errorf("prune: %s", r)
	}
	if got := cli("ls", "-q"); got != network.DefaultNetwork+"\n"+e.prefix+"used\n" {
		t.Errorf("after rm and prune:\n%s", got)
	}
	if r := cli2("prune"); r.code == 0 || !strings.Contains(r.stderr, "not confirmed") {
		t.Errorf("prune without -f, no answer: %s", r)
	}
}
