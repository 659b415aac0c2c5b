package container

import (
	"fmt"
	"net/netip"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// NetOptions are the network settings as given.
type NetOptions struct {
	// Networks are the --network values.
	Networks []string
	Ports    []network.PortMapping
	// PublishAll is -P: ApplyImage adds the image's EXPOSE ports to Ports.
	PublishAll bool
	IP, IP6    netip.Addr
	MAC        string
	Aliases    []string
	// DNS, DNSSearch are checked whole by Build (none and . stand alone).
	DNS, DNSSearch []string
	DNSOptions     []string
	AddHosts       []network.HostEntry
}

// ownNetwork says whether a setting asks for a network of the
// container's own: one of them without --network means the default
// network, as it would in podman.
func (n NetOptions) ownNetwork() (setting string, ok bool) {
	switch {
	case len(n.Ports) > 0:
		return "publish", true
	case n.PublishAll:
		return "publish-all", true
	case n.IP.IsValid():
		return "ip", true
	case n.IP6.IsValid():
		return "ip6", true
	case n.MAC != "":
		return "mac-address", true
	case len(n.Aliases) > 0:
		return "network-alias", true
	}
	return "", false
}

func parseIPFamily(s string, six bool) (netip.Addr, error) {
	a, err := network.ParseIP(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Is6() != six {
		want := map[bool]string{false: "IPv4 (--ip6 takes IPv6)", true: "IPv6 (--ip takes IPv4)"}[six]
		return netip.Addr{}, fmt.Errorf("%w address %q: want %s", network.ErrInvalid, s, want)
	}
	return a, nil
}

// buildNetwork fills cfg's network from o. Without --network (and without
// a setting that needs a network of the container's own) the container
// shares the host's, as it always has: a definition that never named a
// network keeps meaning what it did.
func buildNetwork(n NetOptions, cfg *Config) Problems {
	var probs Problems
	mode, err := network.ParseNetworkMode(n.Networks)
	if err != nil {
		return Problems{{Setting: "network", Msg: err.Error()}}
	}
	own, needsOwn := n.ownNetwork()
	if mode.Mode == "" {
		mode.Mode = NetworkHost
		if needsOwn {
			mode = network.NetworkMode{Mode: NetworkBridge, Networks: []network.Attach{{Network: network.DefaultNetwork}}}
		}
	}
	cfg.Network, cfg.Networks = mode.Mode, mode.Networks
	if mode.Mode != NetworkBridge && needsOwn {
		probs = append(probs, Problem{Setting: own, Msg: fmt.Sprintf("needs a network of the container's own, and it has --network %s: use --network bridge or a network's name", mode.Mode)})
	}
	static := func(setting string, set func(a *network.Attach) bool) {
		if len(cfg.Networks) != 1 {
			probs = append(probs, Problem{Setting: setting, Msg: "the container is on several networks: give it for one of them, as --network NAME:" + setting + "=VALUE"})
			return
		}
		if !set(&cfg.Networks[0]) {
			probs = append(probs, Problem{Setting: setting, Msg: "given twice: here and in --network"})
		}
	}
	for _, ip := range []netip.Addr{n.IP, n.IP6} {
		if ip.IsValid() && mode.Mode == NetworkBridge {
			setting := map[bool]string{false: "ip", true: "ip6"}[ip.Is6()]
			static(setting, func(a *network.Attach) bool {
				if slices.ContainsFunc(a.IPs, func(x netip.Addr) bool { return x.Is6() == ip.Is6() }) {
					return false
				}
				a.IPs = append(a.IPs, ip)
				return true
			})
		}
	}
	if n.MAC != "" && mode.Mode == NetworkBridge {
		static("mac-address", func(a *network.Attach) bool {
			if a.MAC != "" {
				return false
			}
			a.MAC = n.MAC
			return true
		})
	}
	for i := range cfg.Networks {
		cfg.Networks[i].Aliases = append(cfg.Networks[i].Aliases, n.Aliases...)
	}
	if mode.Mode == NetworkBridge {
		cfg.Ports = n.Ports
	}
	servers, none, err := network.ParseDNS(n.DNS)
	if err != nil {
		probs = append(probs, Problem{Setting: "dns", Msg: err.Error()})
	}
	cfg.DNS, cfg.NoResolvConf = servers, none
	if cfg.DNSSearch, err = network.ParseDNSSearch(n.DNSSearch); err != nil {
		probs = append(probs, Problem{Setting: "dns-search", Msg: err.Error()})
	}
	cfg.DNSOptions, cfg.AddHosts = n.DNSOptions, n.AddHosts
	return probs
}

func checkNetwork(cfg *Config) Problems {
	bad := func(msg string) Problems { return Problems{{Setting: "network", Value: cfg.Network, Msg: msg}} }
	switch cfg.Network {
	case NetworkHost, NetworkNone:
		if len(cfg.Networks) > 0 || len(cfg.Ports) > 0 {
			return bad("networks and published ports need a network of the container's own")
		}
	case NetworkBridge:
		if len(cfg.Networks) == 0 {
			return bad("give a network: bridge or a network's name")
		}
		for _, a := range cfg.Networks {
			if err := network.ValidateNetworkName(a.Network); err != nil {
				return bad(err.Error())
			}
		}
	default:
		return bad("use host, none, bridge or a network's name")
	}
	return nil
}

// NetworkNames are the networks the container joins.
func (c *Config) NetworkNames() []string {
	var names []string
	for _, a := range c.Networks {
		names = append(names, a.Network)
	}
	return names
}

// NetworkPlan is what the container's start step sets up for its network,
// with network definitions in configDir ("" the default).
func NetworkPlan(cfg *Config, configDir string) *unitstep.NetworkPlan {
	p := &unitstep.NetworkPlan{
		Mode: cfg.Network, Networks: cfg.Networks, Ports: cfg.Ports,
		DNSServers: cfg.DNS, NoResolvConf: cfg.NoResolvConf, DNSSearch: cfg.DNSSearch, DNSOptions: cfg.DNSOptions,
		AddHosts: cfg.AddHosts, Hostname: specHostname(cfg),
	}
	if p.Private() {
		p.ConfigDir = configDir
	}
	return p
}

// specHostname is the container's host name: given, or its name (as
// BuildSpec's, as podman's).
func specHostname(cfg *Config) string {
	if cfg.Hostname == "" {
		return cfg.Name
	}
	return cfg.Hostname
}

// NetworkSpec adds to sc what the start step sets up (NetworkPlan): the
// namespace runc joins, and resolv.conf, hosts and hostname bind-mounted
// from the bundle (unless the container mounts its own there).
func NetworkSpec(sc *ociruntime.SpecConfig, cfg *Config, dirs unitstep.Dirs) {
	sc.Hostname = specHostname(cfg)
	if cfg.Network == NetworkBridge {
		sc.NetnsPath = dirs.Netns(cfg.Name)
	}
	files := []string{unitstep.HostsFile}
	if sc.Hostname != "" {
		files = append(files, unitstep.HostnameFile)
	}
	if !cfg.NoResolvConf {
		files = append(files, unitstep.ResolvConfFile)
	}
	for _, f := range files {
		dest := "/etc/" + f
		if slices.ContainsFunc(sc.Mounts, func(m specs.Mount) bool { return m.Destination == dest }) {
			continue
		}
		sc.Mounts = append(sc.Mounts, specs.Mount{Destination: dest, Source: dirs.EtcFile(cfg.Name, f), Type: "bind", Options: []string{"rbind", "rw", "rprivate"}})
	}
}
