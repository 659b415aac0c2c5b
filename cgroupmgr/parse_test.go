package cgroupmgr

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseFlatKeyed(t *testing.T) {
	got := parseFlatKeyed("usage_usec 1234\nuser_usec 1000\nweird x\n\nsystem_usec 234\n")
	if got["usage_usec"] != 1234 || got["user_usec"] != 1000 || got["system_usec"] != 234 {
		t.Errorf("parseFlatKeyed = %v", got)
	}
	if _, ok := got["weird"]; ok {
		t.Errorf("non-numeric value kept: %v", got)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]uint64{
		"max\n":                  0,
		"9223372036854771712\n":  0, // v1 "unlimited" with 4 KiB pages
		"9223372036854710272\n":  0, // v1 "unlimited" with 64 KiB pages
		"268435456\n":            268435456,
		"18446744073709551615\n": 0,
	} {
		got, err := parseLimit(in)
		if err != nil || got != want {
			t.Errorf("parseLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseLimit("lots"); err == nil {
		t.Error("parseLimit(lots): want an error")
	}
}

func TestParseV1FreezerState(t *testing.T) {
	for in, want := range map[string]string{"THAWED\n": "thawed", "FREEZING\n": "freezing", "FROZEN\n": "frozen"} {
		if got, err := parseV1FreezerState(in); err != nil || got != want {
			t.Errorf("parseV1FreezerState(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := parseV1FreezerState("MELTING"); err == nil {
		t.Error("want an error for an unknown state")
	}
}

func TestV2FreezerState(t *testing.T) {
	tests := []struct{ freeze, events, want string }{
		{"0\n", "populated 1\nfrozen 0\n", "thawed"},
		{"1\n", "populated 1\nfrozen 0\n", "freezing"},
		{"1\n", "populated 1\nfrozen 1\n", "frozen"},
		{"0\n", "populated 0\nfrozen 1\n", "frozen"}, // an ancestor is frozen
	}
	for _, tt := range tests {
		if got := v2FreezerState(tt.freeze, tt.events); got != tt.want {
			t.Errorf("v2FreezerState(%q, %q) = %q, want %q", tt.freeze, tt.events, got, tt.want)
		}
	}
}

func TestParsePids(t *testing.T) {
	got, err := parsePids("12\n345\n6\n")
	if err != nil || !slices.Equal(got, []int{12, 345, 6}) {
		t.Errorf("parsePids = %v, %v", got, err)
	}
	if got, err := parsePids(""); err != nil || len(got) != 0 {
		t.Errorf("parsePids(empty) = %v, %v", got, err)
	}
	if _, err := parsePids("12\nx\n"); err == nil {
		t.Error("want an error for a non-numeric pid")
	}
}

func TestReadUintFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pids.current")
	if err := os.WriteFile(file, []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := readUintFile(file); n != 7 || !ok || err != nil {
		t.Errorf("readUintFile = %d, %v, %v", n, ok, err)
	}
	if n, ok, err := readUintFile(filepath.Join(dir, "missing")); n != 0 || ok || err != nil {
		t.Errorf("readUintFile(missing) = %d, %v, %v; want 0, false, nil", n, ok, err)
	}
}

// A fake v2 cgroup tree: Stats must report what exists and flag the rest,
// and Available must follow cgroup.controllers.
func TestStatsAndAvailableOnFakeV2Tree(t *testing.T) {
	root := t.TempDir()
	cg := filepath.Join(root, "ctr")
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(cg, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("cgroup.procs", "")
	write("cpu.stat", "usage_usec 2500\nuser_usec 2000\n")
	write("memory.current", "4096\n")
	write("memory.max", "max\n")

	m := New(Unified, WithRoot(root))
	st, err := m.Stats("/ctr")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUNanos: 2500000, MemoryBytes: 4096, HasCPU: true, HasMemory: true}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	for c, want := range map[string]bool{"cpu": true, "memory": true, "pids": false, "freezer": true} {
		if got := m.Available(c); got != want {
			t.Errorf("Available(%q) = %v, want %v", c, got, want)
		}
	}
	if _, err := m.Stats("/absent"); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("Stats of a missing cgroup: err = %v, want ErrNoCgroup", err)
	}
}

// Frozen reads cgroup.events alone, without looking for the cgroup first:
// frozen is what the kernel reports, not what was asked (cgroup.freeze);
// the error of a missing cgroup says so.
func TestFrozenOfFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ctr")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := New(Unified, WithRoot(root))
	for _, tc := range []struct {
		freeze, events string
		want           bool
	}{
		{"0\n", "populated 1\nfrozen 0\n", false},
		{"1\n", "populated 1\nfrozen 0\n", false}, // still freezing
		{"1\n", "populated 1\nfrozen 1\n", true},
		{"0\n", "populated 1\nfrozen 1\n", true}, // an ancestor froze it
	} {
		for file, data := range map[string]string{"cgroup.freeze": tc.freeze, "cgroup.events": tc.events} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := m.Frozen("/ctr"); err != nil || got != tc.want {
			t.Errorf("Frozen with cgroup.freeze %q, cgroup.events %q = %v, %v; want %v", tc.freeze, tc.events, got, err, tc.want)
		}
	}
	if _, err := m.Frozen("/absent"); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("Frozen of a missing cgroup: err = %v, want ErrNoCgroup", err)
	}
}
