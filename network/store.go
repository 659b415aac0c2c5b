package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
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

// DefaultConfigDir holds ctr-unit's network definitions: apart from
// podman's /etc/containers/networks, so the two never share a range.
const DefaultConfigDir = "/etc/ctr-unit/networks"

// ConfigDirFromEnv is the network definitions' directory that
// CTR_UNIT_NETWORK_CONFIG_DIR names, DefaultConfigDir if none.
func ConfigDirFromEnv(getenv func(string) string) string {
	if d := getenv("CTR_UNIT_NETWORK_CONFIG_DIR"); d != "" {
		return d
	}
	return DefaultConfigDir
}

// PodmanConfigDir is read (never written) when picking a free subnet.
const PodmanConfigDir = "/etc/containers/networks"

// Store keeps network definitions as NAME.json files in Dir.
type Store struct {
	Dir string
	// PodmanDir's networks are avoided when picking subnets; "" skips.
	PodmanDir string
	// HostRoutes lists the host's routes, also avoided when picking
	// subnets; nil uses the routes of the calling process's namespace.
	HostRoutes func() ([]netip.Prefix, error)
}

// Default returns the default network's definition.
func Default() *Network {
	return &Network{
		Name:        DefaultNetwork,
		ID:          DefaultID,
		Driver:      "bridge",
		Interface:   DefaultInterface,
		Subnets:     []Subnet{{Subnet: Prefix{DefaultSubnet}, Gateway: DefaultSubnet.Addr().Next()}},
		Options:     map[string]string{"isolate": "true"},
		IPAMOptions: map[string]string{"driver": "host-local"},
	}
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name+".json") }

// Get returns the network called name (the default one included).
func (s *Store) Get(name string) (*Network, error) {
	if name == DefaultNetwork || name == ModeBridge {
		return Default(), nil
	}
	if err := ValidateNetworkName(name); err != nil {
		return nil, err
	}
	return s.read(s.path(name))
}

func (s *Store) read(path string) (*Network, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (see ctr-unit network ls)", ErrNoSuchNetwork, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read network %s: %w", name, err)
	}
	var n Network
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("network %s: %s: %w (fix or remove the file)", name, path, err)
	}
	if n.Name != name {
		return nil, fmt.Errorf("network %s: %s names network %q (fix or remove the file)", name, path, n.Name)
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("network %s: %s: %w (fix or remove the file)", name, path, err)
	}
	return &n, nil
}

// List returns every network, the default one first, then by name. A
// file that does not parse is an error naming it.
func (s *Store) List() ([]*Network, error) {
	nets := []*Network{Default()}
	ents, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() || ValidateNetworkName(name) != nil || name == DefaultNetwork {
			continue
		}
		n, err := s.read(filepath.Join(s.Dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		nets = append(nets, n)
	}
	return nets, errors.Join(errs...)
}

// CreateOptions are network create's options.
type CreateOptions struct {
	Name string
	// Subnets as given (--subnet, may repeat); empty picks a free IPv4
	// /24, plus an IPv6 /64 with IPv6.
	Subnets []string
	// Gateways as given (--gateway), the n-th for the n-th subnet;
	// missing ones are the subnet's first address.
	Gateways []string
	// IPRanges (--ip-range), the n-th for the n-th subnet.
	IPRanges []string
	Internal bool
	IPv6     bool
	// NoDNS turns name resolution off (podman's --disable-dns).
	NoDNS bool
	// Interface names the bridge; "" picks ctrN.
	Interface string
	// Options are the driver's (--opt): isolate, mtu, metric. Networks
	// are isolated from each other unless isolate=false, as docker's.
	Options map[string]string
}

// Create checks o, picks what it leaves open, and writes the network's
// file. Nothing is written when anything is wrong.
func (s *Store) Create(o CreateOptions) (*Network, error) {
	if err := ValidateNetworkName(o.Name); err != nil {
		return nil, err
	}
	if o.Name == DefaultNetwork {
		return nil, fmt.Errorf("%w: %s is the default network", ErrNetworkExists, o.Name)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create network %s: %w", o.Name, err)
	}
	unlock, err := lockFile(filepath.Join(s.Dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", o.Name, err)
	}
	defer unlock()
	if _, err := os.Stat(s.path(o.Name)); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrNetworkExists, o.Name)
	}
	existing, err := s.List()
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", o.Name, err)
	}
	n := &Network{
		Name:        o.Name,
		ID:          randomID(),
		Driver:      "bridge",
		Interface:   o.Interface,
		Created:     time.Now().UTC().Truncate(time.Second),
		IPv6:        o.IPv6,
		Internal:    o.Internal,
		DNSEnabled:  !o.NoDNS,
		Options:     map[string]string{"isolate": "true"},
		IPAMOptions: map[string]string{"driver": "host-local"},
	}
	for k, v := range o.Options {
		n.Options[k] = v
	}
	if err := s.fillSubnets(n, o, existing); err != nil {
		return nil, fmt.Errorf("create network %s: %w", o.Name, err)
	}
	if n.Interface == "" {
		n.Interface = freeInterface(existing)
	} else if err := validateInterfaceName(n.Interface); err != nil {
		return nil, fmt.Errorf("create network %s: %w: %w", o.Name, ErrInvalid, err)
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("create network %s: %w", o.Name, err)
	}
	for _, e := range existing {
		if e.Interface == n.Interface {
			return nil, fmt.Errorf("create network %s: %w: bridge %s is network %s's", o.Name, ErrInvalid, n.Interface, e.Name)
		}
	}
	if err := jsonfile.WriteDurable(s.path(n.Name), n); err != nil {
		return nil, fmt.Errorf("create network %s: %w", o.Name, err)
	}
	return n, nil
}

func (s *Store) fillSubnets(n *Network, o CreateOptions, existing []*Network) error {
	if len(o.Gateways) > len(o.Subnets) {
		return fmt.Errorf("%w: --gateway needs a --subnet to go with it", ErrInvalid)
	}
	if len(o.IPRanges) > len(o.Subnets) {
		return fmt.Errorf("%w: --ip-range needs a --subnet to go with it", ErrInvalid)
	}
	for i, sub := range o.Subnets {
		p, err := ParseSubnet(sub)
		if err != nil {
			return err
		}
		sn := Subnet{Subnet: Prefix{p}}
		if i < len(o.Gateways) {
			g, err := netip.ParseAddr(o.Gateways[i])
			if err != nil || g.Zone() != "" {
				return fmt.Errorf("%w gateway %q: not an IP address", ErrInvalid, o.Gateways[i])
			}
			sn.Gateway = g.Unmap()
		} else {
			sn.Gateway = p.Addr().Next()
		}
		if i < len(o.IPRanges) {
			r, err := ParseSubnet(o.IPRanges[i])
			if err != nil {
				return fmt.Errorf("--ip-range: %w", err)
			}
			sn.LeaseRange = &LeaseRange{Start: r.Addr(), End: lastAddr(r)}
		}
		n.Subnets = append(n.Subnets, sn)
		if p.Addr().Is6() {
			n.IPv6 = true
		}
	}
	used, err := s.usedRanges(existing)
	if err != nil {
		return err
	}
	for _, sn := range n.Subnets {
		for _, u := range used {
			if u.p.Overlaps(sn.Subnet.Prefix) {
				return fmt.Errorf("%w subnet %s: it overlaps %s of %s", ErrInvalid, sn.Subnet, u.p, u.owner)
			}
		}
	}
	has4 := slices.ContainsFunc(n.Subnets, func(s Subnet) bool { return s.Subnet.Addr().Is4() })
	has6 := slices.ContainsFunc(n.Subnets, func(s Subnet) bool { return s.Subnet.Addr().Is6() })
	if !has4 && (len(o.Subnets) == 0) {
		p, err := freeSubnet4(used)
		if err != nil {
			return err
		}
		n.Subnets = append(n.Subnets, Subnet{Subnet: Prefix{p}, Gateway: p.Addr().Next()})
	}
	if n.IPv6 && !has6 {
		p, err := freeSubnet6(used)
		if err != nil {
			return err
		}
		n.Subnets = append(n.Subnets, Subnet{Subnet: Prefix{p}, Gateway: p.Addr().Next()})
	}
	return nil
}

type usedRange struct {
	p     netip.Prefix
	owner string
}

// usedRanges lists the ranges a new network must not overlap: ctr-unit's
// networks, podman's, and the host's routes (the default route aside).
func (s *Store) usedRanges(existing []*Network) ([]usedRange, error) {
	var used []usedRange
	for _, e := range existing {
		for _, sn := range e.Subnets {
			used = append(used, usedRange{sn.Subnet.Prefix, "network " + e.Name})
		}
	}
	if s.PodmanDir != "" {
		ents, _ := os.ReadDir(s.PodmanDir)
		for _, ent := range ents {
			var n Network
			data, err := os.ReadFile(filepath.Join(s.PodmanDir, ent.Name()))
			if err != nil || json.Unmarshal(data, &n) != nil {
				continue // podman's own files are podman's business
			}
			for _, sn := range n.Subnets {
				used = append(used, usedRange{sn.Subnet.Prefix, "podman network " + n.Name})
			}
		}
		// podman's default network is never stored.
		used = append(used, usedRange{netip.MustParsePrefix("10.88.0.0/16"), "podman's default network"})
	}
	routes := s.HostRoutes
	if routes == nil {
		routes = HostRoutes
	}
	rs, err := routes()
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Bits() > 0 {
			used = append(used, usedRange{r, "a route of the host"})
		}
	}
	return used, nil
}

func freeSubnet4(used []usedRange) (netip.Prefix, error) {
	pool := AutoSubnetPool
	for a := pool.Addr(); pool.Contains(a); a = nextSubnet(a, 24) {
		p := netip.PrefixFrom(a, 24)
		if !overlapsAny(p, used) && !p.Overlaps(DefaultSubnet) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("%w: every /24 of %s is taken: give --subnet", ErrNoFreeAddress, pool)
}

// freeSubnet6 picks a random unique-local /64, as podman does.
func freeSubnet6(used []usedRange) (netip.Prefix, error) {
	for range 100 {
		var b [16]byte
		rand.Read(b[:8])
		b[0] = 0xfd
		p := netip.PrefixFrom(netip.AddrFrom16(b), 64)
		if !overlapsAny(p, used) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("%w: no free IPv6 /64: give --subnet", ErrNoFreeAddress)
}

func overlapsAny(p netip.Prefix, used []usedRange) bool {
	return slices.ContainsFunc(used, func(u usedRange) bool { return u.p.Overlaps(p) })
}

// nextSubnet returns the first address after a's /bits subnet.
func nextSubnet(a netip.Addr, bits int) netip.Addr {
	n := new(big.Int).SetBytes(a.AsSlice())
	n.Add(n, new(big.Int).Lsh(big.NewInt(1), uint(a.BitLen()-bits)))
	b := n.FillBytes(make([]byte, a.BitLen()/8+1))[1:]
	next, _ := netip.AddrFromSlice(b)
	return next
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// freeInterface picks a bridge name no network has and no link of the
// host's has (another install of ctr-unit, or anything else).
func freeInterface(existing []*Network) string {
	for i := 1; ; i++ {
		name := fmt.Sprintf("ctr%d", i)
		if slices.ContainsFunc(existing, func(n *Network) bool { return n.Interface == name }) {
			continue
		}
		if _, err := net.InterfaceByName(name); err == nil {
			continue
		}
		return name
	}
}

func randomID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ParseSubnet parses a --subnet CIDR: a network address (no host bits
// set) with room for a gateway and at least one container.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w subnet %q: want CIDR notation, e.g. 10.89.0.0/24", ErrInvalid, s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%w subnet %q: an IPv4-mapped IPv6 range", ErrInvalid, s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%w subnet %q: host bits set (did you mean %s?)", ErrInvalid, s, p.Masked())
	}
	if max := p.Addr().BitLen() - 2; p.Bits() > max {
		return netip.Prefix{}, fmt.Errorf("%w subnet %q: too small, the prefix can be at most /%d", ErrInvalid, s, max)
	}
	if p.Addr().IsLoopback() || p.Addr().IsMulticast() || p.Addr().IsLinkLocalUnicast() || p.Bits() < 8 {
		return netip.Prefix{}, fmt.Errorf("%w subnet %q: not a range for containers", ErrInvalid, s)
	}
	return p, nil
}

// Validate checks a network's definition (a file, or one being created).
func (n *Network) Validate() error {
	if err := ValidateNetworkName(n.Name); err != nil && n.Name != DefaultNetwork {
		return err
	}
	if n.Driver != "bridge" {
		return fmt.Errorf("%w network %s: driver %q: only bridge is supported", ErrInvalid, n.Name, n.Driver)
	}
	if err := validateInterfaceName(n.Interface); err != nil {
		return fmt.Errorf("%w network %s: bridge %w", ErrInvalid, n.Name, err)
	}
	if len(n.ID) != 64 {
		return fmt.Errorf("%w network %s: id %q: want 64 hex digits", ErrInvalid, n.Name, n.ID)
	}
	if _, err := hex.DecodeString(n.ID); err != nil {
		return fmt.Errorf("%w network %s: id %q: want 64 hex digits", ErrInvalid, n.Name, n.ID)
	}
	if len(n.Subnets) == 0 {
		return fmt.Errorf("%w network %s: no subnet", ErrInvalid, n.Name)
	}
	for k, v := range n.Options {
		if err := validateOption(k, v); err != nil {
			return fmt.Errorf("%w network %s: %w", ErrInvalid, n.Name, err)
		}
	}
	var v4, v6 int
	for i, sn := range n.Subnets {
		p := sn.Subnet.Prefix
		if _, err := ParseSubnet(p.String()); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
		for _, o := range n.Subnets[:i] {
			if o.Subnet.Overlaps(p) {
				return fmt.Errorf("%w network %s: subnets %s and %s overlap", ErrInvalid, n.Name, o.Subnet, p)
			}
		}
		if p.Addr().Is4() {
			v4++
		} else {
			v6++
		}
		g := sn.Gateway
		if !g.IsValid() {
			return fmt.Errorf("%w network %s: subnet %s has no gateway", ErrInvalid, n.Name, p)
		}
		if !p.Contains(g) || g == p.Addr() || (g.Is4() && g == lastAddr(p)) {
			return fmt.Errorf("%w gateway %s: not a host address of subnet %s", ErrInvalid, g, p)
		}
		if r := sn.LeaseRange; r != nil {
			for _, a := range []netip.Addr{r.Start, r.End} {
				if a.IsValid() && !p.Contains(a) {
					return fmt.Errorf("%w network %s: lease range address %s is outside subnet %s", ErrInvalid, n.Name, a, p)
				}
			}
			if r.Start.IsValid() && r.End.IsValid() && r.End.Less(r.Start) {
				return fmt.Errorf("%w network %s: lease range %s-%s ends before it starts", ErrInvalid, n.Name, r.Start, r.End)
			}
		}
	}
	if v6 > 0 && !n.IPv6 {
		return fmt.Errorf("%w network %s: an IPv6 subnet needs ipv6_enabled", ErrInvalid, n.Name)
	}
	if n.IPv6 && v6 == 0 {
		return fmt.Errorf("%w network %s: ipv6_enabled without an IPv6 subnet", ErrInvalid, n.Name)
	}
	if v4 > 1 || v6 > 1 {
		return fmt.Errorf("%w network %s: at most one IPv4 and one IPv6 subnet", ErrInvalid, n.Name)
	}
	return nil
}

// validateOption checks one of the bridge driver's options netavark knows.
func validateOption(k, v string) error {
	switch k {
	case "isolate":
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("option isolate=%q: want true or false", v)
		}
	case "mtu", "metric":
		if n, err := strconv.ParseUint(v, 10, 32); err != nil || k == "mtu" && (n < 68 || n > 65535) {
			return fmt.Errorf("option %s=%q: want a number (mtu: 68-65535)", k, v)
		}
	default:
		return fmt.Errorf("unknown option %q (want isolate, mtu or metric)", k)
	}
	return nil
}

// Remove deletes a network's file. inUse (which may be nil) names the
// containers that use it; any makes Remove refuse.
func (s *Store) Remove(name string, inUse func(network string) ([]string, error)) error {
	if name == DefaultNetwork || name == ModeBridge {
		return fmt.Errorf("%w: %s is the default network and cannot be removed", ErrInvalid, DefaultNetwork)
	}
	if err := ValidateNetworkName(name); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(s.Dir, ".lock"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNoSuchNetwork, name)
		}
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	defer unlock()
	if _, err := os.Stat(s.path(name)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNoSuchNetwork, name)
	}
	if inUse != nil {
		users, err := inUse(name)
		if err != nil {
			return fmt.Errorf("remove network %s: %w", name, err)
		}
		if len(users) > 0 {
			slices.Sort(users)
			return fmt.Errorf("%w: %s is used by %s: remove them first", ErrNetworkInUse, name, strings.Join(users, ", "))
		}
	}
	if err := os.Remove(s.path(name)); err != nil {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	return nil
}

// Prune removes every network no container uses, and returns their names.
func (s *Store) Prune(inUse func(network string) ([]string, error)) ([]string, error) {
	nets, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range nets {
		if n.Name == DefaultNetwork {
			continue
		}
		err := s.Remove(n.Name, inUse)
		switch {
		case errors.Is(err, ErrNetworkInUse), errors.Is(err, ErrNoSuchNetwork):
		case err != nil:
			return removed, err
		default:
			removed = append(removed, n.Name)
		}
	}
	return removed, nil
}

// lockFile takes an exclusive flock on path (created if need be) until
// the returned function is called. It waits: holders only do file work.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
