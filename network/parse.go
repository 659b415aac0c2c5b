package network

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The parsers below are pure: they check and convert what a user wrote
// (an option or a definition-file key) and touch nothing. Their errors
// wrap ErrInvalid and quote the value; callers add the option or the file
// and line.

// MaxNetworkNameLen bounds a network name (it names a file).
const MaxNetworkNameLen = 200

// ValidateNetworkName checks a network name against podman's rule, and
// refuses the names that mean a network mode.
func ValidateNetworkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w network name: it is empty", ErrInvalid)
	case len(name) > MaxNetworkNameLen:
		return fmt.Errorf("%w network name %q: longer than %d characters", ErrInvalid, name, MaxNetworkNameLen)
	case !isNameChars(name):
		return fmt.Errorf("%w network name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", ErrInvalid, name)
	case reservedName(name):
		return fmt.Errorf("%w network name %q: it is a network mode, choose another name", ErrInvalid, name)
	}
	return nil
}

func reservedName(name string) bool {
	switch name {
	case ModeBridge, ModeHost, ModeNone, "default", "private", "container", "ns", "slirp4netns", "pasta":
		return true
	}
	return false
}

func isNameChars(s string) bool {
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return s != ""
}

// ValidateHostname checks a host name (--hostname, --add-host names,
// --network-alias): dot-separated labels of letters, digits, '-' and '_',
// at most 253 characters.
func ValidateHostname(name string) error {
	if name == "" {
		return fmt.Errorf("%w host name: it is empty", ErrInvalid)
	}
	if len(name) > 253 {
		return fmt.Errorf("%w host name %q: longer than 253 characters", ErrInvalid, name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%w host name %q: each dot-separated part must be 1 to 63 letters, digits, '-' or '_', not starting or ending with '-'", ErrInvalid, name)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%w host name %q: %q is not allowed (letters, digits, '-', '_' and '.')", ErrInvalid, name, c)
			}
		}
	}
	return nil
}

// ParseIP parses a static address (--ip, --ip6): IPv4 or IPv6, no prefix
// length, no zone, a unicast address.
func ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w IP address %q: want e.g. 10.89.0.5 or fd00::5", ErrInvalid, s)
	}
	if a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("%w IP address %q: not a unicast address a container can have", ErrInvalid, s)
	}
	return a.Unmap(), nil
}

// ParseMAC parses --mac-address: six bytes, a unicast address, returned
// in lower-case colon form.
func ParseMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("%w MAC address %q: want six hex bytes, e.g. 92:d0:c6:0a:29:33", ErrInvalid, s)
	}
	if hw[0]&1 != 0 {
		return "", fmt.Errorf("%w MAC address %q: a multicast address (lowest bit of the first byte set)", ErrInvalid, s)
	}
	if slices.Equal(hw, net.HardwareAddr{0, 0, 0, 0, 0, 0}) {
		return "", fmt.Errorf("%w MAC address %q: all zero", ErrInvalid, s)
	}
	return hw.String(), nil
}

// ParseDNS parses the --dns values: server addresses, or the single value
// "none" (none is then true: the container gets no /etc/resolv.conf).
func ParseDNS(values []string) (servers []netip.Addr, none bool, err error) {
	for _, v := range values {
		if v == "none" {
			if len(values) > 1 {
				return nil, false, fmt.Errorf("%w --dns none: it cannot be combined with servers", ErrInvalid)
			}
			return nil, true, nil
		}
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return nil, false, fmt.Errorf("%w DNS server %q: want an IP address, e.g. 1.1.1.1 (or none)", ErrInvalid, v)
		}
		servers = append(servers, a.Unmap())
	}
	return servers, false, nil
}

// ParseDNSSearch checks --dns-search domains; "." alone means none.
func ParseDNSSearch(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		if v == "." {
			if len(values) > 1 {
				return nil, fmt.Errorf("%w --dns-search .: it cannot be combined with domains", ErrInvalid)
			}
			return []string{"."}, nil
		}
		if err := ValidateHostname(strings.TrimSuffix(v, ".")); err != nil {
			return nil, fmt.Errorf("%w DNS search domain %q: not a domain name", ErrInvalid, v)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseAddHost parses --add-host NAME[;NAME...]:IP (the first ':' ends
// the names, so IPv6 addresses need no brackets).
func ParseAddHost(s string) (HostEntry, error) {
	names, addr, ok := strings.Cut(s, ":")
	if !ok {
		return HostEntry{}, fmt.Errorf("%w --add-host %q: want NAME:IP, e.g. db:10.89.0.5", ErrInvalid, s)
	}
	var e HostEntry
	for _, n := range strings.Split(names, ";") {
		if err := ValidateHostname(n); err != nil {
			return HostEntry{}, fmt.Errorf("%w --add-host %q: %q is not a host name", ErrInvalid, s, n)
		}
		e.Names = append(e.Names, n)
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"))
	if err != nil || a.Zone() != "" {
		return HostEntry{}, fmt.Errorf("%w --add-host %q: %q is not an IP address", ErrInvalid, s, addr)
	}
	e.IP = a.Unmap()
	return e, nil
}

// ParsePublish parses one -p/--publish: [[IP:][HOSTPORT]:]CTRPORT[/PROTO]
// where the ports may be ranges (8080-8081:80-81, both as long) and PROTO
// is tcp (default), udp or sctp. A missing host port means any free one.
// An IPv6 host address is written in brackets: [::1]:8080:80.
func ParsePublish(s string) (PortMapping, error) {
	bad := func(why string, a ...any) (PortMapping, error) {
		return PortMapping{}, fmt.Errorf("%w --publish %q: %s (want [IP:][HOSTPORT:]CTRPORT[/tcp|udp|sctp])", ErrInvalid, s, fmt.Sprintf(why, a...))
	}
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return bad("protocol %q", proto)
	}
	var hostIP string
	if strings.HasPrefix(spec, "[") {
		end := strings.Index(spec, "]:")
		if end < 0 {
			return bad("an IPv6 address in brackets must be followed by ':'")
		}
		hostIP, spec = spec[1:end], spec[end+2:]
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is6() || a.Is4In6() {
			return bad("%q is not an IPv6 address", hostIP)
		}
	}
	parts := strings.Split(spec, ":")
	var hostPart, ctrPart string
	switch len(parts) {
	case 1:
		ctrPart = parts[0]
	case 2:
		hostPart, ctrPart = parts[0], parts[1]
	case 3:
		if hostIP != "" {
			return bad("too many ':'")
		}
		hostIP, hostPart, ctrPart = parts[0], parts[1], parts[2]
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return bad("%q is not an IPv4 address (write IPv6 ones in brackets)", hostIP)
		}
	default:
		return bad("too many ':'")
	}
	if hostIP != "" {
		a := netip.MustParseAddr(hostIP)
		if a.IsMulticast() || a.Zone() != "" {
			return bad("host address %s is not a unicast address", hostIP)
		}
		if a.IsUnspecified() {
			hostIP = ""
		} else {
			hostIP = a.String()
		}
	}
	cFirst, cLen, err := parsePortRange(ctrPart)
	if err != nil {
		return bad("container port %q: %v", ctrPart, err)
	}
	if cFirst == 0 {
		return bad("container port 0")
	}
	m := PortMapping{HostIP: hostIP, ContainerPort: cFirst, Range: cLen, Protocol: proto}
	if hostPart != "" {
		hFirst, hLen, err := parsePortRange(hostPart)
		if err != nil {
			return bad("host port %q: %v", hostPart, err)
		}
		if hLen != cLen {
			return bad("host range of %d ports, container range of %d", hLen, cLen)
		}
		if hFirst == 0 && hLen > 1 {
			return bad("host port range from 0")
		}
		m.HostPort = hFirst
	} else if cLen > 1 {
		return bad("a container port range needs a host port range")
	}
	return m, nil
}

// PublishExposed is what -P publishes for an image's EXPOSE entries
// (PORT[-LAST][/PROTO], as an image config's ExposedPorts keys): each port
// on a free host port picked at start, as podman does, skipping ports
// already published. A range is published port by port, since no single
// host range is known to be free.
func PublishExposed(exposed []string, published []PortMapping) ([]PortMapping, error) {
	taken := func(port uint16, proto string) bool {
		for _, p := range published {
			n := max(p.Range, 1)
			if p.Protocol == proto && port >= p.ContainerPort && uint32(port) < uint32(p.ContainerPort)+uint32(n) {
				return true
			}
		}
		return false
	}
	var out []PortMapping
	for _, e := range exposed {
		spec, proto, ok := strings.Cut(e, "/")
		if !ok {
			proto = "tcp"
		}
		switch proto {
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("%w EXPOSE %q: protocol %q (want tcp, udp or sctp)", ErrInvalid, e, proto)
		}
		first, n, err := parsePortRange(spec)
		if err == nil && first == 0 {
			err = fmt.Errorf("port 0")
		}
		if err != nil {
			return nil, fmt.Errorf("%w EXPOSE %q: %v", ErrInvalid, e, err)
		}
		for i := range uint32(n) {
			port := uint16(uint32(first) + i)
			if !taken(port, proto) {
				m := PortMapping{ContainerPort: port, Range: 1, Protocol: proto}
				out = append(out, m)
				// Clipped: the caller's slice stays as it was.
				published = append(slices.Clip(published), m)
			}
		}
	}
	return out, nil
}

// parsePortRange parses N or N-M: the first port and the count.
func parsePortRange(s string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := parsePort(lo)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return first, 1, nil
	}
	last, err := parsePort(hi)
	if err != nil {
		return 0, 0, err
	}
	if last < first {
		return 0, 0, fmt.Errorf("range ends before it starts")
	}
	return first, last - first + 1, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("not a port number (0-65535)")
	}
	return uint16(n), nil
}

// NetworkMode is what --network (or Network=) asks for.
type NetworkMode struct {
	// Mode is ModeHost, ModeNone, or ModeBridge for one or more
	// networks (the default network is DefaultNetwork).
	Mode     string
	Networks []Attach
}

// ParseNetworkMode parses the --network values (the option may be given
// more than once; each value may also hold several, comma-separated):
//
//	host | none | bridge[:OPTS] | NAME[:OPTS][,NAME[:OPTS]...]
//
// OPTS are comma-separated ip=ADDR (also ip6=), mac=MAC, alias=NAME,
// interface_name=IF, as podman's. An empty list gives the zero mode (the
// caller's default).
func ParseNetworkMode(values []string) (NetworkMode, error) {
	var m NetworkMode
	seen := map[string]bool{}
	for _, v := range values {
		var cur *Attach
		for _, item := range strings.Split(v, ",") {
			if k, val, isOpt := strings.Cut(item, "="); isOpt && cur != nil && !strings.Contains(k, ":") {
				if err := setAttachOption(cur, k, val); err != nil {
					return NetworkMode{}, fmt.Errorf("%w --network %q: %v", ErrInvalid, v, err)
				}
				continue
			}
			name, opts, _ := strings.Cut(item, ":")
			switch name {
			case ModeHost, ModeNone:
				if opts != "" || len(values) > 1 || v != name {
					return NetworkMode{}, fmt.Errorf("%w --network %q: %s cannot be combined with other networks or options", ErrInvalid, v, name)
				}
				return NetworkMode{Mode: name}, nil
			case "", "private", "container", "ns", "slirp4netns", "pasta":
				return NetworkMode{}, fmt.Errorf("%w --network %q: want host, none, bridge or network names", ErrInvalid, v)
			case ModeBridge:
				name = DefaultNetwork
			default:
				if err := ValidateNetworkName(name); err != nil {
					return NetworkMode{}, fmt.Errorf("--network %q: %w", v, err)
				}
			}
			if seen[name] {
				return NetworkMode{}, fmt.Errorf("%w --network: network %s given twice", ErrInvalid, name)
			}
			seen[name] = true
			m.Mode = ModeBridge
			m.Networks = append(m.Networks, Attach{Network: name})
			cur = &m.Networks[len(m.Networks)-1]
			if opts != "" {
				k, val, _ := strings.Cut(opts, "=")
				if err := setAttachOption(cur, k, val); err != nil {
					return NetworkMode{}, fmt.Errorf("%w --network %q: %v", ErrInvalid, v, err)
				}
			}
		}
	}
	return m, nil
}

func setAttachOption(a *Attach, k, v string) error {
	switch k {
	case "ip", "ip6":
		ip, err := ParseIP(v)
		if err != nil {
			return err
		}
		if k == "ip6" && !ip.Is6() {
			return fmt.Errorf("ip6=%s is not an IPv6 address", v)
		}
		for _, o := range a.IPs {
			if o.Is4() == ip.Is4() {
				return fmt.Errorf("two static %s addresses for network %s", family(ip), a.Network)
			}
		}
		a.IPs = append(a.IPs, ip)
	case "mac":
		mac, err := ParseMAC(v)
		if err != nil {
			return err
		}
		a.MAC = mac
	case "alias":
		if err := ValidateHostname(v); err != nil {
			return err
		}
		a.Aliases = append(a.Aliases, v)
	case "interface_name":
		if err := validateInterfaceName(v); err != nil {
			return err
		}
		a.Interface = v
	default:
		return fmt.Errorf("unknown option %q (want ip, ip6, mac, alias or interface_name)", k)
	}
	return nil
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// validateInterfaceName checks a Linux interface name.
func validateInterfaceName(s string) error {
	if s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n") {
		return fmt.Errorf("interface name %q: 1 to 15 characters, no '/', ':' or spaces", s)
	}
	return nil
}
