package network

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// Where the host's resolver configuration is read from.
const (
	HostResolvConf = "/etc/resolv.conf"
	// ResolvedUpstream is systemd-resolved's list of the real servers,
	// for when the host's file points at its local stub.
	ResolvedUpstream = "/run/systemd/resolve/resolv.conf"
	HostHosts        = "/etc/hosts"
)

// ReadHostFiles reads the host's resolv.conf, systemd-resolved's upstream
// file and the host's hosts file, as inputs of ResolvConf and Hosts. A
// missing file reads as empty.
func ReadHostFiles() (resolv, upstream, hosts []byte, err error) {
	read := func(p string) []byte {
		b, e := os.ReadFile(p)
		if e != nil && !errors.Is(e, fs.ErrNotExist) {
			err = errors.Join(err, e)
		}
		return b
	}
	return read(HostResolvConf), read(ResolvedUpstream), read(HostHosts), err
}

// ResolvConfParams are the inputs of a container's /etc/resolv.conf.
type ResolvConfParams struct {
	// Host is the host's resolv.conf; ResolvedUpstream systemd-resolved's
	// upstream one (nil if the host has none).
	Host, ResolvedUpstream []byte
	// OwnNetns: the container has a network namespace of its own, where
	// the host's loopback servers (127.0.0.53...) are unreachable.
	OwnNetns bool
	// IPv6: the container has an IPv6 address; else IPv6 servers go.
	IPv6 bool
	// NetworkServers and NetworkSearch come from networks with name
	// resolution (aardvark-dns on their gateways); they go first.
	NetworkServers []netip.Addr
	NetworkSearch  []string
	// Servers (--dns) replace the host's; Search (--dns-search) replaces
	// the host's domains ("." alone: none); Options (--dns-option) are
	// added to the host's, replacing those of the same name.
	Servers []netip.Addr
	Search  []string
	Options []string
}

// Public servers used when nothing else is left, as podman does.
func fallbackServers(ipv6 bool) []string {
	s := []string{"8.8.8.8", "8.8.4.4"}
	if ipv6 {
		s = append(s, "2001:4860:4860::8888", "2001:4860:4860::8844")
	}
	return s
}

// ResolvConf generates a container's /etc/resolv.conf.
func ResolvConf(p ResolvConfParams) []byte {
	host := parseResolvConf(p.Host)
	if p.OwnNetns && len(p.ResolvedUpstream) > 0 && len(host.servers) > 0 && !slices.ContainsFunc(host.servers, func(s string) bool { return s != "127.0.0.53" }) {
		host = parseResolvConf(p.ResolvedUpstream)
	}
	var servers []string
	for _, a := range p.NetworkServers {
		servers = append(servers, a.String())
	}
	if len(p.Servers) > 0 {
		for _, a := range p.Servers {
			servers = append(servers, a.String())
		}
	} else {
		var kept []string
		for _, s := range host.servers {
			a, err := netip.ParseAddr(s)
			if err != nil {
				continue
			}
			// Loopback servers are the host's, and IPv6 ones unreachable
			// without an IPv6 address, from a namespace of its own.
			if p.OwnNetns && (a.IsLoopback() || a.Is6() && !a.Is4In6() && !p.IPv6) {
				continue
			}
			kept = append(kept, s)
		}
		if len(kept) == 0 && len(p.NetworkServers) == 0 && p.OwnNetns {
			kept = fallbackServers(p.IPv6)
		}
		servers = append(servers, kept...)
	}

	search := slices.Clone(p.NetworkSearch)
	switch {
	case len(p.Search) == 1 && p.Search[0] == ".":
	case len(p.Search) > 0:
		search = append(search, p.Search...)
	default:
		search = append(search, host.search...)
	}
	search = dedupe(search)

	options := slices.Clone(host.options)
	for _, o := range p.Options {
		key, _, _ := strings.Cut(o, ":")
		options = slices.DeleteFunc(options, func(h string) bool { k, _, _ := strings.Cut(h, ":"); return k == key })
		options = append(options, o)
	}

	var b bytes.Buffer
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	for _, s := range dedupe(servers) {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return b.Bytes()
}

type resolvConf struct {
	servers, search, options []string
}

func parseResolvConf(data []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.servers = append(rc.servers, f[1])
		case "search", "domain":
			// The last of them wins, as in the resolver.
			rc.search = f[1:]
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// HostsParams are the inputs of a container's /etc/hosts.
type HostsParams struct {
	// Base is the host's hosts file (its entries are kept).
	Base []byte
	// Hostname and Name (the container's) map to the container's first
	// addresses, or to 127.0.1.1 if it has none of its own.
	Hostname, Name string
	Addresses      []netip.Addr
	// AddHosts (--add-host) come first, so they win over the rest.
	AddHosts []HostEntry
	// HostGateway, if set, is the host's address as the container sees it
	// (its network's gateway): host.containers.internal.
	HostGateway netip.Addr
}

// Hosts generates a container's /etc/hosts.
func Hosts(p HostsParams) []byte {
	var b bytes.Buffer
	line := func(ip string, names ...string) {
		b.WriteString(ip + "\t" + strings.Join(dedupe(names), " ") + "\n")
	}
	for _, e := range p.AddHosts {
		line(e.IP.String(), e.Names...)
	}
	base := bytes.TrimSpace(p.Base)
	if !hasHostsName(base, "localhost") {
		line("127.0.0.1", "localhost", "localhost.localdomain", "localhost4", "localhost4.localdomain4")
		line("::1", "localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6")
	}
	if len(base) > 0 {
		b.Write(base)
		b.WriteString("\n")
	}
	var names []string
	for _, n := range []string{p.Hostname, p.Name} {
		if n != "" {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		if len(p.Addresses) == 0 {
			line("127.0.1.1", names...)
		}
		for _, a := range p.Addresses {
			line(a.String(), names...)
		}
	}
	if p.HostGateway.IsValid() {
		line(p.HostGateway.String(), "host.containers.internal", "host.docker.internal")
	}
	return b.Bytes()
}

func hasHostsName(hosts []byte, name string) bool {
	sc := bufio.NewScanner(bytes.NewReader(hosts))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) > 1 && slices.Contains(f[1:], name) {
			return true
		}
	}
	return false
}

// Hostname generates a container's /etc/hostname.
func Hostname(name string) []byte { return []byte(name + "\n") }
