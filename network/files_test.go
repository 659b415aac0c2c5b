package network

import (
	"net/netip"
	"testing"
)

func TestResolvConf(t *testing.T) {
	ip := netip.MustParseAddr
	host := []byte("# generated\nsearch corp.example\nnameserver 192.168.1.1\nnameserver 127.0.0.1\nnameserver fd00::53\noptions edns0 ndots:2\n")
	stub := []byte("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n")
	upstream := []byte("nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch lan\n")
	tests := []struct {
		name string
		p    ResolvConfParams
		want string
	}{
		{"own netns drops loopback and IPv6 servers",
			ResolvConfParams{Host: host, OwnNetns: true},
			"search corp.example\nnameserver 192.168.1.1\noptions edns0 ndots:2\n"},
		{"IPv6 keeps IPv6 servers",
			ResolvConfParams{Host: host, OwnNetns: true, IPv6: true},
			"search corp.example\nnameserver 192.168.1.1\nnameserver fd00::53\noptions edns0 ndots:2\n"},
		{"host network keeps the file's servers",
			ResolvConfParams{Host: host},
			"search corp.example\nnameserver 192.168.1.1\nnameserver 127.0.0.1\nnameserver fd00::53\noptions edns0 ndots:2\n"},
		{"systemd-resolved stub: its upstream file",
			ResolvConfParams{Host: stub, ResolvedUpstream: upstream, OwnNetns: true},
			"search lan\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"},
		{"systemd-resolved stub on the host network stays",
			ResolvConfParams{Host: stub, ResolvedUpstream: upstream},
			"search lan\nnameserver 127.0.0.53\noptions edns0 trust-ad\n"},
		{"stub without an upstream file: public servers",
			ResolvConfParams{Host: stub, OwnNetns: true},
			"search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n"},
		{"network DNS first, its search domain first",
			ResolvConfParams{Host: host, OwnNetns: true, NetworkServers: []netip.Addr{ip("10.89.0.1")}, NetworkSearch: []string{"dns.podman"}},
			"search dns.podman corp.example\nnameserver 10.89.0.1\nnameserver 192.168.1.1\noptions edns0 ndots:2\n"},
		{"--dns, --dns-search and --dns-option replace",
			ResolvConfParams{Host: host, OwnNetns: true, Servers: []netip.Addr{ip("1.1.1.1")}, Search: []string{"x.example"}, Options: []string{"ndots:5", "rotate"}},
			"search x.example\nnameserver 1.1.1.1\noptions edns0 ndots:5 rotate\n"},
		{"--dns-search . drops every domain",
			ResolvConfParams{Host: host, OwnNetns: true, Search: []string{"."}},
			"nameserver 192.168.1.1\noptions edns0 ndots:2\n"},
		{"empty host file",
			ResolvConfParams{OwnNetns: true, IPv6: true},
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n"},
	}
	for _, tt := range tests {
		if got := string(ResolvConf(tt.p)); got != tt.want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestHosts(t *testing.T) {
	ip := netip.MustParseAddr
	got := string(Hosts(HostsParams{
		Base:        []byte("127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.1.1 myhost\n"),
		Hostname:    "web",
		Name:        "web-1",
		Addresses:   []netip.Addr{ip("10.89.0.5"), ip("fd00::5")},
		AddHosts:    []HostEntry{{Names: []string{"db", "db.local"}, IP: ip("10.1.2.3")}},
		HostGateway: ip("10.89.0.1"),
	}))
	want := "10.1.2.3\tdb db.local\n" +
		"127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.1.1 myhost\n" +
		"10.89.0.5\tweb web-1\nfd00::5\tweb web-1\n" +
		"10.89.0.1\thost.containers.internal host.docker.internal\n"
	if got != want {
		t.Errorf("Hosts:\ngot\n%s\nwant\n%s", got, want)
	}
	got = string(Hosts(HostsParams{Hostname: "box", Name: "box"}))
	want = "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n" +
		"::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n" +
		"127.0.1.1\tbox\n"
	if got != want {
		t.Errorf("Hosts without base or address:\ngot\n%s\nwant\n%s", got, want)
	}
	if got := string(Hostname("web")); got != "web\n" {
		t.Errorf("Hostname = %q", got)
	}
}
