package network

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// HostRoutes returns the routes of the calling process's network
// namespace (IPv4 and IPv6), so a new network can avoid their ranges.
func HostRoutes() ([]netip.Prefix, error) {
	v4, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("read the host's routes: %w", err)
	}
	v6, err := os.ReadFile("/proc/net/ipv6_route")
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read the host's routes: %w", err)
	}
	return append(parseRoutes4(v4), parseRoutes6(v6)...), nil
}

// parseRoutes4 reads /proc/net/route: destination and mask in hex, in
// the kernel's (little-endian) byte order.
func parseRoutes4(data []byte) []netip.Prefix {
	var out []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(dst))
		p := netip.PrefixFrom(netip.AddrFrom4(b), bits.OnesCount32(uint32(mask)))
		out = append(out, p.Masked())
	}
	return out
}

// parseRoutes6 reads /proc/net/ipv6_route: 32 hex digits of destination,
// then the prefix length in hex.
func parseRoutes6(data []byte) []netip.Prefix {
	var out []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || len(f[0]) != 32 {
			continue
		}
		b, err := hex.DecodeString(f[0])
		plen, err2 := strconv.ParseUint(f[1], 16, 8)
		if err != nil || err2 != nil || plen > 128 {
			continue
		}
		a, _ := netip.AddrFromSlice(b)
		out = append(out, netip.PrefixFrom(a, int(plen)).Masked())
	}
	return out
}
