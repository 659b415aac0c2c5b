package network

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	tests := []struct {
		in   string
		want PortMapping
		err  string // part of the error; "" means success
	}{
		{"8080:80", PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, ""},
		{"80", PortMapping{ContainerPort: 80, Range: 1, Protocol: "tcp"}, ""},
		{"127.0.0.1:8080:80/udp", PortMapping{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "udp"}, ""},
		{"127.0.0.1::80", PortMapping{HostIP: "127.0.0.1", ContainerPort: 80, Range: 1, Protocol: "tcp"}, ""},
		{"0.0.0.0:8080:80", PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, ""},
		{"[::1]:8080:80", PortMapping{HostIP: "::1", HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, ""},
		{"8080-8082:80-82/sctp", PortMapping{HostPort: 8080, ContainerPort: 80, Range: 3, Protocol: "sctp"}, ""},
		{"8080:80/icmp", PortMapping{}, `protocol "icmp"`},
		{"8080:0", PortMapping{}, "container port 0"},
		{"8080:65536", PortMapping{}, "not a port number"},
		{"x:80", PortMapping{}, `host port "x"`},
		{"", PortMapping{}, "container port"},
		{"1.2.3:8080:80", PortMapping{}, "not an IPv4 address"},
		{"::1:8080:80", PortMapping{}, "too many"},
		{"[1.2.3.4]:8080:80", PortMapping{}, "not an IPv6 address"},
		{"8080-8081:80", PortMapping{}, "host range of 2 ports, container range of 1"},
		{"80-81", PortMapping{}, "needs a host port range"},
		{"8082-8080:80-82", PortMapping{}, "ends before it starts"},
		{"224.0.0.1:80:80", PortMapping{}, "not a unicast"},
	}
	for _, tt := range tests {
		got, err := ParsePublish(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParsePublish(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("ParsePublish(%q): error %q does not quote the value", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAddHost(t *testing.T) {
	tests := []struct {
		in   string
		want HostEntry
		err  string
	}{
		{"db:10.89.0.5", HostEntry{Names: []string{"db"}, IP: netip.MustParseAddr("10.89.0.5")}, ""},
		{"db;db.local:fd00::5", HostEntry{Names: []string{"db", "db.local"}, IP: netip.MustParseAddr("fd00::5")}, ""},
		{"v6:::1", HostEntry{Names: []string{"v6"}, IP: netip.MustParseAddr("::1")}, ""},
		{"v6:[fd00::1]", HostEntry{Names: []string{"v6"}, IP: netip.MustParseAddr("fd00::1")}, ""},
		{"db", HostEntry{}, "want NAME:IP"},
		{"db:10.89.0", HostEntry{}, "not an IP address"},
		{"-db:10.89.0.5", HostEntry{}, "not a host name"},
		{":10.89.0.5", HostEntry{}, "not a host name"},
		{"d b:10.89.0.5", HostEntry{}, "not a host name"},
	}
	for _, tt := range tests {
		got, err := ParseAddHost(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseAddHost(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAddHost(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDNS(t *testing.T) {
	got, none, err := ParseDNS([]string{"1.1.1.1", "fd00::53"})
	if err != nil || none || len(got) != 2 || got[1] != netip.MustParseAddr("fd00::53") {
		t.Errorf("ParseDNS = %v, %v, %v", got, none, err)
	}
	if _, none, err := ParseDNS([]string{"none"}); err != nil || !none {
		t.Errorf("ParseDNS(none) = %v, %v", none, err)
	}
	for _, bad := range [][]string{{"none", "1.1.1.1"}, {"dns.example"}, {"1.1.1.1/32"}, {"fe80::1%eth0"}} {
		if _, _, err := ParseDNS(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDNS(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if s, err := ParseDNSSearch([]string{"example.com", "corp."}); err != nil || len(s) != 2 {
		t.Errorf("ParseDNSSearch = %v, %v", s, err)
	}
	if _, err := ParseDNSSearch([]string{"bad domain"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseDNSSearch(bad domain) = %v", err)
	}
}

func TestParseIP(t *testing.T) {
	for in, want := range map[string]string{"10.89.0.5": "10.89.0.5", "fd00::5": "fd00::5", "::ffff:10.1.2.3": "10.1.2.3"} {
		if got, err := ParseIP(in); err != nil || got.String() != want {
			t.Errorf("ParseIP(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10.89.0.5/24", "0.0.0.0", "::", "224.0.0.1", "127.0.0.1", "fe80::1%eth0", "host"} {
		if got, err := ParseIP(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseIP(%q) = %v, %v; want ErrInvalid", bad, got, err)
		}
	}
}

func TestParseMAC(t *testing.T) {
	if got, err := ParseMAC("92:D0:C6:0A:29:33"); err != nil || got != "92:d0:c6:0a:29:33" {
		t.Errorf("ParseMAC = %q, %v", got, err)
	}
	for _, bad := range []string{"", "92:d0:c6:0a:29", "93:d0:c6:0a:29:33", "00:00:00:00:00:00", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", "zz:d0:c6:0a:29:33"} {
		if got, err := ParseMAC(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMAC(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
}

func TestValidateNames(t *testing.T) {
	for _, ok := range []string{"web", "a", "my_net.1-x", "Net9"} {
		if err := ValidateNetworkName(ok); err != nil {
			t.Errorf("ValidateNetworkName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-web", "we/b", "we b", "host", "none", "bridge", "private", strings.Repeat("x", 201)} {
		if err := ValidateNetworkName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateNetworkName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	for _, ok := range []string{"web", "web.example.com", "my_host", "a-1"} {
		if err := ValidateHostname(ok); err != nil {
			t.Errorf("ValidateHostname(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-web", "web-", "a..b", "we b", strings.Repeat("x", 64), "a/b"} {
		if err := ValidateHostname(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateHostname(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseNetworkMode(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		in   []string
		want NetworkMode
		err  string
	}{
		{nil, NetworkMode{}, ""},
		{[]string{"host"}, NetworkMode{Mode: ModeHost}, ""},
		{[]string{"none"}, NetworkMode{Mode: ModeNone}, ""},
		{[]string{"bridge"}, NetworkMode{Mode: ModeBridge, Networks: []Attach{{Network: DefaultNetwork}}}, ""},
		{[]string{"a,b"}, NetworkMode{Mode: ModeBridge, Networks: []Attach{{Network: "a"}, {Network: "b"}}}, ""},
		{[]string{"a", "b"}, NetworkMode{Mode: ModeBridge, Networks: []Attach{{Network: "a"}, {Network: "b"}}}, ""},
		{[]string{"a:ip=10.89.0.5,alias=db,ip=fd00::5,b:mac=92:d0:c6:0a:29:33,interface_name=net1"}, NetworkMode{Mode: ModeBridge, Networks: []Attach{
			{Network: "a", IPs: []netip.Addr{ip("10.89.0.5"), ip("fd00::5")}, Aliases: []string{"db"}},
			{Network: "b", MAC: "92:d0:c6:0a:29:33", Interface: "net1"},
		}}, ""},
		{[]string{"host", "a"}, NetworkMode{}, "cannot be combined"},
		{[]string{"host,a"}, NetworkMode{}, "cannot be combined"},
		{[]string{"a,a"}, NetworkMode{}, "given twice"},
		{[]string{"bridge,ctr-unit"}, NetworkMode{}, "given twice"},
		{[]string{"container:x"}, NetworkMode{}, "want host, none, bridge"},
		{[]string{"a:ip=10.89.0.5,ip=10.89.0.6"}, NetworkMode{}, "two static IPv4"},
		{[]string{"a:ip6=10.89.0.5"}, NetworkMode{}, "not an IPv6"},
		{[]string{"a:color=red"}, NetworkMode{}, `unknown option "color"`},
		{[]string{"ip=10.89.0.5"}, NetworkMode{}, "network name"},
		{[]string{"-a"}, NetworkMode{}, "network name"},
		{[]string{""}, NetworkMode{}, "want host, none, bridge"},
	}
	for _, tt := range tests {
		got, err := ParseNetworkMode(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseNetworkMode(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseNetworkMode(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSubnet(t *testing.T) {
	for _, ok := range []string{"10.89.0.0/24", "192.168.7.0/30", "fd00:1:2:3::/64"} {
		if _, err := ParseSubnet(ok); err != nil {
			t.Errorf("ParseSubnet(%q) = %v", ok, err)
		}
	}
	for bad, msg := range map[string]string{
		"10.89.0.5/24":  "did you mean 10.89.0.0/24",
		"10.89.0.0":     "CIDR",
		"10.89.0.0/31":  "at most /30",
		"127.0.0.0/8":   "not a range for containers",
		"fe80::/64":     "not a range for containers",
		"10.0.0.0/7":    "not a range for containers",
		"0.0.0.0/0":     "not a range for containers",
		"::ffff:0:0/96": "IPv4-mapped",
	} {
		if _, err := ParseSubnet(bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSubnet(%q) = %v, want ErrInvalid with %q", bad, err, msg)
		}
	}
}

// -P publishes each EXPOSE port on a free host port (0), a range port by
// port, and leaves out what -p already publishes.
func TestPublishExposed(t *testing.T) {
	one := func(port uint16, proto string) PortMapping {
		return PortMapping{ContainerPort: port, Range: 1, Protocol: proto}
	}
	published := []PortMapping{{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}, {HostPort: 9000, ContainerPort: 9000, Range: 2, Protocol: "tcp"}}
	got, err := PublishExposed([]string{"80/tcp", "80/udp", "443", "53/udp", "9001/tcp", "7000-7001/tcp", "443/tcp"}, published)
	want := []PortMapping{one(80, "udp"), one(443, "tcp"), one(53, "udp"), one(7000, "tcp"), one(7001, "tcp")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PublishExposed = %+v, %v; want %+v", got, err, want)
	}
	if len(published) != 2 {
		t.Errorf("the caller's mappings changed: %+v", published)
	}
	for _, bad := range []string{"80/icmp", "x/tcp", "0/tcp", "90-80/tcp"} {
		if _, err := PublishExposed([]string{bad}, nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad) {
			t.Errorf("EXPOSE %q: %v; want an error naming it", bad, err)
		}
	}
}
