package cgroupmgr

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/ctr-unit/ctr-unit/smallfile"
)

// v1 reports "no memory limit" as PAGE_COUNTER_MAX pages in bytes, which
// depends on the page size; anything this large is no limit in practice.
const v1UnlimitedFloor = 1 << 62

// parseFlatKeyed parses "key value" lines (cgroup.events, cpu.stat).
// Lines whose value is not an unsigned integer are skipped: newer kernels
// add keys, and none of the keys we read is ever non-numeric.
func parseFlatKeyed(data string) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue
		}
		out[key] = n
	}
	return out
}

// parseLimit parses a memory limit (memory.max or memory.limit_in_bytes)
// and returns 0 for "no limit" ("max" on v2, a huge number on v1).
func parseLimit(data string) (uint64, error) {
	s := strings.TrimSpace(data)
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse limit %q: %w", s, err)
	}
	if n >= v1UnlimitedFloor {
		return 0, nil
	}
	return n, nil
}

// parseV1FreezerState normalises freezer.state ("THAWED", "FREEZING",
// "FROZEN") to the lower-case names v2FreezerState returns.
func parseV1FreezerState(data string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(data))
	switch s {
	case "thawed", "freezing", "frozen":
		return s, nil
	}
	return "", fmt.Errorf("unknown freezer.state %q", s)
}

// v2Frozen reads the "frozen" key of cgroup.events.
func v2Frozen(events string) bool { return parseFlatKeyed(events)["frozen"] == 1 }

// v2FreezerState derives the state from cgroup.freeze (what was asked)
// and the "frozen" key of cgroup.events (what the kernel achieved; also 1
// when an ancestor is frozen).
func v2FreezerState(freeze, events string) string {
	if v2Frozen(events) {
		return "frozen"
	}
	if strings.TrimSpace(freeze) == "1" {
		return "freezing"
	}
	return "thawed"
}

// readUintFile reads a single-number cgroup file. ok is false when the
// file does not exist, i.e. the controller is absent from this cgroup.
func readUintFile(file string) (n uint64, ok bool, err error) {
	data, err := smallfile.Read(file)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err = strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parse %s: %w", file, err)
	}
	return n, true, nil
}

// parsePids parses cgroup.procs.
func parsePids(data string) ([]int, error) {
	var pids []int
	for _, f := range strings.Fields(data) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse pid %q: %w", f, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
