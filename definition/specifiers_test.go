package definition

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSpecifiersOfATemplateInstance(t *testing.T) {
	sp := &Specifiers{
		Unit:     "ctr@my-web.service",
		Fragment: "/lib/systemd/system/ctr@.service",
		Host: Host{
			Hostname: "box.example.org", MachineID: "m1", BootID: "b1", KernelRelease: "6.1.0",
			Architecture: "x86-64", Shell: "/bin/bash",
			OSRelease: map[string]string{"ID": "debian", "VERSION_ID": "12"},
		},
	}
	for in, want := range map[string]string{
		"%n %N %p %P":   "ctr@my-web.service ctr@my-web ctr ctr",
		"%i|%I|%f":      "my-web|my/web|/my/web",
		"%j %J":         "ctr ctr",
		"%y %Y":         "/lib/systemd/system/ctr@.service /lib/systemd/system",
		"%d":            "/run/credentials/ctr@my-web.service",
		"%H %l %q":      "box.example.org box box",
		"%m %b %v %a":   "m1 b1 6.1.0 x86-64",
		"%o %w %W %B":   "debian 12  ",
		"%u %U %g %G":   "root 0 root 0",
		"%h %s":         "/root /bin/bash",
		"%t %S %C %L":   "/run /var/lib /var/cache /var/log",
		"%E %T %V":      "/etc /tmp /var/tmp",
		"100%% 5%":      "100% 5%",
		"no specifiers": "no specifiers",
	} {
		got, err := sp.Expand(in)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"%z", "%"} {
		_, err := sp.Expand(bad + "x")
		if !errors.Is(err, ErrSpecifier) {
			t.Errorf("Expand(%q) = %v, want ErrSpecifier", bad+"x", err)
		}
	}
	// What systemd cannot resolve is an error too.
	for _, s := range []*Specifiers{
		{Unit: "ctr@a--b.service"},   // %f: a//b is not a normalized path
		{Unit: "ctr@web-.service"},   // %f: trailing /
		{Unit: "ctr@x\\xZZ.service"}, // %I: bad escape
	} {
		if _, err := s.Expand("%f%I"); !errors.Is(err, ErrSpecifier) {
			t.Errorf("%s: %%f%%I = %v, want ErrSpecifier", s.Unit, err)
		}
	}
	for _, spec := range []string{"%y", "%m", "%b", "%H"} {
		if _, err := (&Specifiers{Unit: "x.service"}).Expand(spec); !errors.Is(err, ErrSpecifier) {
			t.Errorf("%s unknown: %v, want ErrSpecifier", spec, err)
		}
	}
}

func TestSpecifiersOfAPlainUnit(t *testing.T) {
	sp := &Specifiers{Unit: "foo-bar.service", Host: Host{Hostname: "h", PrettyHostname: "Pretty"}}
	got, err := sp.Expand("%n %N %p %P %i. %I. %j %J %f %q")
	if want := "foo-bar.service foo-bar foo-bar foo/bar . . bar bar /foo/bar Pretty"; err != nil || got != want {
		t.Errorf("Expand = %q, %v; want %q", got, err, want)
	}
}

func TestReadHostReadsTheSystem(t *testing.T) {
	h := ReadHost()
	if name, err := os.Hostname(); err != nil || h.Hostname != name {
		t.Errorf("Hostname %q, os.Hostname %q (%v)", h.Hostname, name, err)
	}
	if h.KernelRelease == "" || h.Architecture == "" || h.Shell == "" {
		t.Errorf("ReadHost = %+v", h)
	}
	if len(h.BootID) != 32 {
		t.Errorf("boot ID %q, want 32 hex digits", h.BootID)
	}
}

func TestReadEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "os-release")
	os.WriteFile(p, []byte("# comment\nID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID='12'\n"), 0o644)
	got, err := readEnvFile(p)
	if err != nil || got["ID"] != "debian" || got["PRETTY_NAME"] != "Debian GNU/Linux 12 (bookworm)" || got["VERSION_ID"] != "12" {
		t.Errorf("readEnvFile = %v, %v", got, err)
	}
}
