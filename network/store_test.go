package network

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testStore has no podman dir and one host route (10.80.0.0/24), so the
// first free /24 is 10.80.1.0/24.
func testStore(t *testing.T) *Store {
	t.Helper()
	return &Store{
		Dir: filepath.Join(t.TempDir(), "networks"),
		HostRoutes: func() ([]netip.Prefix, error) {
			return []netip.Prefix{netip.MustParsePrefix("10.80.0.0/24"), netip.MustParsePrefix("0.0.0.0/0")}, nil
		},
	}
}

func dirFiles(t *testing.T, dir string) string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		names = append(names, e.Name()+"="+string(b))
	}
	return strings.Join(names, "\n")
}

func TestCreateDefaults(t *testing.T) {
	s := testStore(t)
	n, err := s.Create(CreateOptions{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Subnets[0].Subnet.String() != "10.80.1.0/24" || n.Subnets[0].Gateway.String() != "10.80.1.1" {
		t.Errorf("subnet %v gateway %v, want 10.80.1.0/24 (10.80.0.0/24 is a host route) and 10.80.1.1", n.Subnets[0].Subnet, n.Subnets[0].Gateway)
	}
	if n.Interface != "ctr1" || !n.DNSEnabled || n.Internal || n.IPv6 || len(n.ID) != 64 || n.Driver != "bridge" || n.Options["isolate"] != "true" {
		t.Errorf("network %+v", n)
	}
	// podman's format: the file holds what podman's holds.
	var raw map[string]any
	data, _ := os.ReadFile(filepath.Join(s.Dir, "web.json"))
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "id", "driver", "network_interface", "created", "subnets", "ipv6_enabled", "internal", "dns_enabled", "ipam_options"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("web.json has no %q: %s", k, data)
		}
	}
	got, err := s.Get("web")
	if err != nil || got.ID != n.ID || got.Subnets[0] != n.Subnets[0] {
		t.Errorf("Get(web) = %+v, %v", got, err)
	}

	n2, err := s.Create(CreateOptions{Name: "db", IPv6: true, Internal: true, Options: map[string]string{"isolate": "false", "mtu": "1400"}})
	if err != nil {
		t.Fatal(err)
	}
	if n2.Interface != "ctr2" || n2.Subnets[0].Subnet.String() != "10.80.2.0/24" || len(n2.Subnets) != 2 || !n2.Subnets[1].Subnet.Addr().Is6() || n2.Subnets[1].Subnet.Bits() != 64 || !n2.IPv6 || !n2.Internal || n2.Options["isolate"] != "false" || n2.Options["mtu"] != "1400" {
		t.Errorf("second network %+v", n2)
	}
	list, err := s.List()
	if err != nil || len(list) != 3 || list[0].Name != DefaultNetwork || list[1].Name != "db" || list[2].Name != "web" {
		t.Errorf("List = %v, %v", list, err)
	}
}

func TestCreateRefusesAndStoresNothing(t *testing.T) {
	s := testStore(t)
	if _, err := s.Create(CreateOptions{Name: "web", Subnets: []string{"10.90.0.0/24"}}); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, s.Dir)
	for _, tt := range []struct {
		o    CreateOptions
		want string
	}{
		{CreateOptions{Name: "web"}, "already exists"},
		{CreateOptions{Name: DefaultNetwork}, "default network"},
		{CreateOptions{Name: "bad name"}, "network name"},
		{CreateOptions{Name: "host"}, "network mode"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.5/24"}}, "did you mean 10.91.0.0/24"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/33"}}, "CIDR"},
		{CreateOptions{Name: "x", Subnets: []string{"10.90.0.0/16"}}, "overlaps 10.90.0.0/24 of network web"},
		{CreateOptions{Name: "x", Subnets: []string{"10.87.5.0/24"}}, "overlaps 10.87.0.0/16 of network " + DefaultNetwork},
		{CreateOptions{Name: "x", Subnets: []string{"10.80.0.0/25"}}, "a route of the host"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/24"}, Gateways: []string{"10.92.0.1"}}, "not a host address of subnet 10.91.0.0/24"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/24"}, Gateways: []string{"10.91.0.0"}}, "not a host address"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/24"}, Gateways: []string{"10.91.0.255"}}, "not a host address"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/24"}, Gateways: []string{"gw"}}, `gateway "gw"`},
		{CreateOptions{Name: "x", Gateways: []string{"10.91.0.1"}}, "--gateway needs a --subnet"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/24", "10.92.0.0/24"}}, "at most one IPv4"},
		{CreateOptions{Name: "x", Subnets: []string{"10.91.0.0/24"}, IPRanges: []string{"10.93.0.0/28"}}, "outside subnet"},
		{CreateOptions{Name: "x", Interface: "ctr1"}, "bridge ctr1 is network web's"},
		{CreateOptions{Name: "x", Interface: "a/b"}, "interface name"},
		{CreateOptions{Name: "x", Options: map[string]string{"isolate": "maybe"}}, "isolate"},
		{CreateOptions{Name: "x", Options: map[string]string{"mtu": "10"}}, "mtu"},
		{CreateOptions{Name: "x", Options: map[string]string{"color": "red"}}, `unknown option "color"`},
	} {
		_, err := s.Create(tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Create(%+v) = %v, want an error with %q", tt.o, err, tt.want)
		}
		if tt.want != "already exists" && tt.want != "default network" && !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", tt.o, err)
		}
	}
	if after := dirFiles(t, s.Dir); after != before {
		t.Errorf("refused creates changed the store:\n%s\n---\n%s", before, after)
	}
}

func TestCreateIPv6Subnet(t *testing.T) {
	s := testStore(t)
	n, err := s.Create(CreateOptions{Name: "v6", Subnets: []string{"fd00:1:2:3::/64"}})
	if err != nil {
		t.Fatal(err)
	}
	if !n.IPv6 || len(n.Subnets) != 1 || n.Subnets[0].Gateway.String() != "fd00:1:2:3::1" {
		t.Errorf("network %+v", n)
	}
}

func TestRemoveAndPrune(t *testing.T) {
	s := testStore(t)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := s.Create(CreateOptions{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	inUse := func(n string) ([]string, error) {
		if n == "b" {
			return []string{"web2", "web1"}, nil
		}
		return nil, nil
	}
	if err := s.Remove("b", inUse); !errors.Is(err, ErrNetworkInUse) || !strings.Contains(err.Error(), "web1, web2") {
		t.Errorf("Remove(b) = %v, want in use by web1, web2", err)
	}
	if err := s.Remove(DefaultNetwork, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Remove(default) = %v", err)
	}
	if err := s.Remove("zz", nil); !errors.Is(err, ErrNoSuchNetwork) {
		t.Errorf("Remove(zz) = %v", err)
	}
	if err := s.Remove("a", inUse); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNoSuchNetwork) {
		t.Errorf("Get(a) after rm = %v", err)
	}
	pruned, err := s.Prune(inUse)
	if err != nil || len(pruned) != 1 || pruned[0] != "c" {
		t.Errorf("Prune = %v, %v; want [c]", pruned, err)
	}
	list, _ := s.List()
	if len(list) != 2 || list[1].Name != "b" {
		t.Errorf("after prune: %v", list)
	}
}

func TestBrokenFileIsNamed(t *testing.T) {
	s := testStore(t)
	os.MkdirAll(s.Dir, 0o755)
	os.WriteFile(filepath.Join(s.Dir, "bad.json"), []byte("{"), 0o644)
	_, err := s.Get("bad")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(s.Dir, "bad.json")) {
		t.Errorf("Get(bad) = %v, want the file named", err)
	}
	if _, err := s.List(); err == nil {
		t.Error("List with a broken file: no error")
	}
	os.WriteFile(filepath.Join(s.Dir, "bad.json"), []byte(`{"name":"bad","id":"x","driver":"bridge","network_interface":"ctr9","subnets":[{"subnet":"10.95.0.0/24","gateway":"10.95.0.1"}]}`), 0o644)
	if _, err := s.Get("bad"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("Get(bad) = %v, want the id refused", err)
	}
}

func TestDefaultNetwork(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Name != DefaultNetwork || d.Interface != DefaultInterface || d.DNSEnabled || d.Subnets[0].Gateway.String() != "10.87.0.1" {
		t.Errorf("default %+v", d)
	}
	if d.Subnets[0].Subnet.Overlaps(netip.MustParsePrefix("10.88.0.0/16")) || AutoSubnetPool.Overlaps(netip.MustParsePrefix("10.88.0.0/16")) || AutoSubnetPool.Overlaps(netip.MustParsePrefix("10.89.0.0/16")) {
		t.Error("the default network or the pool overlaps podman's ranges")
	}
}

func TestParseRoutes(t *testing.T) {
	v4 := []byte("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"ctr1\t0001500A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
	got := parseRoutes4(v4)
	if len(got) != 2 || got[0].String() != "0.0.0.0/0" || got[1].String() != "10.80.1.0/24" {
		t.Errorf("parseRoutes4 = %v", got)
	}
	v6 := []byte("fd000000000000010000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 ctr1\n")
	if got := parseRoutes6(v6); len(got) != 1 || got[0].String() != "fd00:0:0:1::/64" {
		t.Errorf("parseRoutes6 = %v", got)
	}
}
