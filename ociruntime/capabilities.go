package ociruntime

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// BoundingSet is the capabilities this process may pass on: what "every
// capability" means for a container it starts, as in podman (a machine
// or container without CAP_SYS_RESOURCE, say, cannot give it).
func BoundingSet() ([]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("read the capability bounding set: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("read the capability bounding set: %w", err)
		}
		var caps []string
		for i, name := range Capabilities {
			if mask&(1<<i) != 0 {
				caps = append(caps, name)
			}
		}
		return caps, nil
	}
	return nil, fmt.Errorf("read the capability bounding set: no CapBnd in /proc/self/status: %w", sc.Err())
}
