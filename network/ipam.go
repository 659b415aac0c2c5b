package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/ctr-unit/ctr-unit/jsonfile"
)

// ipam is the address book of every network: which container holds which
// address. It lives in the runtime directory and names the boot it was
// written in: addresses from an earlier boot are free again, as the rest
// of /run. Callers hold the runtime lock.
type ipam struct {
	BootID string `json:"boot_id"`
	// Networks maps a network name to address → container.
	Networks map[string]map[netip.Addr]string `json:"networks"`
	// Last is the address last given out per subnet: allocation goes on
	// from there, so a freed address is not handed out again at once
	// (peers' ARP and DNS caches may still point at it).
	Last map[string]netip.Addr `json:"last,omitempty"`
}

func readIPAM(path, bootID string) (*ipam, error) {
	st := &ipam{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read address allocations: %w", err)
	case len(data) > 0:
		if err := json.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("read address allocations %s: %w (remove the file: every address is then free)", path, err)
		}
	}
	if st.BootID != bootID {
		st = &ipam{}
	}
	st.BootID = bootID
	if st.Networks == nil {
		st.Networks = map[string]map[netip.Addr]string{}
	}
	if st.Last == nil {
		st.Last = map[string]netip.Addr{}
	}
	return st, nil
}

func (st *ipam) write(path string) error {
	if err := jsonfile.WriteVolatile(path, st); err != nil {
		return fmt.Errorf("write address allocations: %w", err)
	}
	return nil
}

// allocate gives container one address in every subnet of n: the static
// one of that family if given, else the next free one. It returns them
// with the subnet's prefix length.
func (st *ipam) allocate(n *Network, container string, static []netip.Addr) ([]netip.Prefix, error) {
	for _, a := range static {
		if !slices.ContainsFunc(n.Subnets, func(s Subnet) bool { return s.Subnet.Contains(a) }) {
			return nil, fmt.Errorf("%w: IP address %s is outside network %s (%s)", ErrInvalid, a, n.Name, subnetList(n))
		}
	}
	held := st.Networks[n.Name]
	if held == nil {
		held = map[netip.Addr]string{}
	}
	var out []netip.Prefix
	for _, sn := range n.Subnets {
		p := sn.Subnet.Prefix
		var addr netip.Addr
		if i := slices.IndexFunc(static, func(a netip.Addr) bool { return p.Contains(a) }); i >= 0 {
			addr = static[i]
			if !usable(sn, addr) {
				return nil, fmt.Errorf("%w: IP address %s is the gateway, network or broadcast address of %s", ErrInvalid, addr, p)
			}
			if owner, taken := held[addr]; taken && owner != container {
				return nil, fmt.Errorf("%w: %s on network %s is container %s's", ErrAddressInUse, addr, n.Name, owner)
			}
		} else {
			var err error
			if addr, err = st.next(sn, held); err != nil {
				return nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
			st.Last[p.String()] = addr
		}
		held[addr] = container
		out = append(out, netip.PrefixFrom(addr, p.Bits()))
	}
	st.Networks[n.Name] = held
	return out, nil
}

// next finds the first free address after the last one given out,
// wrapping around once.
func (st *ipam) next(sn Subnet, held map[netip.Addr]string) (netip.Addr, error) {
	first, last := hostRange(sn)
	start := first
	if l, ok := st.Last[sn.Subnet.String()]; ok && l.Compare(first) >= 0 && l.Compare(last) < 0 {
		start = l.Next()
	}
	a := start
	for {
		if _, taken := held[a]; !taken && usable(sn, a) {
			return a, nil
		}
		if a == last {
			a = first
		} else {
			a = a.Next()
		}
		if a == start {
			return netip.Addr{}, fmt.Errorf("%w in %s", ErrNoFreeAddress, sn.Subnet)
		}
	}
}

// hostRange is the range addresses are given out from: the lease range,
// or the whole subnet less its network (and IPv4 broadcast) address.
func hostRange(sn Subnet) (netip.Addr, netip.Addr) {
	p := sn.Subnet.Prefix
	first, last := p.Addr().Next(), lastAddr(p)
	if p.Addr().Is4() {
		last = last.Prev()
	}
	if r := sn.LeaseRange; r != nil {
		if r.Start.IsValid() && r.Start.Compare(first) > 0 {
			first = r.Start
		}
		if r.End.IsValid() && r.End.Compare(last) < 0 {
			last = r.End
		}
	}
	return first, last
}

func usable(sn Subnet, a netip.Addr) bool {
	p := sn.Subnet.Prefix
	if a == sn.Gateway || a == p.Addr() || (a.Is4() && a == lastAddr(p)) {
		return false
	}
	return true
}

// release frees every address container holds.
func (st *ipam) release(container string) {
	for name, held := range st.Networks {
		for a, c := range held {
			if c == container {
				delete(held, a)
			}
		}
		if len(held) == 0 {
			delete(st.Networks, name)
		}
	}
}

// held lists what container holds, as "network address" strings.
func (st *ipam) held(container string) []string {
	var out []string
	for name, held := range st.Networks {
		for a, c := range held {
			if c == container {
				out = append(out, name+" "+a.String())
			}
		}
	}
	slices.Sort(out)
	return out
}

func subnetList(n *Network) string {
	var s []string
	for _, sn := range n.Subnets {
		s = append(s, sn.Subnet.String())
	}
	return strings.Join(s, ", ")
}
