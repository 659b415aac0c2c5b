// Command netmeasure compares the two candidate network backends, netavark
// (+ aardvark-dns) and CNI (libcni + Debian's plugins + dnsname), on what
// ctr-unit needs: the time to set up one container's namespace on a bridge
// with one published port, name resolution between two containers, and
// what a crash of the setter-upper leaves behind.
//
// It changes the network of the namespace it runs in: run it only inside
// a hack/sysbox box, which has a network namespace of its own:
//
//	hack/sysbox run v2 --name net-m -- sh -c 'cd hack/netmeasure && go run . -backend netavark'
//	hack/sysbox run v2 --name net-m -- sh -c 'cd hack/netmeasure && go run . -backend cni'
//
// It is a separate module so that libcni stays out of ctr-unit's own.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/network"
)

const (
	root        = "/run/netmeasure"
	netavarkBin = "/usr/lib/podman/netavark"
	aardvarkBin = "/usr/lib/podman/aardvark-dns"
	cniPlugins  = "/usr/lib/cni"
	netName     = "measure"
	bridge      = "nm0"
	subnet      = "10.89.0.0/24"
	gateway     = "10.89.0.1"
)

type backend interface {
	// setup returns the container's address.
	setup(ctx context.Context, id, name string, idx, hostPort int) (string, error)
	teardown(ctx context.Context, id, name string, idx, hostPort int) error
	// leftovers names what the backend keeps on disk for containers.
	leftovers() []string
	// ownsNetns: setup makes the namespace and teardown removes it.
	ownsNetns() bool
}

func mkns(b backend, id string) error {
	if b.ownsNetns() {
		return nil
	}
	return network.CreateNetns(nsPath(id))
}

func rmns(b backend, id string) error {
	if b.ownsNetns() {
		return nil
	}
	return network.RemoveNetns(nsPath(id))
}

func nsPath(id string) string { return filepath.Join(root, "netns", id) }

func ip(idx int) string { return fmt.Sprintf("10.89.0.%d", idx+2) }

// ---------------------------------------------------------------- netavark

type netavark struct{}

func (netavark) opts(id, name string, idx, hostPort int) []byte {
	o := map[string]any{
		"container_id":   id,
		"container_name": name,
		"networks": map[string]any{netName: map[string]any{
			"interface_name": "eth0",
			"static_ips":     []string{ip(idx)},
			"aliases":        []string{name},
		}},
		"network_info": map[string]any{netName: map[string]any{
			"name": netName, "id": strings.Repeat("ab", 32), "driver": "bridge",
			"network_interface": bridge,
			"subnets":           []map[string]string{{"subnet": subnet, "gateway": gateway}},
			"ipv6_enabled":      false, "internal": false, "dns_enabled": true,
			"ipam_options": map[string]string{"driver": "host-local"},
		}},
		"port_mappings": []map[string]any{{"host_ip": "", "container_port": 80, "host_port": hostPort, "range": 1, "protocol": "tcp"}},
	}
	b, _ := json.Marshal(o)
	return b
}

func (n netavark) run(ctx context.Context, verb, id, name string, idx, hostPort int) error {
	cmd := exec.CommandContext(ctx, netavarkBin, "--config", filepath.Join(root, "netavark"),
		"--aardvark-binary", aardvarkBin, verb, nsPath(id))
	cmd.Stdin = strings.NewReader(string(n.opts(id, name, idx, hostPort)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("netavark %s: %w: %s", verb, err, out)
	}
	return nil
}

func (n netavark) setup(ctx context.Context, id, name string, idx, hostPort int) (string, error) {
	return ip(idx), n.run(ctx, "setup", id, name, idx, hostPort)
}

func (n netavark) teardown(ctx context.Context, id, name string, idx, hostPort int) error {
	return n.run(ctx, "teardown", id, name, idx, hostPort)
}

func (netavark) ownsNetns() bool { return false }
func (*cni) ownsNetns() bool     { return false }

func (netavark) leftovers() []string {
	return []string{filepath.Join(root, "netavark", "aardvark-dns", netName)}
}

// ---------------------------------------------------------------- ctr-unit

// pkg is ctr-unit's network package: netavark plus its own address book,
// namespace, record and checks.
type pkg struct{ rt *network.Runtime }

func newPkg() *pkg {
	st := &network.Store{Dir: filepath.Join(root, "networks")}
	if _, err := st.Get(netName); err != nil {
		_, err := st.Create(network.CreateOptions{Name: netName, Subnets: []string{subnet}, Interface: bridge})
		must(err)
	}
	return &pkg{rt: &network.Runtime{Store: st, RuntimeDir: root}}
}

func (p *pkg) setup(ctx context.Context, id, name string, idx, hostPort int) (string, error) {
	a, err := p.rt.Setup(ctx, network.SetupRequest{Container: id,
		Networks: []network.Attach{{Network: netName, IPs: []netip.Addr{netip.MustParseAddr(ip(idx))}}},
		Ports:    []network.PortMapping{{HostPort: uint16(hostPort), ContainerPort: 80, Protocol: "tcp", Range: 1}}})
	if err != nil {
		return "", err
	}
	return a.Networks[0].Addresses[0].Addr().String(), nil
}

func (p *pkg) teardown(ctx context.Context, id, name string, idx, hostPort int) error {
	return p.rt.Teardown(ctx, id)
}

func (p *pkg) leftovers() []string {
	return []string{filepath.Join(root, "net", "netavark", "aardvark-dns", "ctr-unit."+netName), filepath.Join(root, "net", "containers")}
}

func (p *pkg) ownsNetns() bool { return true }

// --------------------------------------------------------------------- CNI

type cni struct {
	c    *libcni.CNIConfig
	conf *libcni.NetworkConfigList
}

func newCNI() (*cni, error) {
	conf := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "routes": [{"dst": "0.0.0.0/0"}],
              "ranges": [[{"subnet": %q, "gateway": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"},
    {"type": "tuning"},
    {"type": "dnsname", "domainName": "dns.podman", "capabilities": {"aliases": true}}
  ]
}`, netName, bridge, filepath.Join(root, "cni-ipam"), subnet, gateway)
	list, err := libcni.ConfListFromBytes([]byte(conf))
	if err != nil {
		return nil, err
	}
	return &cni{c: libcni.NewCNIConfigWithCacheDir([]string{cniPlugins}, filepath.Join(root, "cni-cache"), nil), conf: list}, nil
}

func (c *cni) rt(id, name string, hostPort int) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: id, NetNS: nsPath(id), IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", name}},
		CapabilityArgs: map[string]any{
			"portMappings": []map[string]any{{"hostPort": hostPort, "containerPort": 80, "protocol": "tcp"}},
			"aliases":      map[string][]string{netName: {name}},
		},
	}
}

func (c *cni) setup(ctx context.Context, id, name string, idx, hostPort int) (string, error) {
	r, err := c.c.AddNetworkList(ctx, c.conf, c.rt(id, name, hostPort))
	if err != nil {
		return "", err
	}
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) == 0 {
		return "", fmt.Errorf("no address in %v: %v", r, err)
	}
	return res.IPs[0].Address.IP.String(), nil
}

func (c *cni) teardown(ctx context.Context, id, name string, idx, hostPort int) error {
	return c.c.DelNetworkList(ctx, c.conf, c.rt(id, name, hostPort))
}

func (*cni) leftovers() []string {
	return []string{filepath.Join(root, "cni-ipam", netName), filepath.Join(root, "cni-cache", "results"),
		"/run/containers/cni/dnsname/" + netName + "/addnhosts"}
}

// ------------------------------------------------------------------ counts

// counts is what a container's network may leave in the namespace.
type counts struct {
	veths, rules, nsMounts, files int
	procs                         string
}

func sh(args ...string) string {
	out, _ := exec.Command(args[0], args[1:]...).CombinedOutput()
	return string(out)
}

func count(b backend) counts {
	var c counts
	c.veths = strings.Count(sh("ip", "-o", "link", "show", "type", "veth"), "\n")
	for _, l := range strings.Split(sh("iptables-save"), "\n") {
		if strings.HasPrefix(l, "-A ") {
			c.rules++
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	c.nsMounts = strings.Count(string(mi), filepath.Join(root, "netns"))
	for _, p := range b.leftovers() {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			ents, _ := os.ReadDir(p)
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), "last_reserved") && e.Name() != "lock" {
					c.files++
				}
			}
		} else if err == nil {
			data, _ := os.ReadFile(p)
			c.files += strings.Count(strings.TrimSpace(string(data)), "\n")
		}
	}
	c.procs = strings.Join(strings.Fields(sh("sh", "-c", "ps -eo comm | grep -E 'aardvark|dnsmasq' | sort | uniq -c")), " ")
	return c
}

// ---------------------------------------------------------------- helpers

// cpu is the CPU time used so far by this process and every child it
// has waited for (with their own waited-for children).
func cpu() time.Duration {
	var self, kids unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	tv := func(t unix.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// inNetns runs f on a thread that has joined the namespace at path.
func inNetns(path string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with us
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}

// listen opens a TCP listener on :80 inside a namespace that answers
// every connection with the container's name.
func listen(id, name string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(nsPath(id), func() (err error) {
		l, err = net.Listen("tcp", ":80")
		return err
	})
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name))
			c.Close()
		}
	}()
	return l, nil
}

func dial(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	return string(buf[:n]), nil
}

// resolve asks the network's DNS server, from inside namespace id.
func resolve(id, name string) (string, error) {
	var addr string
	err := inNetns(nsPath(id), func() error {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", gateway+":53")
		}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		addrs, err := r.LookupHost(ctx, name)
		if err != nil {
			return err
		}
		addr = addrs[0]
		return nil
	})
	return addr, err
}

func stats(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return fmt.Sprintf("median %.1f ms, min %.1f, max %.1f (n=%d)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]), len(s))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "netmeasure:", err)
		os.Exit(1)
	}
}

func newBackend(name string) backend {
	switch name {
	case "netavark":
		return netavark{}
	case "cni":
		c, err := newCNI()
		must(err)
		return c
	case "ctr-unit":
		return newPkg()
	}
	must(fmt.Errorf("unknown backend %q", name))
	return nil
}

// --------------------------------------------------------------------- main

func main() {
	which := flag.String("backend", "netavark", "netavark, cni, or ctr-unit (its network package, over netavark)")
	n := flag.Int("n", 20, "setup/teardown cycles")
	crashes := flag.Int("crashes", 20, "setups killed mid-way")
	setter := flag.String("setter", "", "internal: set up container ID (killed by the caller)")
	flag.Parse()
	if os.Getenv("SYSBOX") == "" {
		must(fmt.Errorf("run me inside hack/sysbox: I change the network of my namespace"))
	}
	b := newBackend(*which)
	ctx := context.Background()

	if *setter != "" {
		idx, _ := strconv.Atoi(flag.Arg(0))
		must(mkns(b, *setter))
		_, err := b.setup(ctx, *setter, *setter, idx, 9000+idx)
		must(err)
		return
	}

	must(os.MkdirAll(filepath.Join(root, "netavark"), 0o755))
	before := count(b)
	fmt.Printf("backend %s; before: %+v\n", *which, before)

	// 1. Setup and teardown latency, one published port each.
	// Wall-clock times suffer from whatever else runs on the machine;
	// CPU times (this process and every program it ran: netavark or the
	// plugins, and their iptables) much less.
	var nsOnly, first, warm, down, warmCPU, downCPU []time.Duration
	for i := 0; i < *n; i++ {
		id := fmt.Sprintf("lat%d", i)
		t0, c0 := time.Now(), cpu()
		must(mkns(b, id))
		t1 := time.Now()
		_, err := b.setup(ctx, id, id, i, 8000+i)
		must(err)
		t2, c2 := time.Now(), cpu()
		nsOnly = append(nsOnly, t1.Sub(t0))
		if i == 0 {
			first = append(first, t2.Sub(t0))
		} else {
			warm = append(warm, t2.Sub(t0))
			warmCPU = append(warmCPU, c2-c0)
		}
		// A published port answers, on loopback and on the gateway.
		l, err := listen(id, id)
		must(err)
		for _, a := range []string{"127.0.0.1", gateway} {
			got, err := dial(fmt.Sprintf("%s:%d", a, 8000+i))
			if err != nil || got != id {
				fmt.Printf("  published port %s:%d: got %q, %v\n", a, 8000+i, got, err)
			}
		}
		l.Close()
		t3, c3 := time.Now(), cpu()
		must(b.teardown(ctx, id, id, i, 8000+i))
		must(rmns(b, id))
		down = append(down, time.Since(t3))
		if i > 0 {
			downCPU = append(downCPU, cpu()-c3)
		}
	}
	fmt.Printf("netns alone:            %s\n", stats(nsOnly))
	fmt.Printf("setup, first (bridge):  %s\n", stats(first))
	fmt.Printf("setup, next:            %s\n", stats(warm))
	fmt.Printf("  CPU:                  %s\n", stats(warmCPU))
	fmt.Printf("teardown (+ netns rm):  %s\n", stats(down))
	fmt.Printf("  CPU:                  %s\n", stats(downCPU))
	fmt.Printf("after cycles: %+v\n", count(b))

	// 2. Name resolution between two containers.
	var ipB string
	for i, id := range []string{"dnsa", "dnsb"} {
		must(mkns(b, id))
		a, err := b.setup(ctx, id, id, 100+i, 8100+i)
		must(err)
		ipB = a
	}
	tb := time.Now()
	var resolvable time.Duration
	for {
		if a, err := resolve("dnsa", "dnsb"); err == nil && a == ipB {
			resolvable = time.Since(tb)
			break
		}
		if time.Since(tb) > 5*time.Second {
			fmt.Println("  dnsb never resolved from dnsa")
			break
		}
		time.Sleep(time.Millisecond)
	}
	var q []time.Duration
	for i := 0; i < 20; i++ {
		t := time.Now()
		a, err := resolve("dnsa", "dnsb")
		if err != nil || a != ipB {
			fmt.Printf("  resolve dnsb: %q %v\n", a, err)
			continue
		}
		q = append(q, time.Since(t))
	}
	l, err := listen("dnsb", "dnsb")
	must(err)
	var reach string
	inNetns(nsPath("dnsa"), func() error { reach, err = dial(ipB + ":80"); return nil })
	l.Close()
	fmt.Printf("name resolvable after setup: %.1f ms; query: %s; dnsa -> dnsb:80 %q %v\n",
		float64(resolvable.Microseconds())/1000, stats(q), reach, err)
	for i, id := range []string{"dnsa", "dnsb"} {
		must(b.teardown(ctx, id, id, 100+i, 8100+i))
		must(rmns(b, id))
	}
	fmt.Printf("after dns: %+v\n", count(b))

	// 3. Crashes: the setter-upper runs as a systemd unit (as the unit's
	// start step will) and is killed with its whole cgroup at a random
	// moment of its setup; then teardown runs from what was known before.
	self, _ := os.Executable()
	var alive int
	for i := 0; i < *crashes; i++ {
		id := fmt.Sprintf("crash%d", i)
		unit := "netmeasure-" + id
		sh("systemctl", "reset-failed", unit)
		out, err := exec.Command("systemd-run", "-q", "--collect", "--unit", unit, "-E", "SYSBOX=1",
			self, "-backend", *which, "-setter", id, strconv.Itoa(200+i)).CombinedOutput()
		must(errWith(err, out))
		time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
		sh("systemctl", "kill", "-s", "KILL", unit)
		for sh("systemctl", "is-active", unit) == "active\n" {
			time.Sleep(5 * time.Millisecond)
		}
		if b.ownsNetns() {
			if err := b.teardown(ctx, id, id, 200+i, 9000+200+i); err != nil {
				fmt.Printf("  teardown %s: %v\n", id, firstLine(err))
			}
		} else if network.IsNetns(nsPath(id)) {
			alive++
			if err := b.teardown(ctx, id, id, 200+i, 9000+200+i); err != nil {
				fmt.Printf("  teardown %s: %v\n", id, firstLine(err))
			}
		} else if err := tearDownWithoutNetns(ctx, b, id, 200+i); err != nil {
			fmt.Printf("  teardown %s (no netns): %v\n", id, firstLine(err))
		}
		must(rmns(b, id))
	}
	fmt.Printf("crashes: %d, netns existed at teardown in %d\n", *crashes, alive)
	fmt.Printf("after crashes: %+v\n", count(b))

	// 4. The DNS server must outlive the unit whose start step set up the
	// network's first container: the setter here runs to completion as a
	// unit, which then ends (and systemd kills what is left in its cgroup).
	sh("systemctl", "reset-failed", "netmeasure-unitdns")
	out, err := exec.Command("systemd-run", "-q", "--collect", "--wait", "--unit", "netmeasure-unitdns", "-E", "SYSBOX=1",
		self, "-backend", *which, "-setter", "unitdns", "150").CombinedOutput()
	if err != nil {
		fmt.Printf("  unit setter: %v %s\n%s", err, out, sh("journalctl", "-u", "netmeasure-unitdns", "--no-pager"))
	}
	fmt.Printf("DNS servers just after the first container's unit ended: %q\n", count(b).procs)
	must(mkns(b, "other"))
	_, err = b.setup(ctx, "other", "other", 151, 9151)
	must(err)
	time.Sleep(100 * time.Millisecond)
	a, err := resolve("other", "unitdns")
	fmt.Printf("then: DNS servers %q; a second container resolves the first: %q %v\n", count(b).procs, a, err)
	for i, id := range []string{"unitdns", "other"} {
		if err := b.teardown(ctx, id, id, 150+i, 9150+i); err != nil {
			fmt.Printf("  teardown %s: %v\n", id, firstLine(err))
		}
		must(rmns(b, id))
	}
	fmt.Printf("at the end: %+v\n", count(b))
}

// tearDownWithoutNetns: the setter died before it pinned the namespace,
// but it may have got as far as the backend; tear down against a fresh
// empty namespace so firewall rules and allocations still go.
func tearDownWithoutNetns(ctx context.Context, b backend, id string, idx int) error {
	os.Remove(nsPath(id))
	if err := network.CreateNetns(nsPath(id)); err != nil {
		return err
	}
	return b.teardown(ctx, id, id, idx, 9000+idx)
}

func errWith(err error, out []byte) error {
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
