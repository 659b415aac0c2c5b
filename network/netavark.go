package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// findHelper returns the named podman helper (netavark, aardvark-dns)
// from where Debian and other distributions install them, or $PATH; ""
// if it is nowhere.
func findHelper(name string) string {
	for _, d := range []string{"/usr/lib/podman", "/usr/libexec/podman", "/usr/local/libexec/podman", "/usr/local/lib/podman"} {
		p := d + "/" + name
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

// netavarkOptions is what netavark setup and teardown read on stdin.
type netavarkOptions struct {
	ContainerID   string                      `json:"container_id"`
	ContainerName string                      `json:"container_name"`
	Networks      map[string]netavarkPerNet   `json:"networks"`
	NetworkInfo   map[string]*netavarkNetwork `json:"network_info"`
	PortMappings  []PortMapping               `json:"port_mappings,omitempty"`
	DNSServers    []netip.Addr                `json:"dns_servers,omitempty"`
}

type netavarkPerNet struct {
	Aliases   []string     `json:"aliases,omitempty"`
	Interface string       `json:"interface_name"`
	StaticIPs []netip.Addr `json:"static_ips"`
	StaticMAC string       `json:"static_mac,omitempty"`
}

// netavarkNetwork is Network as netavark wants it: the network's name
// prefixed (see backendName), created dropped.
type netavarkNetwork struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	Driver      string            `json:"driver"`
	Interface   string            `json:"network_interface"`
	Subnets     []Subnet          `json:"subnets"`
	IPv6        bool              `json:"ipv6_enabled"`
	Internal    bool              `json:"internal"`
	DNSEnabled  bool              `json:"dns_enabled"`
	Options     map[string]string `json:"options,omitempty"`
	IPAMOptions map[string]string `json:"ipam_options,omitempty"`
}

// backendName is a network's name for netavark, which names firewall
// chains and aardvark-dns files after it: prefixed, so that ctr-unit's
// network "web" and podman's "web" never share them.
func backendName(name string) string { return "ctr-unit." + name }

func toNetavark(n *Network) *netavarkNetwork {
	return &netavarkNetwork{
		Name: backendName(n.Name), ID: n.ID, Driver: n.Driver, Interface: n.Interface,
		Subnets: n.Subnets, IPv6: n.IPv6, Internal: n.Internal, DNSEnabled: n.DNSEnabled,
		Options: n.Options, IPAMOptions: map[string]string{"driver": "host-local"},
	}
}

// netavarkStatus is what netavark setup prints: per network name.
type netavarkStatus map[string]struct {
	DNSSearch  []string     `json:"dns_search_domains"`
	DNSServers []netip.Addr `json:"dns_server_ips"`
	Interfaces map[string]struct {
		MAC     string `json:"mac_address"`
		Subnets []struct {
			IPNet   Prefix     `json:"ipnet"`
			Gateway netip.Addr `json:"gateway,omitzero"`
		} `json:"subnets"`
	} `json:"interfaces"`
}

// netavark runs one netavark command on a namespace with opts on stdin,
// and returns its output.
func (r *Runtime) netavark(ctx context.Context, verb, netns string, opts *netavarkOptions) ([]byte, error) {
	bin := r.Netavark
	if bin == "" {
		bin = findHelper("netavark")
	}
	if bin == "" {
		return nil, fmt.Errorf("netavark not found (install the netavark and aardvark-dns packages)")
	}
	in, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	args := []string{"--config", r.netavarkDir()}
	aardvark := r.AardvarkDNS
	if aardvark == "" {
		aardvark = findHelper("aardvark-dns")
	}
	if aardvark != "" {
		args = append(args, "--aardvark-binary", aardvark)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, verb, netns)...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("netavark %s: %w", verb, netavarkError(err, stdout.Bytes(), stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// netavarkError turns netavark's {"error": "..."} (on stdout) into an
// error; its stderr holds only logging.
func netavarkError(err error, stdout, stderr []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(stdout, &e) == nil && e.Error != "" {
		return errors.New(strings.ReplaceAll(strings.TrimSpace(e.Error), "\n\t", "; "))
	}
	msg := strings.TrimSpace(string(stderr))
	if msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}
