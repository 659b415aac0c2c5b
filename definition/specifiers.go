package definition

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Specifiers resolves systemd's %-specifiers (systemd.unit(5)) for one
// unit of the system manager, as systemd 252 does. Quadlet hands the
// values of [Container] keys to the unit's ExecStart=, where systemd
// expands them; ctr-unit reads them itself, so it expands them here, with
// the unit that runs the container. [Unit] and [Service] settings are
// written to the unit as they are, and systemd expands them there.
type Specifiers struct {
	// Unit is the unit's full name, such as ctr@web.service.
	Unit string
	// Fragment is the path of the unit's file (%y, %Y); for an instance
	// of a template, the template's file.
	Fragment string
	// Credentials is the unit whose credentials directory %d names, if
	// not Unit.
	Credentials string
	Host        Host
}

// Host is what the specifiers that describe the system resolve to.
type Host struct {
	Hostname       string // %H, %l
	PrettyHostname string // %q; the short hostname if empty
	MachineID      string // %m
	BootID         string // %b, 32 hex digits
	KernelRelease  string // %v
	Architecture   string // %a, in systemd's names (x86-64, arm64, ...)
	// OSRelease holds os-release(5)'s fields (%o %w %W %B %M %A).
	OSRelease map[string]string
	// Shell is the manager's user's (root's) login shell (%s).
	Shell string
}

// ReadHost reads the running system's values. A value it cannot read
// stays empty; expanding its specifier is then an error, as in systemd.
func ReadHost() Host {
	h := Host{OSRelease: map[string]string{}, Shell: "/bin/sh"}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Hostname = unix.ByteSliceToString(u.Nodename[:])
		h.KernelRelease = unix.ByteSliceToString(u.Release[:])
		h.Architecture = systemdArch(unix.ByteSliceToString(u.Machine[:]))
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.MachineID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		h.BootID = strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	}
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if fields, err := readEnvFile(p); err == nil {
			h.OSRelease = fields
			break
		}
	}
	if fields, err := readEnvFile("/etc/machine-info"); err == nil {
		h.PrettyHostname = fields["PRETTY_HOSTNAME"]
	}
	if b, err := os.ReadFile("/etc/passwd"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Split(line, ":"); len(f) == 7 && f[2] == "0" && f[6] != "" {
				h.Shell = f[6]
				break
			}
		}
	}
	return h
}

// systemdArch names a uname machine as systemd's ConditionArchitecture=.
func systemdArch(machine string) string {
	switch machine {
	case "x86_64":
		return "x86-64"
	case "i386", "i486", "i586", "i686":
		return "x86"
	case "aarch64":
		return "arm64"
	case "aarch64_be":
		return "arm64-be"
	case "ppc64le":
		return "ppc64-le"
	case "riscv64":
		return "riscv64"
	}
	return machine
}

// readEnvFile reads KEY=VALUE lines as os-release(5) writes them.
func readEnvFile(p string) (map[string]string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if words, err := split(v, Args); err == nil && len(words) == 1 {
			v = words[0]
		}
		out[k] = v
	}
	return out, sc.Err()
}

// ErrSpecifier marks a specifier that is unknown or cannot be resolved.
var ErrSpecifier = errors.New("bad specifier")

// Expand replaces the specifiers in s. %% is a percent sign and a lone %
// at the end stays; an unknown specifier is an error, as systemd refuses
// the setting.
func (sp *Specifiers) Expand(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		v, err := sp.resolve(s[i])
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// resolve gives one specifier's value.
func (sp *Specifiers) resolve(c byte) (string, error) {
	h := sp.Host
	need := func(v, what string) (string, error) {
		if v == "" {
			return "", fmt.Errorf("%w %%%c: the %s is not known", ErrSpecifier, c, what)
		}
		return v, nil
	}
	name := sp.Unit
	if i := strings.LastIndexByte(sp.Unit, '.'); i >= 0 {
		name = sp.Unit[:i]
	}
	prefix, instance, isInstance := strings.Cut(name, "@")
	last := prefix
	if i := strings.LastIndexByte(prefix, '-'); i >= 0 {
		last = prefix[i+1:]
	}
	switch c {
	case '%':
		return "%", nil
	case 'n':
		return need(sp.Unit, "unit name")
	case 'N':
		return need(name, "unit name")
	case 'p':
		return need(prefix, "unit name")
	case 'P':
		return unescapeUnitName(prefix)
	case 'i':
		return instance, nil
	case 'I':
		return unescapeUnitName(instance)
	case 'j':
		return last, nil
	case 'J':
		return unescapeUnitName(last)
	case 'f':
		if isInstance {
			return unescapeUnitPath(instance)
		}
		return unescapeUnitPath(prefix)
	case 'y':
		return need(sp.Fragment, "unit's file")
	case 'Y':
		if sp.Fragment == "" {
			return need("", "unit's file")
		}
		return path.Dir(sp.Fragment), nil
	case 'd':
		if sp.Credentials != "" {
			return "/run/credentials/" + sp.Credentials, nil
		}
		return "/run/credentials/" + sp.Unit, nil
	case 'a':
		return need(h.Architecture, "architecture")
	case 'b':
		return need(h.BootID, "boot ID")
	case 'm':
		return need(h.MachineID, "machine ID")
	case 'H':
		return need(h.Hostname, "host name")
	case 'l':
		short, _, _ := strings.Cut(h.Hostname, ".")
		return need(short, "host name")
	case 'q':
		if h.PrettyHostname != "" {
			return h.PrettyHostname, nil
		}
		short, _, _ := strings.Cut(h.Hostname, ".")
		return need(short, "host name")
	case 'v':
		return need(h.KernelRelease, "kernel release")
	case 'o':
		return h.OSRelease["ID"], nil
	case 'w':
		return h.OSRelease["VERSION_ID"], nil
	case 'W':
		return h.OSRelease["VARIANT_ID"], nil
	case 'B':
		return h.OSRelease["BUILD_ID"], nil
	case 'M':
		return h.OSRelease["IMAGE_ID"], nil
	case 'A':
		return h.OSRelease["IMAGE_VERSION"], nil
	// The system manager's own user and directories.
	case 'u', 'g':
		return "root", nil
	case 'U', 'G':
		return "0", nil
	case 'h':
		return "/root", nil
	case 's':
		return need(h.Shell, "shell")
	case 't':
		return "/run", nil
	case 'S':
		return "/var/lib", nil
	case 'C':
		return "/var/cache", nil
	case 'L':
		return "/var/log", nil
	case 'E':
		return "/etc", nil
	case 'T':
		return "/tmp", nil
	case 'V':
		return "/var/tmp", nil
	}
	return "", fmt.Errorf("%w %%%c: systemd has no such specifier; write %%%% for a percent sign", ErrSpecifier, c)
}

// unescapeUnitName undoes systemd's unit name escaping: - is /, \xNN a
// byte (systemd-escape(1), %I).
func unescapeUnitName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '-':
			b.WriteByte('/')
		case c == '\\':
			v, ok := hexValue(s[min(i+2, len(s)):], 2)
			if i+1 >= len(s) || s[i+1] != 'x' || !ok {
				return "", fmt.Errorf("%w: %q is not an escaped unit name", ErrSpecifier, s)
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// unescapeUnitPath is systemd-escape --path --unescape (%f): the name
// unescaped, as an absolute, normalized path.
func unescapeUnitPath(s string) (string, error) {
	if s == "-" {
		return "/", nil
	}
	p, err := unescapeUnitName(s)
	if err != nil {
		return "", err
	}
	p = "/" + p
	if p != path.Clean(p) {
		return "", fmt.Errorf("%w %%f: %q is not an escaped path", ErrSpecifier, s)
	}
	return p, nil
}
