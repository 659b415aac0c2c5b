package units

import (
	"syscall"
	"testing"
	"time"
)

func props(t *testing.T, s Service) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, p := range s.Properties() {
		if _, dup := m[p.Name]; dup {
			t.Fatalf("property %s set twice", p.Name)
		}
		m[p.Name] = p.Value
	}
	return m
}

func TestServicePropertiesCoreSettings(t *testing.T) {
	m := props(t, Service{
		ExecStart:    []string{"/usr/sbin/runc", "run", "-d", "x"},
		ExecStopPost: [][]string{{"/bin/ctr-unit", "internal", "stop-post", "x"}},
		Restart:      RestartOnFailure,
		RestartSec:   100 * time.Millisecond,
		KillSignal:   syscall.SIGINT,
		TimeoutStop:  7 * time.Second,
		Slice:        "system.slice",
	})
	want := map[string]any{
		"Type": "forking", "NotifyAccess": "all", "GuessMainPID": false, "Delegate": true, "KillMode": "mixed",
		"KillSignal": int32(2), "TimeoutStopUSec": uint64(7_000_000), "Restart": "on-failure",
		"RestartUSec": uint64(100_000), "Slice": "system.slice",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	start := m["ExecStart"].([]ExecCommand)
	if len(start) != 1 || start[0].Path != "/usr/sbin/runc" || start[0].IgnoreFailure {
		t.Errorf("ExecStart = %#v: want runc, failures not ignored", start)
	}
	if _, ok := m["StartLimitBurst"]; ok {
		t.Error("StartLimitBurst set although no limit was asked for")
	}
	if _, ok := m["StandardInputFileDescriptor"]; ok {
		t.Error("stdio descriptors passed for a detached service")
	}
}

func TestServicePropertiesLifetimeStartLimit(t *testing.T) {
	m := props(t, Service{ExecStart: []string{"/x"}, StartLimitBurst: 3})
	if m["StartLimitBurst"] != uint32(3) || m["StartLimitIntervalUSec"] != Unlimited {
		t.Errorf("burst %v interval %v: want 3 over an unlimited interval", m["StartLimitBurst"], m["StartLimitIntervalUSec"])
	}
	m = props(t, Service{ExecStart: []string{"/x"}, NoStartLimit: true})
	if m["StartLimitIntervalUSec"] != uint64(0) {
		t.Errorf("NoStartLimit: interval %v, want 0 (no rate limit)", m["StartLimitIntervalUSec"])
	}
}

func TestServicePropertiesStdioAndLimits(t *testing.T) {
	m := props(t, Service{ExecStart: []string{"/x"}, StdioFDs: &[3]int{0, 1, 2}, MemoryMax: 1 << 20, TasksMax: 10, CPUQuotaUSec: 500_000})
	if m["StandardOutputFileDescriptor"] != FD(1) {
		t.Errorf("stdout fd = %#v", m["StandardOutputFileDescriptor"])
	}
	if m["MemoryMax"] != uint64(1<<20) || m["TasksMax"] != uint64(10) || m["CPUQuotaPerSecUSec"] != uint64(500_000) {
		t.Errorf("limits = %v %v %v", m["MemoryMax"], m["TasksMax"], m["CPUQuotaPerSecUSec"])
	}
}
