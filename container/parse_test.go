package container

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"web", "a", "Web-1.prod_2", "0x", strings.Repeat("a", MaxNameLen)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-web", ".web", "_web", "we b", "we/b", "wé", "a\\b", strings.Repeat("a", MaxNameLen+1)} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "SIGTERM": 15, "sigkill": 9, "9": 9, "HUP": 1, "USR1": 10} {
		got, err := ParseSignal(in)
		if err != nil || int(got) != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "99", "-1"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) succeeded, want an error", bad)
		}
	}
}

// One parser per kind of value: what --memory and --shm-size (and their
// keys) take is one rule.
func TestParseSizesCPUsAndCounts(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "64k": 64 << 10, "1.5g": 3 << 29, "2T": 2 << 40, "512M": 512 << 20, "1gb": 1 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1m", "lots", "1x"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]uint64{"1": 1_000_000, "0.5": 500_000, "1.5": 1_500_000} {
		if got, err := ParseCPUs(in); err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"0", "-1", "inf", "+Inf", "NaN", "x", "1e300", "0.0000001"} {
		if _, err := ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]uint64{"50": 50, "-1": 0, "0": 0} {
		if got, err := ParsePidsLimit(in); err != nil || got != want {
			t.Errorf("ParsePidsLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-2", "x", "1.5"} {
		if _, err := ParsePidsLimit(bad); err == nil {
			t.Errorf("ParsePidsLimit(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]Seconds{"5": 5, "30s": 30, "1m30s": 90, "0": 0} {
		if got, err := ParseSeconds(in); err != nil || got != want {
			t.Errorf("ParseSeconds(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1s", "x", "-3"} {
		if _, err := ParseSeconds(bad); err == nil {
			t.Errorf("ParseSeconds(%q) succeeded", bad)
		}
	}
	if d, err := ParseDuration("1m30s", false); err != nil || d != 90*time.Second {
		t.Errorf("1m30s: %v %v", d, err)
	}
	if d, err := ParseDuration("disable", true); err != nil || d != 0 {
		t.Errorf("disable: %v %v", d, err)
	}
	for _, c := range []struct {
		in     string
		zeroOK bool
	}{{"10", true}, {"-1s", true}, {"0s", false}, {"10ns", true}, {"disable", false}} {
		if _, err := ParseDuration(c.in, c.zeroOK); err == nil {
			t.Errorf("ParseDuration(%q, %v) succeeded", c.in, c.zeroOK)
		}
	}
}

func TestParseRestartPolicy(t *testing.T) {
	good := map[string]RestartPolicy{
		"":               {Name: PolicyNo},
		"no":             {Name: PolicyNo},
		"always":         {Name: PolicyAlways},
		"unless-stopped": {Name: PolicyUnlessStopped},
		"on-failure":     {Name: PolicyOnFailure},
		"on-failure:0":   {Name: PolicyOnFailure},
		"on-failure:5":   {Name: PolicyOnFailure, MaxRetries: 5},
	}
	for in, want := range good {
		got, err := ParseRestartPolicy(in)
		if err != nil || got != want {
			t.Errorf("ParseRestartPolicy(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "always:3", "on-failure:-1", "on-failure:x", "no:1", "On-Failure"} {
		if _, err := ParseRestartPolicy(bad); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("ParseRestartPolicy(%q) = %v, want ErrInvalidPolicy", bad, err)
		}
	}
}

func TestRestartPolicyMapsToSystemd(t *testing.T) {
	cases := []struct {
		policy  string
		restart string
		burst   uint32
		noLimit bool
	}{
		{"no", units.RestartNo, 0, false},
		{"on-failure", units.RestartOnFailure, 0, true},
		// The first start plus two restarts, over the unit's whole life.
		{"on-failure:2", units.RestartOnFailure, 3, false},
		{"always", units.RestartAlways, 0, true},
		{"unless-stopped", units.RestartAlways, 0, true},
	}
	for _, c := range cases {
		p, err := ParseRestartPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		var s units.Service
		p.apply(&s)
		if s.Restart != c.restart || s.StartLimitBurst != c.burst || s.NoStartLimit != c.noLimit || s.StartLimitInterval != 0 {
			t.Errorf("%s: Restart=%s burst=%d noLimit=%v interval=%v; want %s %d %v 0",
				c.policy, s.Restart, s.StartLimitBurst, s.NoStartLimit, s.StartLimitInterval, c.restart, c.burst, c.noLimit)
		}
		if p.String() != c.policy {
			t.Errorf("String() = %q, want %q", p.String(), c.policy)
		}
	}
	// systemd counts a restart the start limit refused: on-failure:2 that
	// used up its retries shows 2.
	if n := (RestartPolicy{Name: PolicyOnFailure, MaxRetries: 2}).Performed(3); n != 2 {
		t.Errorf("Performed(3) = %d, want 2", n)
	}
}

func TestParseEntrypoint(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // nil: an error
	}{
		{"", []string{}},
		{"/bin/app", []string{"/bin/app"}},
		{"/bin/my app --flag", []string{"/bin/my app --flag"}}, // one path, not split
		{`["sh","-c","echo hi"]`, []string{"sh", "-c", "echo hi"}},
		{` ["/bin/app"] `, []string{"/bin/app"}},
		{`[]`, []string{}},
		{`["sh", "-c"`, nil},
		{`[sh]`, nil},
		{`["sh", 1]`, nil},
		{`[""]`, nil},
		{`["", "x"]`, nil},
	} {
		got, err := ParseEntrypoint(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("ParseEntrypoint(%q) = %q; want an error", c.in, got)
			}
			continue
		}
		// Cleared ([]string{}) and not given (nil) differ.
		if err != nil || got == nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseEntrypoint(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
}

func TestParseHealthCommandForms(t *testing.T) {
	cases := map[string][]string{
		"curl -f http://x/":       {"CMD-SHELL", "curl -f http://x/"},
		`["/bin/check", "-q"]`:    {"CMD", "/bin/check", "-q"},
		`["CMD", "true"]`:         {"CMD", "true"},
		`["CMD-SHELL", "exit 0"]`: {"CMD-SHELL", "exit 0"},
		"":                        nil,
		"none":                    nil,
		`["NONE"]`:                nil,
	}
	for in, want := range cases {
		got, err := ParseHealthCommand(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseHealthCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`[1, 2]`, `["CMD"]`, `[]`, `["CMD-SHELL"]`, `[""]`, `["a"`} {
		if _, err := ParseHealthCommand(bad); err == nil {
			t.Errorf("ParseHealthCommand(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseVolumeAndTmpfs(t *testing.T) {
	m, err := ParseVolume("/srv/data:/data:ro", "")
	if err != nil || !reflect.DeepEqual(m, Mount{Type: MountBind, Source: "/srv/data", Destination: "/data", ReadOnly: true}) {
		t.Errorf("bind: %+v %v", m, err)
	}
	m, err = ParseVolume("cache:/cache", "")
	if err != nil || m.Type != MountVolume || m.Name != "cache" || m.Source != "" {
		t.Errorf("named: %+v %v", m, err)
	}
	// Relative host paths are from the base directory, when there is one.
	if m, err := ParseVolume("./data:/data", "/etc/ctr-unit"); err != nil || m.Source != "/etc/ctr-unit/data" {
		t.Errorf("relative: %+v %v", m, err)
	}
	for _, bad := range []string{"/a", "/a:b", "/a:/b:rx", "/a/../b:/c", "./x:/y", "/a:/", "/a:/b/../../c", "no way:/x"} {
		if _, err := ParseVolume(bad, ""); err == nil {
			t.Errorf("ParseVolume(%q) succeeded", bad)
		}
	}
	m, err = ParseTmpfs("/tmp:size=1m,mode=1777")
	if err != nil || !reflect.DeepEqual(m.Options, []string{"nosuid", "nodev", "size=1m", "mode=1777"}) {
		t.Errorf("tmpfs: %+v %v", m, err)
	}
	for _, bad := range []string{"tmp", "/tmp:size=1m,,x", "/tmp:a b"} {
		if _, err := ParseTmpfs(bad); err == nil {
			t.Errorf("ParseTmpfs(%q) succeeded", bad)
		}
	}
}

func TestParseMountGivesWhatVolumeAndTmpfsGive(t *testing.T) {
	for _, tc := range []struct {
		mount, same string
	}{
		{"type=bind,source=/srv,destination=/data", "-v /srv:/data"},
		{"type=bind,src=./srv,dst=/data,ro", "-v ./srv:/data:ro"},
		{`type=bind,"source=/a b",target=/data,readonly=false`, "-v /a b:/data"},
		{"type=volume,source=cache,destination=/cache,rw=false", "-v cache:/cache:ro"},
		{"type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700", "--tmpfs /t:size=1048576,mode=700"},
		{"type=tmpfs,dst=/t,ro", "--tmpfs /t:ro"},
	} {
		got, err := ParseMount(tc.mount, "/etc/ctr-unit")
		if err != nil {
			t.Errorf("%s: %v", tc.mount, err)
			continue
		}
		flag, value, _ := strings.Cut(tc.same, " ")
		var want Mount
		if flag == "-v" {
			want, err = ParseVolume(value, "/etc/ctr-unit")
		} else {
			want, err = ParseTmpfs(value)
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want what %s gives: %+v (%v)", tc.mount, got, tc.same, want, err)
		}
	}
	for _, bad := range []string{
		"source=/a,destination=/b", "type=bind,destination=/b", "type=bind,source=vol,destination=/b",
		"type=volume,source=/a,destination=/b", "type=tmpfs,source=x,destination=/t", "type=image,source=x,destination=/b",
		"type=bind,source=/a", "type=bind,source=/a,destination=/b,bind-propagation=shared", "type=bind,source=/a,destination=/b,z",
		"type=tmpfs,destination=/t,tmpfs-mode=rwx", `type=bind,"source=/a,destination=/b`,
	} {
		if m, err := ParseMount(bad, "/etc"); err == nil {
			t.Errorf("%s: accepted as %+v", bad, m)
		}
	}
}

func TestTimezoneAndHostEnvironmentInTheSpec(t *testing.T) {
	for _, ok := range []string{"local", "UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5"} {
		if _, err := ParseTimezone(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "Europe/../../etc", "a b"} {
		if _, err := ParseTimezone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	cfg := &Config{Name: "web", Unit: "ctr-web.service", Rootfs: "/r", Command: []string{"sh"}, Timezone: "Europe/Paris", EnvHost: true, Env: []string{"A=mine"}}
	spec := BuildSpec(cfg, []string{"A=host", "B=host", "junk"})
	if !reflect.DeepEqual(spec.Env, []string{"A=mine", "B=host"}) {
		t.Errorf("env %q: the container's own, then the host's", spec.Env)
	}
	last := spec.Mounts[len(spec.Mounts)-1]
	if last.Destination != "/etc/localtime" || last.Source != "/usr/share/zoneinfo/Europe/Paris" || !slices.Contains(last.Options, "ro") {
		t.Errorf("time zone mount %+v", last)
	}
	cfg.EnvHost = false
	if spec := BuildSpec(cfg, []string{"B=host"}); !reflect.DeepEqual(spec.Env, []string{"A=mine"}) {
		t.Errorf("env without --env-host: %q", spec.Env)
	}
}

func TestParseEnvFileAsPodman(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	os.WriteFile(path, []byte("# comment\nA=1\n\n  B=two words\nFROM_HOST\nUNSET_HERE\nC=x=y\r\n"), 0o644)
	lookup := func(k string) (string, bool) {
		if k == "FROM_HOST" {
			return "h", true
		}
		return "", false
	}
	env, err := ParseEnvFile(path, lookup)
	if err != nil || strings.Join(env, "|") != "A=1|B=two words|FROM_HOST=h|C=x=y" {
		t.Errorf("env %q, %v", env, err)
	}
	os.WriteFile(path, []byte("A=1\n=novalue\n"), 0o644)
	if _, err := ParseEnvFile(path, lookup); err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("bad line: %v, want the file and line", err)
	}
}

func TestGenerateNameIsAdjectiveNounAndFree(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		n := GenerateName(func(n string) bool { return seen[n] })
		if err := ValidateName(n); err != nil || !strings.Contains(n, "_") || seen[n] {
			t.Fatalf("generated %q: %v", n, err)
		}
		seen[n] = true
	}
}
