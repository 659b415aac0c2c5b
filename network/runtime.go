package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/jsonfile"
)

// Runtime sets up and tears down containers' networks. Its state lives
// in RuntimeDir (a tmpfs, /run/ctr-unit): each container's namespace
// (netns/NAME, which runc joins), a record of what was set up for it
// (net/containers/NAME.json, which teardown replays), the address book
// (net/ipam.json) and netavark's own directory (net/netavark).
type Runtime struct {
	Store      *Store
	RuntimeDir string
	// Netavark and AardvarkDNS are the binaries; "" finds them.
	Netavark, AardvarkDNS string
	// BootID returns the current boot's ID; nil reads the kernel's.
	BootID func() (string, error)
}

// NetnsPath is where a container's network namespace is pinned.
func (r *Runtime) NetnsPath(container string) string {
	return filepath.Join(r.RuntimeDir, "netns", container)
}

func (r *Runtime) netDir() string      { return filepath.Join(r.RuntimeDir, "net") }
func (r *Runtime) netavarkDir() string { return filepath.Join(r.netDir(), "netavark") }
func (r *Runtime) ipamPath() string    { return filepath.Join(r.netDir(), "ipam.json") }
func (r *Runtime) recordPath(container string) string {
	return filepath.Join(r.netDir(), "containers", container+".json")
}

func (r *Runtime) bootID() (string, error) {
	if r.BootID != nil {
		return r.BootID()
	}
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read the boot ID: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// lock serializes every change to the runtime state and every netavark
// call: netavark does not guard against itself (two setups creating one
// bridge, or a teardown removing the bridge another setup is joining).
func (r *Runtime) lock(ctx context.Context) (func(), error) {
	for _, d := range []string{filepath.Join(r.netDir(), "containers"), r.netavarkDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(filepath.Join(r.netDir(), "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the network lock: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Attachment is what was set up for a container: kept while it runs, as
// the record teardown works from.
type Attachment struct {
	Container string `json:"container"`
	BootID    string `json:"boot_id"`
	// Netns is the pinned namespace runc joins.
	Netns string `json:"netns"`
	// Complete is set once netavark finished: a record without it is
	// from a setup that was interrupted.
	Complete bool              `json:"complete"`
	Networks []AttachedNetwork `json:"networks"`
	// Ports are the published ports, host ports resolved.
	Ports []PortMapping `json:"ports,omitempty"`
	// DNSServers and DNSSearch are the networks' name servers (aardvark-dns
	// on the gateways) and search domains, for /etc/resolv.conf.
	DNSServers []netip.Addr `json:"dns_servers,omitempty"`
	DNSSearch  []string     `json:"dns_search,omitempty"`
	// Options are what netavark was given; teardown gives them again.
	Options *netavarkOptions `json:"netavark_options"`
}

// AttachedNetwork is a container's place on one network.
type AttachedNetwork struct {
	Network   string       `json:"network"`
	Interface string       `json:"interface"`
	Addresses []Prefix     `json:"addresses"`
	Gateways  []netip.Addr `json:"gateways,omitempty"`
	MAC       string       `json:"mac,omitempty"`
	Aliases   []string     `json:"aliases,omitempty"`
	Internal  bool         `json:"internal,omitempty"`
}

// SetupRequest asks for a container's network.
type SetupRequest struct {
	Container string
	// Networks, at least one; the first gets eth0.
	Networks []Attach
	Ports    []PortMapping
	// DNSServers (--dns) are the container's upstream servers; on a network
	// with name resolution aardvark-dns forwards to them.
	DNSServers []netip.Addr
}

// Setup makes the container's network namespace and joins it to its
// networks through netavark. A namespace left from an earlier run that
// was never torn down (a crash, a Restart= that skipped the stop step) is
// torn down first. On error nothing is left behind.
func (r *Runtime) Setup(ctx context.Context, req SetupRequest) (*Attachment, error) {
	nets, err := r.checkRequest(req)
	if err != nil {
		return nil, fmt.Errorf("network of container %s: %w", req.Container, err)
	}
	boot, err := r.bootID()
	if err != nil {
		return nil, err
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("network of container %s: %w", req.Container, err)
	}
	defer unlock()

	if err := r.teardownLocked(ctx, req.Container, boot); err != nil {
		return nil, fmt.Errorf("network of container %s: clean up the last run: %w", req.Container, err)
	}
	others, err := r.attachmentsLocked(boot)
	if err != nil {
		return nil, err
	}
	ports, err := resolvePorts(req.Ports, others)
	if err != nil {
		return nil, fmt.Errorf("network of container %s: %w", req.Container, err)
	}
	st, err := readIPAM(r.ipamPath(), boot)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256([]byte(req.Container))
	opts := &netavarkOptions{
		ContainerID:   hex.EncodeToString(id[:]),
		ContainerName: req.Container,
		Networks:      map[string]netavarkPerNet{},
		NetworkInfo:   map[string]*netavarkNetwork{},
		PortMappings:  ports,
		DNSServers:    req.DNSServers,
	}
	rec := &Attachment{Container: req.Container, BootID: boot, Netns: r.NetnsPath(req.Container), Ports: ports, Options: opts}
	for i, a := range req.Networks {
		n := nets[i]
		addrs, err := st.allocate(n, req.Container, a.IPs)
		if err != nil {
			return nil, fmt.Errorf("network of container %s: %w", req.Container, err)
		}
		ifname := a.Interface
		if ifname == "" {
			ifname = "eth" + strconv.Itoa(i)
		}
		per := netavarkPerNet{Aliases: a.Aliases, Interface: ifname, StaticMAC: a.MAC}
		an := AttachedNetwork{Network: n.Name, Interface: ifname, MAC: a.MAC, Aliases: a.Aliases, Internal: n.Internal}
		for _, p := range addrs {
			per.StaticIPs = append(per.StaticIPs, p.Addr())
			an.Addresses = append(an.Addresses, Prefix{p})
		}
		opts.Networks[backendName(n.Name)] = per
		opts.NetworkInfo[backendName(n.Name)] = toNetavark(n)
		rec.Networks = append(rec.Networks, an)
	}
	// The record goes first: from here on a crash at any point leaves
	// what teardown needs to undo it all.
	if err := r.writeRecord(rec); err != nil {
		return nil, err
	}
	if err := st.write(r.ipamPath()); err != nil {
		return nil, errors.Join(err, r.undo(ctx, rec, boot))
	}
	if err := RemoveNetns(rec.Netns); err != nil {
		return nil, errors.Join(err, r.undo(ctx, rec, boot))
	}
	if err := CreateNetns(rec.Netns); err != nil {
		return nil, errors.Join(fmt.Errorf("network of container %s: %w", req.Container, err), r.undo(ctx, rec, boot))
	}
	out, err := r.netavark(ctx, "setup", rec.Netns, opts)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("network of container %s: %w", req.Container, err), r.undo(ctx, rec, boot))
	}
	if err := rec.fillStatus(out); err != nil {
		return nil, errors.Join(fmt.Errorf("network of container %s: %w", req.Container, err), r.undo(ctx, rec, boot))
	}
	rec.Complete = true
	if err := r.writeRecord(rec); err != nil {
		return nil, errors.Join(err, r.undo(ctx, rec, boot))
	}
	return rec, nil
}

// undo tears down after a setup that failed (rather than died).
func (r *Runtime) undo(ctx context.Context, rec *Attachment, boot string) error {
	rec.Complete = true // netavark returned: its own teardown is all there is to do
	return r.teardownRecord(ctx, rec, boot)
}

func (r *Runtime) checkRequest(req SetupRequest) ([]*Network, error) {
	if !isNameChars(req.Container) {
		return nil, fmt.Errorf("%w container name %q", ErrInvalid, req.Container)
	}
	if len(req.Networks) == 0 {
		return nil, fmt.Errorf("%w: no network given", ErrInvalid)
	}
	var nets []*Network
	seen := map[string]bool{}
	ifaces := map[string]bool{}
	for i, a := range req.Networks {
		n, err := r.Store.Get(a.Network)
		if err != nil {
			return nil, err
		}
		if seen[n.Name] {
			return nil, fmt.Errorf("%w: network %s given twice", ErrInvalid, n.Name)
		}
		seen[n.Name] = true
		ifname := a.Interface
		if ifname == "" {
			ifname = "eth" + strconv.Itoa(i)
		}
		if ifaces[ifname] {
			return nil, fmt.Errorf("%w: interface %s given twice", ErrInvalid, ifname)
		}
		ifaces[ifname] = true
		for _, alias := range a.Aliases {
			if err := ValidateHostname(alias); err != nil {
				return nil, fmt.Errorf("network alias: %w", err)
			}
		}
		if len(a.Aliases) > 0 && !n.DNSEnabled {
			return nil, fmt.Errorf("%w: network aliases need name resolution, which network %s does not have", ErrInvalid, n.Name)
		}
		nets = append(nets, n)
	}
	if len(req.Ports) > 0 && !slices.ContainsFunc(nets, func(n *Network) bool { return !n.Internal }) {
		return nil, fmt.Errorf("%w: ports cannot be published on an internal network", ErrInvalid)
	}
	return nets, nil
}

// resolvePorts checks the published ports against the other containers'
// and the host's, and picks free ones for host port 0.
func resolvePorts(ports []PortMapping, others []*Attachment) ([]PortMapping, error) {
	out := slices.Clone(ports)
	for i, p := range out {
		if p.Range == 0 {
			out[i].Range = 1
			p.Range = 1
		}
		if p.HostPort == 0 {
			port, err := freePort(p)
			if err != nil {
				return nil, err
			}
			out[i].HostPort = port
			continue
		}
		if int(p.HostPort)+int(p.Range)-1 > 65535 {
			return nil, fmt.Errorf("%w: host ports %d-%d go past 65535", ErrInvalid, p.HostPort, int(p.HostPort)+int(p.Range)-1)
		}
		for _, q := range out[:i] {
			if portsOverlap(p, q) {
				return nil, fmt.Errorf("%w: host port %s published twice", ErrInvalid, portString(p))
			}
		}
		for _, o := range others {
			for _, q := range o.Ports {
				if portsOverlap(p, q) {
					return nil, fmt.Errorf("%w: host port %s is published by container %s", ErrAddressInUse, portString(p), o.Container)
				}
			}
		}
		if err := portFree(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func portsOverlap(a, b PortMapping) bool {
	if a.Protocol != b.Protocol || (a.HostIP != "" && b.HostIP != "" && a.HostIP != b.HostIP) {
		return false
	}
	return int(a.HostPort) < int(b.HostPort)+int(max(b.Range, 1)) && int(b.HostPort) < int(a.HostPort)+int(max(a.Range, 1))
}

func portString(p PortMapping) string {
	s := strconv.Itoa(int(p.HostPort))
	if p.Range > 1 {
		s += "-" + strconv.Itoa(int(p.HostPort)+int(p.Range)-1)
	}
	s += "/" + p.Protocol
	if p.HostIP != "" {
		s = net.JoinHostPort(p.HostIP, s)
	}
	return s
}

// portFree checks that no process of the host holds the ports: their
// traffic would never reach the container.
func portFree(p PortMapping) error {
	if p.Protocol == "sctp" {
		return nil
	}
	for port := int(p.HostPort); port < int(p.HostPort)+int(p.Range); port++ {
		c, err := listenOn(p.Protocol, p.HostIP, port)
		if err != nil {
			if errors.Is(err, unix.EADDRINUSE) {
				return fmt.Errorf("%w: host port %d/%s is in use on the host", ErrAddressInUse, port, p.Protocol)
			}
			return fmt.Errorf("%w: host port %s: %v", ErrInvalid, portString(p), err)
		}
		c.Close()
	}
	return nil
}

func freePort(p PortMapping) (uint16, error) {
	proto := p.Protocol
	if proto == "sctp" {
		proto = "tcp"
	}
	c, err := listenOn(proto, p.HostIP, 0)
	if err != nil {
		return 0, fmt.Errorf("pick a free host port for container port %d/%s: %w", p.ContainerPort, p.Protocol, err)
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(c.Addr().String())
	n, _ := strconv.Atoi(port)
	return uint16(n), nil
}

type closeAddr interface {
	Close() error
	Addr() net.Addr
}

type packetConn struct{ net.PacketConn }

func (c packetConn) Addr() net.Addr { return c.LocalAddr() }

func listenOn(proto, ip string, port int) (closeAddr, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, err
		}
		return packetConn{c}, nil
	}
	return net.Listen("tcp", addr)
}

// fillStatus takes the interfaces' MACs, gateways and the networks' DNS
// from netavark's answer.
func (rec *Attachment) fillStatus(out []byte) error {
	var st netavarkStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("netavark setup: unexpected output %q: %w", out, err)
	}
	for i := range rec.Networks {
		an := &rec.Networks[i]
		s, ok := st[backendName(an.Network)]
		if !ok {
			continue
		}
		if ifc, ok := s.Interfaces[an.Interface]; ok {
			an.MAC = ifc.MAC
			an.Gateways = nil
			for _, sn := range ifc.Subnets {
				if sn.Gateway.IsValid() {
					an.Gateways = append(an.Gateways, sn.Gateway)
				}
			}
		}
		for _, a := range s.DNSServers {
			if !slices.Contains(rec.DNSServers, a) {
				rec.DNSServers = append(rec.DNSServers, a)
			}
		}
		for _, d := range s.DNSSearch {
			if !slices.Contains(rec.DNSSearch, d) {
				rec.DNSSearch = append(rec.DNSSearch, d)
			}
		}
	}
	return nil
}

func (r *Runtime) writeRecord(rec *Attachment) error {
	if err := jsonfile.WriteVolatile(r.recordPath(rec.Container), rec); err != nil {
		return fmt.Errorf("network of container %s: write its record: %w", rec.Container, err)
	}
	return nil
}

func (r *Runtime) readRecord(container string) (*Attachment, error) {
	data, err := os.ReadFile(r.recordPath(container))
	if err != nil {
		return nil, err
	}
	rec := &Attachment{}
	if len(data) == 0 {
		// A power cut can leave a volatile record empty; so can only
		// an earlier boot, whose namespace is gone.
		return &Attachment{Container: container}, nil
	}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("network of container %s: record %s: %w", container, r.recordPath(container), err)
	}
	return rec, nil
}

// Teardown undoes Setup: netavark's teardown (veth, firewall rules, DNS
// entries), the namespace, the addresses. It works from the record alone,
// however the container ended, and for a setup that was interrupted
// anywhere; a container without a record has nothing to tear down.
func (r *Runtime) Teardown(ctx context.Context, container string) error {
	boot, err := r.bootID()
	if err != nil {
		return err
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return fmt.Errorf("network of container %s: %w", container, err)
	}
	defer unlock()
	if err := r.teardownLocked(ctx, container, boot); err != nil {
		return fmt.Errorf("network of container %s: %w", container, err)
	}
	return nil
}

func (r *Runtime) teardownLocked(ctx context.Context, container, boot string) error {
	rec, err := r.readRecord(container)
	if errors.Is(err, fs.ErrNotExist) {
		// No record: Setup never got to write one, so it allocated
		// nothing and made no namespace; a namespace file can only be
		// from a runtime dir that outlived a reboot.
		return RemoveNetns(r.NetnsPath(container))
	}
	if err != nil {
		return err
	}
	return r.teardownRecord(ctx, rec, boot)
}

func (r *Runtime) teardownRecord(ctx context.Context, rec *Attachment, boot string) error {
	var errs []error
	if rec.BootID == boot && rec.Options != nil && IsNetns(rec.Netns) {
		if !rec.Complete {
			// netavark's teardown stops at a missing container interface,
			// and would then keep the bridge and the network's firewall
			// rules: finish the interrupted setup first (an error just
			// means it had got further), so that the teardown is whole.
			// Its teardown then reports the parts the interrupted setup
			// never made (a DNS entry, a chain): nothing to act on.
			r.netavark(ctx, "setup", rec.Netns, rec.Options)
			r.netavark(ctx, "teardown", rec.Netns, rec.Options)
		} else if _, err := r.netavark(ctx, "teardown", rec.Netns, rec.Options); err != nil {
			errs = append(errs, err)
		}
	}
	if rec.Netns != "" {
		if err := RemoveNetns(rec.Netns); err != nil {
			errs = append(errs, err)
		}
	}
	if st, err := readIPAM(r.ipamPath(), boot); err != nil {
		errs = append(errs, err)
	} else if len(st.held(rec.Container)) > 0 {
		st.release(rec.Container)
		if err := st.write(r.ipamPath()); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(r.recordPath(rec.Container)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Attachment returns a container's record, or nil if it has no network
// set up in this boot.
func (r *Runtime) Attachment(container string) (*Attachment, error) {
	boot, err := r.bootID()
	if err != nil {
		return nil, err
	}
	rec, err := r.readRecord(container)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil || rec.BootID != boot {
		return nil, err
	}
	return rec, nil
}

// Attachments lists the records of this boot.
func (r *Runtime) Attachments(ctx context.Context) ([]*Attachment, error) {
	boot, err := r.bootID()
	if err != nil {
		return nil, err
	}
	return r.attachmentsLocked(boot)
}

func (r *Runtime) attachmentsLocked(boot string) ([]*Attachment, error) {
	ents, err := os.ReadDir(filepath.Join(r.netDir(), "containers"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Attachment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		rec, err := r.readRecord(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		if rec.BootID == boot {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Users returns the containers attached to a network now, for network rm
// and prune.
func (r *Runtime) Users(ctx context.Context, network string) ([]string, error) {
	recs, err := r.Attachments(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, rec := range recs {
		if slices.ContainsFunc(rec.Networks, func(a AttachedNetwork) bool { return a.Network == network }) {
			users = append(users, rec.Container)
		}
	}
	return users, nil
}
