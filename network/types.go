package network

import (
	"errors"
	"net/netip"
	"time"
)

// Network is a network definition, kept as a JSON file in podman's format
// (podman's /etc/containers/networks/NAME.json), which is also what
// netavark reads.
type Network struct {
	Name string `json:"name"`
	// ID is 64 hex digits, as podman's.
	ID     string `json:"id"`
	Driver string `json:"driver"`
	// Interface is the bridge on the host.
	Interface string    `json:"network_interface"`
	Created   time.Time `json:"created,omitzero"`
	Subnets   []Subnet  `json:"subnets"`
	IPv6      bool      `json:"ipv6_enabled"`
	// Internal networks have no route out and no published ports.
	Internal bool `json:"internal"`
	// DNSEnabled: containers on the network find each other by name
	// (through aardvark-dns on the gateway).
	DNSEnabled  bool              `json:"dns_enabled"`
	Options     map[string]string `json:"options,omitempty"`
	IPAMOptions map[string]string `json:"ipam_options,omitempty"`
}

// Subnet is one address range of a network.
type Subnet struct {
	Subnet  Prefix     `json:"subnet"`
	Gateway netip.Addr `json:"gateway,omitzero"`
	// LeaseRange limits the addresses given out, as podman's --ip-range.
	LeaseRange *LeaseRange `json:"lease_range,omitempty"`
}

// LeaseRange is an inclusive range of addresses; either end may be unset.
type LeaseRange struct {
	Start netip.Addr `json:"start_ip,omitzero"`
	End   netip.Addr `json:"end_ip,omitzero"`
}

// Prefix is a netip.Prefix written as text ("10.88.0.0/16"), and never as
// the empty string for an unset one.
type Prefix struct{ netip.Prefix }

// MarshalText implements encoding.TextMarshaler.
func (p Prefix) MarshalText() ([]byte, error) { return p.Prefix.MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Prefix) UnmarshalText(b []byte) error { return p.Prefix.UnmarshalText(b) }

// The default network. Its name, bridge and subnet differ from podman's
// default (podman, podman0, 10.88.0.0/16) on purpose: podman is often
// installed on the same host, keeps its own allocations, and would hand
// out the same addresses on the same bridge. Like podman's default, it has
// no name resolution (as docker's default bridge), is never stored, and
// cannot be removed.
const (
	DefaultNetwork   = "ctr-unit"
	DefaultInterface = "ctr0"
	// DefaultID is the sha256 of DefaultNetwork: fixed, as podman's.
	DefaultID = "665832e8ac8bafea4299902dbd1d426726b9b2d72412afd5e517639fede5944c"
)

// DefaultSubnet is the default network's range; networks created without
// --subnet get a /24 of AutoSubnetPool. Both stay below 10.88.0.0/16 and
// podman's own pool (10.89.0.0/24 upwards), so the two never pick the
// same range.
var (
	DefaultSubnet  = netip.MustParsePrefix("10.87.0.0/16")
	AutoSubnetPool = netip.MustParsePrefix("10.80.0.0/13")
)

// Network modes besides named networks (ParseNetworkMode).
const (
	ModeBridge = "bridge" // the default network
	ModeHost   = "host"
	ModeNone   = "none"
)

// Sentinel errors, for errors.Is.
var (
	ErrNoSuchNetwork = errors.New("no such network")
	ErrNetworkExists = errors.New("network already exists")
	ErrNetworkInUse  = errors.New("network is in use")
	ErrInvalid       = errors.New("invalid")
	ErrNoFreeAddress = errors.New("no free address")
	ErrAddressInUse  = errors.New("address already in use")
)

// PortMapping is one published port (or range of Range ports), in
// netavark's format.
type PortMapping struct {
	HostIP        string `json:"host_ip"`
	ContainerPort uint16 `json:"container_port"`
	// HostPort 0 means: any free port, picked when the container starts.
	HostPort uint16 `json:"host_port"`
	Range    uint16 `json:"range"`
	Protocol string `json:"protocol"`
}

// HostEntry is one --add-host: names for an address in /etc/hosts.
type HostEntry struct {
	Names []string   `json:"names"`
	IP    netip.Addr `json:"ip"`
}

// Attach says how a container joins one network.
type Attach struct {
	Network string
	// Aliases are more names the container answers to on the network.
	Aliases []string
	// IPs are static addresses; empty means allocated.
	IPs []netip.Addr
	// MAC is a static address ("" means random).
	MAC string
	// Interface inside the container; "" means eth0, eth1, ...
	Interface string
}
