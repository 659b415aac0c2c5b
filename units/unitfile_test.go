package units

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
)

func sample() Service {
	return Service{
		Description:      "ctr-unit container web",
		Slice:            "system.slice",
		ExecStartPre:     [][]string{{"/bin/ctr-unit", "internal", "prepare", "web"}},
		ExecStart:        []string{"/usr/bin/env", "-u", "NOTIFY_SOCKET", "/usr/sbin/runc", "--root", "/run/my dir", "create", "web"},
		ExecStopPost:     [][]string{{"/bin/ctr-unit", "internal", "stop-post", "web"}},
		Restart:          RestartOnFailure,
		RestartSec:       100 * time.Millisecond,
		StartLimitBurst:  4,
		KillSignal:       syscall.SIGINT,
		TimeoutStop:      7 * time.Second,
		SyslogIdentifier: "web",
		MemoryMax:        1 << 20,
		CPUQuotaUSec:     500_000,
		TasksMax:         10,
		Requires:         []string{"ctr@db.service"},
		After:            []string{"ctr@db.service", "network-online.target"},
		Wants:            []string{"network-online.target"},
	}
}

// options parses rendered unit text back with go-systemd's parser.
func options(t *testing.T, text []byte) map[string][]string {
	t.Helper()
	opts, err := unit.DeserializeOptions(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("rendered unit does not parse: %v\n%s", err, text)
	}
	m := map[string][]string{}
	for _, o := range opts {
		m[o.Section+"."+o.Name] = append(m[o.Section+"."+o.Name], o.Value)
	}
	return m
}

// The unit file carries every setting the transient properties carry, with
// the same values in unit-file syntax.
func TestUnitFileMatchesTransientProperties(t *testing.T) {
	s := sample()
	m := options(t, s.UnitFile("made by a test"))
	want := map[string]string{
		"Unit.Description": "ctr-unit container web", "Service.Type": "forking", "Service.NotifyAccess": "all",
		"Service.GuessMainPID": "no", "Service.Delegate": "yes", "Service.KillMode": "mixed",
		"Service.KillSignal": "SIGINT", "Service.TimeoutStopSec": "7s", "Service.Restart": "on-failure",
		"Service.RestartSec": "100ms", "Service.Slice": "system.slice", "Unit.StartLimitBurst": "4",
		"Unit.StartLimitIntervalSec": "infinity", "Service.MemoryMax": "1048576", "Service.CPUQuota": "50%",
		"Service.TasksMax": "10", "Service.SyslogIdentifier": "web", "Unit.Requires": "ctr@db.service",
		"Unit.Wants": "network-online.target",
	}
	for k, v := range want {
		if got := m[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", k, got, v)
		}
	}
	if got := m["Unit.After"]; len(got) != 2 {
		t.Errorf("After = %q, want two entries", got)
	}
	if got := m["Service.ExecStart"]; len(got) != 1 || !strings.Contains(got[0], `"/run/my dir"`) {
		t.Errorf("ExecStart = %q: the path with a space must be quoted", got)
	}
	// Each transient property has its unit-file counterpart.
	names := map[string]string{
		"TimeoutStopUSec": "TimeoutStopSec", "RestartUSec": "RestartSec", "StartLimitIntervalUSec": "StartLimitIntervalSec",
		"CPUQuotaPerSecUSec": "CPUQuota",
	}
	for _, p := range s.Properties() {
		name := p.Name
		if n, ok := names[name]; ok {
			name = n
		}
		if m["Service."+name] == nil && m["Unit."+name] == nil {
			t.Errorf("transient property %s has no setting in the unit file", p.Name)
		}
	}
	if !strings.HasPrefix(string(s.UnitFile("made by a test")), "# made by a test\n") {
		t.Error("header comment missing")
	}
}

// A drop-in resets each Exec list before setting it, so the template's
// placeholder ExecStart is replaced rather than added to.
func TestDropInResetsExecLists(t *testing.T) {
	text := sample().DropIn()
	m := options(t, text)
	for _, k := range []string{"ExecStartPre", "ExecStart", "ExecStopPost"} {
		got := m["Service."+k]
		if len(got) != 2 || got[0] != "" || got[1] == "" {
			t.Errorf("%s = %q, want a reset then the command", k, got)
		}
	}
	if n := len(m["Service.Type"]); n != 1 {
		t.Errorf("Type set %d times", n)
	}
}

func TestExecLineEscapesSpecifiersAndVariables(t *testing.T) {
	cases := map[string][]string{
		`/bin/echo 100%% $$HOME`:            {"/bin/echo", "100%", "$HOME"},
		`/bin/sh -c "echo \"a b\"; exit 1"`: {"/bin/sh", "-c", `echo "a b"; exit 1`},
		`/bin/x ""`:                         {"/bin/x", ""},
	}
	for want, argv := range cases {
		if got := ExecLine(argv); got != want {
			t.Errorf("ExecLine(%q) = %s, want %s", argv, got, want)
		}
	}
}

func TestUnitDurationAndQuota(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Second: "10s", 0: "0s", 1500 * time.Millisecond: "1500ms", 3 * time.Microsecond: "3us", -1: "infinity"} {
		if got := unitDuration(d); got != want {
			t.Errorf("unitDuration(%v) = %s, want %s", d, got, want)
		}
	}
	if got := cpuQuota(1_250_000); got != "125%" {
		t.Errorf("cpuQuota = %s", got)
	}
	if got := cpuQuota(15_000); got != "1.50%" {
		t.Errorf("cpuQuota = %s", got)
	}
}

func TestIsTemplateInstance(t *testing.T) {
	for u, want := range map[string]bool{"ctr@web.service": true, "ctr-web.service": false, "ctr@.service": false, "ctr@web.timer": false} {
		if got := IsTemplateInstance(u); got != want {
			t.Errorf("IsTemplateInstance(%q) = %v", u, got)
		}
	}
}

func TestUnitNameArgIsTheUnitSpecifier(t *testing.T) {
	got := ExecLine([]string{"/bin/ctr-unit", "create", "--unit", UnitNameArg, "--env=A=100%"})
	if want := "/bin/ctr-unit create --unit %n --env=A=100%%"; got != want {
		t.Errorf("ExecLine = %q, want %q", got, want)
	}
}
