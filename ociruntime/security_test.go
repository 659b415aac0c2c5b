package ociruntime

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// --cap-add and --cap-drop change podman's default set as podman does:
// ALL in --cap-drop leaves only what is added; an added capability wins
// over the same dropped; --privileged and --cap-add ALL give them all.
func TestSpecCapabilities(t *testing.T) {
	cases := []struct {
		name string
		c    SpecConfig
		want []string
	}{
		{"default", SpecConfig{}, defaultCapabilities},
		{"add", SpecConfig{CapAdd: []string{"CAP_NET_ADMIN"}}, append(slices.Clone(defaultCapabilities), "CAP_NET_ADMIN")},
		{"drop", SpecConfig{CapDrop: []string{"CAP_CHOWN", "CAP_KILL"}}, slices.DeleteFunc(slices.Clone(defaultCapabilities), func(c string) bool { return c == "CAP_CHOWN" || c == "CAP_KILL" })},
		{"drop all", SpecConfig{CapDrop: []string{AllCapabilities}}, nil},
		{"drop all add one", SpecConfig{CapDrop: []string{AllCapabilities}, CapAdd: []string{"CAP_NET_BIND_SERVICE"}}, []string{"CAP_NET_BIND_SERVICE"}},
		{"add wins", SpecConfig{CapDrop: []string{"CAP_KILL"}, CapAdd: []string{"CAP_KILL"}}, defaultCapabilities},
		{"add all", SpecConfig{CapAdd: []string{AllCapabilities}}, Capabilities},
		{"add all drop one", SpecConfig{CapAdd: []string{AllCapabilities}, CapDrop: []string{"CAP_SYS_ADMIN"}}, slices.DeleteFunc(slices.Clone(Capabilities), func(c string) bool { return c == "CAP_SYS_ADMIN" })},
		{"privileged", SpecConfig{Privileged: true}, Capabilities},
	}
	for _, c := range cases {
		caps := Spec(c.c).Process.Capabilities
		got := slices.Sorted(slices.Values(caps.Bounding))
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: bounding %v, want %v", c.name, got, want)
		}
		if !slices.Equal(caps.Effective, caps.Bounding) || !slices.Equal(caps.Permitted, caps.Bounding) {
			t.Errorf("%s: effective %v, permitted %v differ from bounding", c.name, caps.Effective, caps.Permitted)
		}
	}
}

func mountAt(s *specs.Spec, dest string) (specs.Mount, bool) {
	for _, m := range s.Mounts {
		if m.Destination == dest {
			return m, true
		}
	}
	return specs.Mount{}, false
}

// --read-only as podman: tmpfs where programs write, unless
// --read-only-tmpfs=false, which makes /dev/shm read-only as well.
func TestSpecReadOnly(t *testing.T) {
	s := Spec(SpecConfig{ReadOnly: true, ReadOnlyTmpfs: true})
	if !s.Root.Readonly {
		t.Error("root not read-only")
	}
	for _, d := range []string{"/run", "/tmp", "/var/tmp"} {
		if m, ok := mountAt(s, d); !ok || m.Type != "tmpfs" || slices.Contains(m.Options, "ro") {
			t.Errorf("%s: %+v, %v; want a writable tmpfs", d, m, ok)
		}
	}
	s = Spec(SpecConfig{ReadOnly: true})
	for _, d := range []string{"/run", "/tmp", "/var/tmp"} {
		if _, ok := mountAt(s, d); ok {
			t.Errorf("%s mounted with --read-only-tmpfs=false", d)
		}
	}
	if m, _ := mountAt(s, "/dev/shm"); !slices.Contains(m.Options, "ro") {
		t.Errorf("/dev/shm writable with --read-only-tmpfs=false: %v", m.Options)
	}
	if m, _ := mountAt(Spec(SpecConfig{}), "/dev/shm"); slices.Contains(m.Options, "ro") {
		t.Errorf("/dev/shm read-only by default: %v", m.Options)
	}
	if s := Spec(SpecConfig{}); s.Root.Readonly {
		t.Error("root read-only by default")
	}
}

// --privileged: no masked or read-only paths, /sys writable, every device
// allowed; by default /proc/keys & co are masked and devices denied but
// those given.
func TestSpecPrivilegedAndDevices(t *testing.T) {
	p := Spec(SpecConfig{Privileged: true})
	if len(p.Linux.MaskedPaths) != 0 || len(p.Linux.ReadonlyPaths) != 0 {
		t.Errorf("privileged: masked %v, read-only %v", p.Linux.MaskedPaths, p.Linux.ReadonlyPaths)
	}
	if m, _ := mountAt(p, "/sys"); slices.Contains(m.Options, "ro") {
		t.Errorf("privileged /sys is read-only: %v", m.Options)
	}
	if r := p.Linux.Resources.Devices; len(r) != 1 || !r[0].Allow || r[0].Access != "rwm" {
		t.Errorf("privileged device rules %+v", r)
	}
	d := Spec(SpecConfig{Devices: []Device{{LinuxDevice: specs.LinuxDevice{Path: "/dev/xvdc", Type: "b", Major: 8, Minor: 32}, Access: "r"}}})
	if !slices.Contains(d.Linux.MaskedPaths, "/proc/keys") || !slices.Contains(d.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v, read-only %v", d.Linux.MaskedPaths, d.Linux.ReadonlyPaths)
	}
	rules := d.Linux.Resources.Devices
	if len(rules) != 2 || rules[0].Allow || !rules[1].Allow || rules[1].Type != "b" || *rules[1].Major != 8 || *rules[1].Minor != 32 || rules[1].Access != "r" {
		t.Errorf("device rules %+v", rules)
	}
	if len(d.Linux.Devices) != 1 || d.Linux.Devices[0].Path != "/dev/xvdc" {
		t.Errorf("devices %+v", d.Linux.Devices)
	}
}

func TestSpecLimitsSysctlsAndNoNewPrivileges(t *testing.T) {
	s := Spec(SpecConfig{})
	if s.Process.NoNewPrivileges {
		t.Error("no-new-privileges is on by default; podman's is off")
	}
	s = Spec(SpecConfig{NoNewPrivileges: true, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}}, Sysctl: map[string]string{"kernel.shmmax": "1"}})
	if !s.Process.NoNewPrivileges || len(s.Process.Rlimits) != 1 || s.Linux.Sysctl["kernel.shmmax"] != "1" {
		t.Errorf("nnp %v, rlimits %v, sysctl %v", s.Process.NoNewPrivileges, s.Process.Rlimits, s.Linux.Sysctl)
	}
}

func TestDeviceAtAndHostDevices(t *testing.T) {
	d, err := DeviceAt("/dev/null", "/dev/mynull", "rw")
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != "/dev/mynull" || d.Type != "c" || d.Major != 1 || d.Minor != 3 || d.Access != "rw" {
		t.Errorf("/dev/null: %+v", d)
	}
	if _, err := DeviceAt("/etc/hostname", "/x", "r"); err == nil {
		t.Error("a regular file was taken for a device")
	}
	all, err := HostDevices()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(d Device) bool { return d.Path == "/dev/null" }) {
		t.Error("/dev/null is not among the host's devices")
	}
	if slices.ContainsFunc(all, func(d Device) bool { return d.Path == "/dev/console" || d.Path == "/dev/tty1" }) {
		t.Error("the console or a virtual console is among a privileged container's devices")
	}
}
