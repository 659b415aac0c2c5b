package container

import (
	"strings"
	"testing"
	"time"
)

func TestParseCapability(t *testing.T) {
	for in, want := range map[string]string{"net_admin": "CAP_NET_ADMIN", "CAP_SYS_TIME": "CAP_SYS_TIME", "Chown": "CAP_CHOWN", "all": "ALL", "ALL": "ALL"} {
		if got, err := ParseCapability(in); err != nil || got != want {
			t.Errorf("ParseCapability(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "CAP_", "fly", "CAP_ALL", "net admin"} {
		if _, err := ParseCapability(bad); err == nil {
			t.Errorf("ParseCapability(%q) succeeded", bad)
		}
	}
}

func TestParseSecurityOpt(t *testing.T) {
	opt, err := ParseSecurityOpt("seccomp=p.json", "/etc/ctr-unit")
	if err != nil || opt.Seccomp == nil || *opt.Seccomp != "/etc/ctr-unit/p.json" {
		t.Errorf("relative profile: %+v, %v", opt, err)
	}
	if opt, err := ParseSecurityOpt("seccomp=unconfined", ""); err != nil || *opt.Seccomp != SeccompUnconfined {
		t.Errorf("unconfined: %+v, %v", opt, err)
	}
	for in, want := range map[string]bool{"no-new-privileges": true, "no-new-privileges=true": true, "no-new-privileges:true": true, "no-new-privileges=false": false} {
		if opt, err := ParseSecurityOpt(in, ""); err != nil || opt.NoNewPrivileges == nil || *opt.NoNewPrivileges != want {
			t.Errorf("%s: %+v, %v", in, opt, err)
		}
	}
	for _, ok := range []string{"label=disable", "apparmor=unconfined"} {
		if opt, err := ParseSecurityOpt(ok, ""); err != nil || opt.Seccomp != nil || opt.NoNewPrivileges != nil {
			t.Errorf("%s: %+v, %v", ok, opt, err)
		}
	}
	for _, bad := range []string{"", "seccomp", "seccomp=", "seccomp=p.json", "label=type:x", "apparmor=myprofile", "no-new-privileges=maybe", "mask=/x"} {
		if _, err := ParseSecurityOpt(bad, ""); err == nil {
			t.Errorf("ParseSecurityOpt(%q) succeeded", bad)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{
		"/dev/fuse":                {Path: "/dev/fuse", CtrPath: "/dev/fuse", Perms: "rwm"},
		"/dev/sdc:/dev/xvdc":       {Path: "/dev/sdc", CtrPath: "/dev/xvdc", Perms: "rwm"},
		"/dev/sdc:r":               {Path: "/dev/sdc", CtrPath: "/dev/sdc", Perms: "r"},
		"/dev/sdc:/dev/xvdc:rw":    {Path: "/dev/sdc", CtrPath: "/dev/xvdc", Perms: "rw"},
		"-/dev/maybe":              {Path: "/dev/maybe", CtrPath: "/dev/maybe", Perms: "rwm", Optional: true},
		"/dev/./net//tun:/dev/tun": {Path: "/dev/net/tun", CtrPath: "/dev/tun", Perms: "rwm"},
	} {
		if got, err := ParseDevice(in); err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fuse", "/dev/a:b", "/dev/a:/b:rwx", "/dev/a:/b:rr", "/dev/a:/b:", "/dev/a:/b:r:x", "/dev/a:/", "/dev/a:/x/../y"} {
		if _, err := ParseDevice(bad); err == nil {
			t.Errorf("ParseDevice(%q) succeeded", bad)
		}
	}
}

func TestParseUlimit(t *testing.T) {
	for in, want := range map[string]Ulimit{
		"nofile=1024:4096": {Name: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
		"nproc=50":         {Name: "RLIMIT_NPROC", Soft: 50, Hard: 50},
		"core=-1":          {Name: "RLIMIT_CORE", Soft: Unlimited, Hard: Unlimited},
		"memlock=0:-1":     {Name: "RLIMIT_MEMLOCK", Soft: 0, Hard: Unlimited},
	} {
		if got, err := ParseUlimit(in); err != nil || got != want {
			t.Errorf("ParseUlimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "nofile", "nofile=", "nofile=2:1", "nofile=-2", "files=1", "nofile=1:2:3", "nofile=x", "NOFILE=1"} {
		if _, err := ParseUlimit(bad); err == nil {
			t.Errorf("ParseUlimit(%q) succeeded", bad)
		}
	}
}

func TestParseSysctl(t *testing.T) {
	for _, ok := range []string{"net.ipv4.ip_forward=1", "net/ipv4/ping_group_range=0 1000", "kernel.shmmax=1", "fs.mqueue.msg_max=20", "kernel.domainname=x", "kernel.sem=1 2 3 4"} {
		if _, _, err := ParseSysctl(ok); err != nil {
			t.Errorf("ParseSysctl(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "net.ipv4.ip_forward", "kernel.panic=1", "vm.swappiness=1", "kernel.hostname=x", "=1", "net..x=1", "net.x=a\nkernel.panic=1"} {
		if _, _, err := ParseSysctl(bad); err == nil {
			t.Errorf("ParseSysctl(%q) succeeded", bad)
		}
	}
}

// Build: tmpfs on a read-only root unless refused; net.* sysctls need
// the container's own network; a privileged container has no filter.
func TestBuildSecurity(t *testing.T) {
	base := Options{Name: "web", Rootfs: "/r", Command: []string{"sh"}}
	o := base
	o.ReadOnly = true
	if cfg, err := Build(o, time.Time{}); err != nil || !cfg.ReadOnlyTmpfs {
		t.Errorf("--read-only: %+v, %v; want tmpfs", cfg, err)
	}
	off := false
	o.ReadOnlyTmpfs = &off
	if cfg, err := Build(o, time.Time{}); err != nil || cfg.ReadOnlyTmpfs {
		t.Errorf("--read-only-tmpfs=false: %v", err)
	}
	o = base
	o.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"}
	if _, err := Build(o, time.Time{}); err == nil || !strings.Contains(err.Error(), "network of its own") {
		t.Errorf("net sysctl with the host's network: %v", err)
	}
	o.Net.Networks = []string{NetworkNone}
	if _, err := Build(o, time.Time{}); err != nil {
		t.Errorf("net sysctl with its own network: %v", err)
	}
	o = base
	o.SeccompProfile = "/p.json"
	cfg, _ := Build(o, time.Time{})
	if cfg.Seccomp() != "/p.json" {
		t.Errorf("Seccomp() %q", cfg.Seccomp())
	}
	o.Privileged = true
	if cfg, _ := Build(o, time.Time{}); cfg.Seccomp() != SeccompUnconfined {
		t.Errorf("privileged Seccomp() %q", cfg.Seccomp())
	}
}
