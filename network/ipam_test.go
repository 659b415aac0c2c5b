package network

import (
	"errors"
	"net/netip"
	"path/filepath"
	"testing"
)

func smallNet(t *testing.T) *Network {
	t.Helper()
	p := netip.MustParsePrefix("10.90.0.0/29") // .1 gateway, .2-.6 free, .7 broadcast
	n := &Network{Name: "small", ID: DefaultID, Driver: "bridge", Interface: "ctr9",
		Subnets: []Subnet{{Subnet: Prefix{p}, Gateway: netip.MustParseAddr("10.90.0.1")}}}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIPAMAllocatesReleasesAndMovesOn(t *testing.T) {
	n := smallNet(t)
	st, _ := readIPAM(filepath.Join(t.TempDir(), "ipam.json"), "boot1")
	var got []string
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		p, err := st.allocate(n, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[0].String())
	}
	want := []string{"10.90.0.2/29", "10.90.0.3/29", "10.90.0.4/29", "10.90.0.5/29", "10.90.0.6/29"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocations %v, want %v", got, want)
		}
	}
	if _, err := st.allocate(n, "f", nil); !errors.Is(err, ErrNoFreeAddress) {
		t.Errorf("sixth allocation: %v, want ErrNoFreeAddress", err)
	}
	st.release("b")
	st.release("d")
	// The next free one after the last given out (.6) wraps to .3.
	if p, err := st.allocate(n, "f", nil); err != nil || p[0].Addr().String() != "10.90.0.3" {
		t.Errorf("after release: %v, %v; want 10.90.0.3", p, err)
	}
	if h := st.held("f"); len(h) != 1 || h[0] != "small 10.90.0.3" {
		t.Errorf("held(f) = %v", h)
	}
}

func TestIPAMStatic(t *testing.T) {
	n := smallNet(t)
	st, _ := readIPAM(filepath.Join(t.TempDir(), "ipam.json"), "boot1")
	ip := netip.MustParseAddr
	if p, err := st.allocate(n, "a", []netip.Addr{ip("10.90.0.5")}); err != nil || p[0].String() != "10.90.0.5/29" {
		t.Fatalf("static: %v, %v", p, err)
	}
	if _, err := st.allocate(n, "b", []netip.Addr{ip("10.90.0.5")}); !errors.Is(err, ErrAddressInUse) {
		t.Errorf("taken static: %v", err)
	}
	for _, bad := range []string{"10.90.0.1", "10.90.0.7", "10.90.0.0"} {
		if _, err := st.allocate(n, "b", []netip.Addr{ip(bad)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("static %s: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := st.allocate(n, "b", []netip.Addr{ip("10.91.0.5")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("static outside: %v", err)
	}
}

func TestIPAMForgetsEarlierBoots(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipam.json")
	n := smallNet(t)
	st, _ := readIPAM(path, "boot1")
	st.allocate(n, "a", nil)
	if err := st.write(path); err != nil {
		t.Fatal(err)
	}
	same, err := readIPAM(path, "boot1")
	if err != nil || len(same.held("a")) != 1 {
		t.Fatalf("same boot: %v, %v", same.held("a"), err)
	}
	next, err := readIPAM(path, "boot2")
	if err != nil || len(next.held("a")) != 0 || next.BootID != "boot2" {
		t.Errorf("after a reboot: %v, %v", next.held("a"), err)
	}
}

func TestIPAMLeaseRangeAndDualStack(t *testing.T) {
	n := &Network{Name: "ds", ID: DefaultID, Driver: "bridge", Interface: "ctr9", IPv6: true, Subnets: []Subnet{
		{Subnet: Prefix{netip.MustParsePrefix("10.90.0.0/24")}, Gateway: netip.MustParseAddr("10.90.0.1"),
			LeaseRange: &LeaseRange{Start: netip.MustParseAddr("10.90.0.100"), End: netip.MustParseAddr("10.90.0.101")}},
		{Subnet: Prefix{netip.MustParsePrefix("fd00:1::/64")}, Gateway: netip.MustParseAddr("fd00:1::1")},
	}}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	st, _ := readIPAM(filepath.Join(t.TempDir(), "ipam.json"), "b")
	p, err := st.allocate(n, "a", nil)
	if err != nil || len(p) != 2 || p[0].String() != "10.90.0.100/24" || p[1].String() != "fd00:1::2/64" {
		t.Fatalf("dual stack: %v, %v", p, err)
	}
	st.allocate(n, "b", nil)
	if _, err := st.allocate(n, "c", nil); !errors.Is(err, ErrNoFreeAddress) {
		t.Errorf("lease range exhausted: %v", err)
	}
}
