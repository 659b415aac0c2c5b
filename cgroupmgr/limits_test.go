package cgroupmgr

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckLimits(t *testing.T) {
	none := func(string) bool { return false }
	all := func(string) bool { return true }
	onlyMemory := func(c string) bool { return c == "memory" }

	tests := []struct {
		name      string
		available func(string) bool
		want      Limits
		flags     []string // flags the error must name; none: no error
		notFlags  []string
	}{
		{"nothing asked", none, Limits{}, nil, nil},
		{"all available", all, Limits{MemoryBytes: 1 << 20, CPUs: 0.5, Pids: 10}, nil, nil},
		{"memory missing", none, Limits{MemoryBytes: 1 << 20}, []string{"--memory"}, []string{"--cpus", "--pids-limit"}},
		{"cpu and pids missing", onlyMemory, Limits{MemoryBytes: 1, CPUs: 1, Pids: 5},
			[]string{"--cpus", "--pids-limit"}, []string{"--memory "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLimits(Unified, tt.available, tt.want)
			if len(tt.flags) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotSupported) {
				t.Fatalf("error %v does not wrap ErrNotSupported", err)
			}
			for _, f := range tt.flags {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			for _, f := range tt.notFlags {
				if strings.Contains(err.Error(), f) {
					t.Errorf("error %q names %s, which is available", err, f)
				}
			}
			if !strings.Contains(err.Error(), "v2") {
				t.Errorf("error %q does not name the layout", err)
			}
		})
	}
}
