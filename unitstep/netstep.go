package unitstep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/network"
)

// ExitSetupFailed is the exit code of a container whose network could not
// be set up: podman's for its own errors.
const ExitSetupFailed = 125

// NetworkPlanFile is the name, in a container's bundle, of what its start
// step sets up for its network (NetworkPlan). A bundle without one (a
// container made before ctr-unit had networks) gets nothing more than its
// spec says.
const NetworkPlanFile = "network.json"

// The files the start step writes into the bundle and the spec
// bind-mounts over the container's own.
const (
	ResolvConfFile = "resolv.conf"
	HostsFile      = "hosts"
	HostnameFile   = "hostname"
)

// NetworkPlan is a container's network as its start step sets it up:
// written beside its spec by whoever writes the bundle, from the record.
type NetworkPlan struct {
	// Mode is network.ModeHost, ModeNone or ModeBridge (Networks).
	Mode string `json:"mode"`
	// ConfigDir holds the network definitions ("" the default).
	ConfigDir string                `json:"config_dir,omitempty"`
	Networks  []network.Attach      `json:"networks,omitempty"`
	Ports     []network.PortMapping `json:"ports,omitempty"`
	// DNSServers (--dns) replace the host's; NoResolvConf (--dns none)
	// leaves the image's /etc/resolv.conf.
	DNSServers   []netip.Addr        `json:"dns_servers,omitempty"`
	NoResolvConf bool                `json:"no_resolv_conf,omitempty"`
	DNSSearch    []string            `json:"dns_search,omitempty"`
	DNSOptions   []string            `json:"dns_options,omitempty"`
	AddHosts     []network.HostEntry `json:"add_hosts,omitempty"`
	Hostname     string              `json:"hostname,omitempty"`
}

// Private says whether the plan gives the container a namespace that the
// start step sets up (rather than the host's, or runc's empty one).
func (p *NetworkPlan) Private() bool { return p != nil && p.Mode == network.ModeBridge }

// NetworkRuntime is the network runtime of containers kept in d.
func (d Dirs) NetworkRuntime(configDir string) *network.Runtime {
	if configDir == "" {
		configDir = network.DefaultConfigDir
	}
	return &network.Runtime{Store: &network.Store{Dir: configDir}, RuntimeDir: d.RuntimeDir}
}

// Netns is where a container's network namespace is pinned while it runs.
func (d Dirs) Netns(name string) string { return d.NetworkRuntime("").NetnsPath(name) }

// EtcFile is one of the files the start step writes for /etc.
func (d Dirs) EtcFile(name, file string) string { return filepath.Join(d.Bundle(name), file) }

// WriteNetworkPlan writes p into the bundle dir.
func WriteNetworkPlan(dir string, p *NetworkPlan) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(dir, NetworkPlanFile), data, 0o600)
}

// readNetworkPlan reads a bundle's plan; nil if it has none.
func readNetworkPlan(dir string) (*NetworkPlan, error) {
	data, err := os.ReadFile(filepath.Join(dir, NetworkPlanFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &NetworkPlan{}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, NetworkPlanFile), err)
	}
	return p, nil
}

// setupNetwork sets up what a container's plan asks for before runc
// creates it: its namespace on its networks (a leftover of an earlier run
// is torn down first), and its resolv.conf, hosts and hostname.
func (s Steps) setupNetwork(ctx context.Context, name string, p *NetworkPlan) error {
	var att *network.Attachment
	if p.Private() {
		var err error
		att, err = s.Dirs.NetworkRuntime(p.ConfigDir).Setup(ctx, network.SetupRequest{
			Container: name, Networks: p.Networks, Ports: p.Ports, DNSServers: p.DNSServers,
		})
		if err != nil {
			return err
		}
	}
	if err := s.writeEtcFiles(name, p, att); err != nil {
		return errors.Join(fmt.Errorf("container %s: %w", name, err), s.teardownNetwork(ctx, name, p))
	}
	return nil
}

// writeEtcFiles writes the container's resolv.conf, hosts and hostname
// from the host's and what its network gave it (att; nil without one).
func (s Steps) writeEtcFiles(name string, p *NetworkPlan, att *network.Attachment) error {
	resolv, upstream, hosts, err := network.ReadHostFiles()
	if err != nil {
		return err
	}
	hp := network.HostsParams{Base: hosts, Hostname: p.Hostname, Name: name, AddHosts: p.AddHosts}
	rp := network.ResolvConfParams{Host: resolv, ResolvedUpstream: upstream, OwnNetns: p.Mode != network.ModeHost,
		Servers: p.DNSServers, Search: p.DNSSearch, Options: p.DNSOptions}
	if p.Mode == network.ModeHost {
		// The host's names stay the container's: it is the host's own
		// address too.
		hp.Name = ""
	}
	if att != nil {
		rp.NetworkServers, rp.NetworkSearch = att.DNSServers, att.DNSSearch
		for i, n := range att.Networks {
			for _, a := range n.Addresses {
				rp.IPv6 = rp.IPv6 || a.Addr().Is6()
				if i == 0 {
					hp.Addresses = append(hp.Addresses, a.Addr())
				}
			}
			if !n.Internal && !hp.HostGateway.IsValid() && len(n.Gateways) > 0 {
				hp.HostGateway = n.Gateways[0]
			}
		}
	}
	files := map[string][]byte{HostsFile: network.Hosts(hp)}
	if p.Hostname != "" {
		files[HostnameFile] = network.Hostname(p.Hostname)
	}
	if !p.NoResolvConf {
		files[ResolvConfFile] = network.ResolvConf(rp)
	}
	for file, data := range files {
		if err := renameio.WriteFile(s.Dirs.EtcFile(name, file), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// teardownNetwork undoes setupNetwork's namespace, if it made one.
func (s Steps) teardownNetwork(ctx context.Context, name string, p *NetworkPlan) error {
	configDir := ""
	if p != nil {
		configDir = p.ConfigDir
	}
	return s.Dirs.NetworkRuntime(configDir).Teardown(ctx, name)
}
