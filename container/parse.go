package container

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	gounits "github.com/docker/go-units"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/names"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/volume"
)

// One parser for each kind of value a container setting takes. The
// settings table (settings.go) calls them for flags and file keys alike;
// their messages say what is wrong with the value and what to give
// instead, without naming the flag or key, which the caller adds.

// MaxNameLen bounds container names so that unit names built from them
// stay well below systemd's 255-byte limit.
const MaxNameLen = 60

// ErrInvalidName is returned for container names ctr-unit refuses.
var ErrInvalidName = errors.New("invalid container name")

// ValidateName checks a container name against the podman/docker rule.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w %q: longer than %d characters", ErrInvalidName, name, MaxNameLen)
	case !names.Valid(name):
		return fmt.Errorf("%w %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// ParseSignal reads a signal given as a number, "TERM" or "SIGTERM".
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// ParseSize reads a size in bytes as podman's --memory and --shm-size do
// (go-units' RAMInBytes: 65536, 64k, 1.5g, 2T; powers of 1024). It must be
// above zero.
func ParseSize(s string) (int64, error) {
	n, err := gounits.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, errors.New("want a size above 0, such as 512m or 1g")
	}
	return n, nil
}

// maxCPUs keeps a CPU quota in microseconds per second well inside
// systemd's range.
const maxCPUs = 1 << 20

// ParseCPUs reads a number of CPUs (1.5) as microseconds of CPU time per
// second of wall time, what systemd's CPUQuota= takes.
func ParseCPUs(s string) (uint64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > maxCPUs || f*1e6 < 1 {
		return 0, errors.New("want a positive number of CPUs such as 0.5 or 2")
	}
	return uint64(math.Round(f * 1e6)), nil
}

// ParsePidsLimit reads a process limit: a whole number above 0, or -1 (or
// 0) for none, as podman's --pids-limit.
func ParsePidsLimit(s string) (uint64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < -1 {
		return 0, errors.New("want a whole number above 0, or -1 for no limit")
	}
	if n <= 0 {
		return 0, nil
	}
	return uint64(n), nil
}

// ParseSeconds reads a stop timeout: whole seconds, or a duration such as
// 30s or 1m30s (whole seconds are kept).
func ParseSeconds(s string) (Seconds, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return Seconds(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d/time.Second > math.MaxUint32 {
		return 0, errors.New("want whole seconds or a duration such as 30s")
	}
	return Seconds(d / time.Second), nil
}

// ParseDuration reads a duration as podman's --health-* options take it
// ("500ms", "1m30s"; at least 1ms). zeroOK allows "0" and "disable",
// which give 0.
func ParseDuration(s string, zeroOK bool) (time.Duration, error) {
	if zeroOK && s == "disable" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, errors.New("use a duration such as 500ms, 30s or 1m30s")
	case d < 0:
		return 0, errors.New("must not be negative")
	case d == 0 && !zeroOK:
		return 0, errors.New("must be longer than 0")
	case d > 0 && d < time.Millisecond:
		return 0, errors.New("must be at least 1ms")
	}
	return d, nil
}

// ParseBool reads systemd's boolean spellings (and pflag's, which give
// "true" and "false").
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, errors.New("want yes or no")
}

// ParseCount reads a whole number that must not be negative.
func ParseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, errors.New("want a whole number, 0 or more")
	}
	return n, nil
}

// ParseEnv checks one environment entry: KEY=VALUE, or a bare NAME (or
// PREFIX*) whose value comes from an environment (ResolveEnv), as
// podman's --env NAME takes the caller's.
func ParseEnv(s string) (string, error) {
	k, _, _ := strings.Cut(s, "=")
	if k == "" || k == "*" || strings.ContainsAny(k, " \t\n") {
		return "", fmt.Errorf("%q is not KEY=VALUE or a variable's NAME", s)
	}
	return s, nil
}

// ParseAnnotation reads an annotation, KEY=VALUE, as podman does: the
// value may be empty, the "=" may not be missing.
func ParseAnnotation(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
		return "", "", fmt.Errorf("annotation %q: give KEY=VALUE", s)
	}
	return k, v, nil
}

// ResolveEnv replaces the bare names of env (see ParseEnv) with their
// entries in environ: NAME by its entry, if it has one (else nothing, as
// podman skips an unset one), PREFIX* by every entry whose name starts so.
func ResolveEnv(env, environ []string) []string {
	var out []string
	for _, e := range env {
		if strings.Contains(e, "=") {
			out = append(out, e)
			continue
		}
		prefix, wild := strings.CutSuffix(e, "*")
		for _, have := range environ {
			name, _, _ := strings.Cut(have, "=")
			if name == e || wild && strings.HasPrefix(name, prefix) {
				out = append(out, have)
			}
		}
	}
	return out
}

// ParseLabel reads a label, KEY=VALUE or KEY (an empty value), as
// podman's --label.
func ParseLabel(s string) (key, value string, err error) {
	key, value, _ = strings.Cut(s, "=")
	if strings.TrimSpace(key) == "" || strings.ContainsAny(key, "\n") {
		return "", "", fmt.Errorf("label %q: want KEY=VALUE", s)
	}
	return key, value, nil
}

// ReadLabelFile reads a --label-file: a label per line, KEY=VALUE or KEY;
// blank lines and lines starting with # are skipped.
func ReadLabelFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label file: %w", err)
	}
	labels := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, err := ParseLabel(strings.TrimRight(line, "\r"))
		if err != nil {
			return nil, fmt.Errorf("label file %s, line %d: %w", path, i+1, err)
		}
		labels[k] = v
	}
	return labels, nil
}

// ParseEntrypoint reads an --entrypoint value (or a definition file's
// Entrypoint=) as podman does: a JSON array is the exec form, any other
// string one program path (not split on spaces), and "" clears the
// image's entrypoint (an empty, non-nil result; so does []). A value that
// starts as an array but is not one is refused, not run as a path.
func ParseEntrypoint(s string) ([]string, error) {
	if s == "" {
		return []string{}, nil
	}
	if !strings.HasPrefix(strings.TrimSpace(s), "[") {
		return []string{s}, nil
	}
	argv := []string{}
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		return nil, fmt.Errorf(`entrypoint %s is not a JSON array of strings (%w): write it as '["PROGRAM","ARG"]', or give a plain program path`, s, err)
	}
	if len(argv) > 0 && argv[0] == "" {
		return nil, fmt.Errorf(`entrypoint %s names no program: give '["PROGRAM","ARG"]', or "" to clear the image's entrypoint`, s)
	}
	return argv, nil
}

// ParseUser checks a user as --user takes it: NAME, UID, NAME:GROUP or
// UID:GID. Names are looked up in the container's /etc/passwd later.
func ParseUser(s string) (string, error) {
	if s == "" || strings.ContainsAny(s, "/ \t\n") || strings.HasPrefix(s, ":") || strings.HasSuffix(s, ":") || strings.Count(s, ":") > 1 {
		return "", errors.New("use NAME, UID, NAME:GROUP or UID:GID")
	}
	return s, nil
}

// NumericUser parses UID[:GID].
func NumericUser(spec string) (uid, gid uint32, ok bool) {
	u, g, hasGroup := strings.Cut(spec, ":")
	un, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, false
	}
	gn := un
	if hasGroup {
		if gn, err = strconv.ParseUint(g, 10, 32); err != nil {
			return 0, 0, false
		}
	}
	return uint32(un), uint32(gn), true
}

// ParseVolume reads -v HOSTDIR:CTRDIR[:ro|rw] (a bind mount) or
// -v NAME:CTRDIR[:ro|rw] (a named volume). A relative host path is taken
// from baseDir, as quadlet takes Volume= paths from the file's directory;
// with no baseDir it is refused.
func ParseVolume(spec, baseDir string) (Mount, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Mount{}, errors.New("use HOSTDIR:CTRDIR[:ro] or NAME:CTRDIR[:ro]")
	}
	m := Mount{Source: parts[0], Destination: parts[1]}
	if len(parts) == 3 {
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				m.ReadOnly = true
			case "rw":
				m.ReadOnly = false
			default:
				return Mount{}, fmt.Errorf("unknown option %q (ro or rw)", opt)
			}
		}
	}
	dest, err := checkDestination(m.Destination)
	if err != nil {
		return Mount{}, err
	}
	m.Destination = dest
	switch {
	case strings.HasPrefix(m.Source, "."):
		if baseDir == "" {
			return Mount{}, errors.New("host path must be absolute")
		}
		m.Source = filepath.Join(baseDir, m.Source)
		fallthrough
	case strings.HasPrefix(m.Source, "/"):
		if slices.Contains(strings.Split(m.Source, "/"), "..") {
			return Mount{}, errors.New("host path must not contain ..")
		}
		m.Type, m.Source = MountBind, filepath.Clean(m.Source)
	default:
		if err := volume.ValidName(m.Source); err != nil {
			return Mount{}, err
		}
		m.Type, m.Name, m.Source = MountVolume, m.Source, ""
	}
	return m, nil
}

// ParseTmpfs reads --tmpfs CTRDIR[:OPTIONS] (options as mount(8) takes
// them, e.g. size=64m,mode=1777).
func ParseTmpfs(spec string) (Mount, error) {
	dest, opts, _ := strings.Cut(spec, ":")
	dest, err := checkDestination(dest)
	if err != nil {
		return Mount{}, err
	}
	m := Mount{Type: MountTmpfs, Source: "tmpfs", Destination: dest, Options: []string{"nosuid", "nodev"}}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if o == "" || strings.ContainsAny(o, " \t\n") {
				return Mount{}, fmt.Errorf("bad option %q", o)
			}
			if o == "ro" {
				m.ReadOnly = true
			}
			m.Options = append(m.Options, o)
		}
	}
	return m, nil
}

// checkDestination refuses a mount point that is not a plain absolute
// path (.. could name a place outside the container's root) and gives it
// cleaned: /data/ and /data are one mount point, which the check for two
// mounts on one place must see.
func checkDestination(dest string) (string, error) {
	if !strings.HasPrefix(dest, "/") {
		return "", fmt.Errorf("container path %q must be absolute", dest)
	}
	if slices.Contains(strings.Split(dest, "/"), "..") {
		return "", fmt.Errorf("container path %q must not contain .. (it would escape the container's root)", dest)
	}
	clean := filepath.Clean(dest)
	if clean == "/" {
		return "", fmt.Errorf("container path %q: cannot mount over the root", dest)
	}
	return clean, nil
}

// ParsePath reads an absolute path inside the container (--workdir).
func ParsePath(s string) (string, error) {
	if !filepath.IsAbs(s) {
		return "", fmt.Errorf("%q must be an absolute path", s)
	}
	return s, nil
}

// Network modes: the host's network, none (loopback only), or a namespace
// of its own on networks (NetworkBridge, with Config.Networks).
const (
	NetworkHost   = network.ModeHost
	NetworkNone   = network.ModeNone
	NetworkBridge = network.ModeBridge
)

// ParseNetwork reads one --network value.
func ParseNetwork(s string) (network.NetworkMode, error) {
	return network.ParseNetworkMode([]string{s})
}

// ParseUnitName reads --unit, the unit file a generate systemd --new unit
// runs its container as: a service, not ctr@.service or its instances.
func ParseUnitName(name string) (string, error) {
	base, ok := strings.CutSuffix(name, ".service")
	switch {
	case !ok || base == "" || strings.ContainsAny(name, "/ \t\n") || len(name) > 255:
		return "", fmt.Errorf("unit %q: want a service unit name such as web.service", name)
	case strings.HasSuffix(base, "@") || units.IsTemplateInstance(name):
		return "", fmt.Errorf("unit %q: a template or an instance of %s cannot be a container's own unit", name, units.Template)
	}
	return name, nil
}

// AllCapabilities is what --cap-add and --cap-drop take for every
// capability.
const AllCapabilities = "ALL"

// ParseCapability reads a capability as podman's --cap-add and --cap-drop
// take it: NET_ADMIN, CAP_NET_ADMIN or net_admin, or ALL. It returns
// CAP_NET_ADMIN (or ALL).
func ParseCapability(s string) (string, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if name == AllCapabilities {
		return name, nil
	}
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	if !slices.Contains(ociruntime.Capabilities, name) {
		return "", fmt.Errorf("unknown capability %q: use a name such as NET_ADMIN or CAP_NET_ADMIN, or ALL", s)
	}
	return name, nil
}

// Seccomp profiles besides a file's.
const (
	// SeccompDefault is the default profile (podman's and docker's).
	SeccompDefault = ""
	// SeccompUnconfined runs the container without a seccomp filter.
	SeccompUnconfined = "unconfined"
)

// SecurityOpt is one --security-opt: a seccomp profile, or whether the
// container's processes may gain privileges (setuid, file capabilities).
type SecurityOpt struct {
	// Seccomp is set for seccomp=...: SeccompUnconfined or a profile
	// file's absolute path.
	Seccomp *string
	// NoNewPrivileges is set for no-new-privileges[=BOOL].
	NoNewPrivileges *bool
}

// ParseSecurityOpt reads --security-opt as podman takes it:
// seccomp=unconfined, seccomp=PROFILE.json (relative to baseDir) and
// no-new-privileges[=true|false] (docker's no-new-privileges:true too).
// label=disable and apparmor=unconfined ask for what ctr-unit never
// applies, and are accepted as they are.
func ParseSecurityOpt(s, baseDir string) (SecurityOpt, error) {
	key, value, hasValue := strings.Cut(s, "=")
	if !hasValue {
		key, value, hasValue = strings.Cut(s, ":")
	}
	switch key {
	case "seccomp":
		switch {
		case value == SeccompUnconfined:
		case value == "":
			return SecurityOpt{}, errors.New("seccomp= needs unconfined or a profile file (JSON)")
		default:
			p, err := hostPath(value, baseDir)
			if err != nil {
				return SecurityOpt{}, fmt.Errorf("seccomp profile: %w", err)
			}
			value = p
		}
		return SecurityOpt{Seccomp: &value}, nil
	case "no-new-privileges":
		on := true
		if hasValue {
			var err error
			if on, err = ParseBool(value); err != nil {
				return SecurityOpt{}, fmt.Errorf("no-new-privileges=%s: %w", value, err)
			}
		}
		return SecurityOpt{NoNewPrivileges: &on}, nil
	case "label":
		if value == "disable" {
			return SecurityOpt{}, nil
		}
	case "apparmor":
		if value == SeccompUnconfined {
			return SecurityOpt{}, nil
		}
	}
	return SecurityOpt{}, fmt.Errorf("unknown security option %q: use seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges", s)
}

// Device is a host device given to a container (--device).
type Device struct {
	// Path is the device node on the host (a symlink to one is followed
	// when the container starts).
	Path string `json:"PathOnHost"`
	// CtrPath is where it appears in the container.
	CtrPath string `json:"PathInContainer"`
	// Perms are what the container may do with it: r, w, m (mknod).
	Perms string `json:"CgroupPermissions"`
	// Optional devices (a definition file's AddDevice=-/dev/x) that do
	// not exist when the container starts are left out.
	Optional bool `json:"Optional,omitempty"`
}

// ParseDevice reads --device HOST[:CONTAINER][:PERMISSIONS] as podman
// does (permissions: r, w and m, default rwm). A leading '-' marks a
// device that may be missing (quadlet's AddDevice=-/dev/x).
func ParseDevice(s string) (Device, error) {
	var d Device
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		d.Optional, s = true, rest
	}
	parts := strings.Split(s, ":")
	d.Path, d.CtrPath, d.Perms = parts[0], parts[0], "rwm"
	switch len(parts) {
	case 1:
	case 2:
		if validDevicePerms(parts[1]) {
			d.Perms = parts[1]
		} else {
			d.CtrPath = parts[1]
		}
	case 3:
		d.CtrPath, d.Perms = parts[1], parts[2]
	default:
		return Device{}, fmt.Errorf("device %q: use HOST-DEVICE[:CONTAINER-DEVICE][:PERMISSIONS]", s)
	}
	if !filepath.IsAbs(d.Path) || !filepath.IsAbs(d.CtrPath) {
		return Device{}, fmt.Errorf("device %q: give absolute paths, such as /dev/fuse", s)
	}
	if !validDevicePerms(d.Perms) {
		return Device{}, fmt.Errorf("device %q: permissions %q: use r, w and m (e.g. rw)", s, d.Perms)
	}
	ctrPath, err := checkDestination(d.CtrPath)
	if err != nil {
		return Device{}, fmt.Errorf("device %q: %w", s, err)
	}
	d.Path, d.CtrPath = filepath.Clean(d.Path), ctrPath
	return d, nil
}

func validDevicePerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for i, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.ContainsRune(p[i+1:], c) {
			return false
		}
	}
	return true
}

// Ulimit is one resource limit of the container's processes.
type Ulimit struct {
	// Name is the limit's, as setrlimit(2) names it: RLIMIT_NOFILE.
	Name string `json:"Name"`
	Soft uint64 `json:"Soft"`
	Hard uint64 `json:"Hard"`
}

// ulimitNames are the limits --ulimit sets, as docker and podman name
// them.
var ulimitNames = []string{
	"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
	"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
}

// Unlimited is a resource limit of -1 (RLIM_INFINITY).
const Unlimited = math.MaxUint64

// ParseUlimit reads --ulimit NAME=SOFT[:HARD] (nofile=1024:4096; -1 is
// unlimited; a lone value is both limits).
func ParseUlimit(s string) (Ulimit, error) {
	name, limits, ok := strings.Cut(s, "=")
	if !ok || !slices.Contains(ulimitNames, name) {
		return Ulimit{}, fmt.Errorf("ulimit %q: use NAME=SOFT[:HARD] with a NAME such as nofile, nproc or core", s)
	}
	softS, hardS, hasHard := strings.Cut(limits, ":")
	if !hasHard {
		hardS = softS
	}
	soft, err1 := parseLimit(softS)
	hard, err2 := parseLimit(hardS)
	if err := errors.Join(err1, err2); err != nil {
		return Ulimit{}, fmt.Errorf("ulimit %q: %w", s, err)
	}
	if soft > hard {
		return Ulimit{}, fmt.Errorf("ulimit %q: the soft limit is above the hard one", s)
	}
	return Ulimit{Name: "RLIMIT_" + strings.ToUpper(name), Soft: soft, Hard: hard}, nil
}

func parseLimit(s string) (uint64, error) {
	if s == "-1" || s == "unlimited" {
		return Unlimited, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("limit %q: want a whole number, 0 or more, or -1 for unlimited", s)
	}
	return n, nil
}

// sysctlKernelIPC are the kernel.* sysctls an IPC namespace has.
var sysctlKernelIPC = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// ParseSysctl reads --sysctl NAME=VALUE. Only sysctls a container's own
// namespaces have are allowed, as in podman and runc: IPC ones
// (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*), net.* (for a
// container with its own network) and kernel.domainname.
func ParseSysctl(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	name = strings.ReplaceAll(strings.TrimSpace(name), "/", ".")
	switch {
	case !ok || name == "" || strings.ContainsAny(name, " \t\n") || strings.Contains(name, ".."):
		return "", "", fmt.Errorf("sysctl %q: use NAME=VALUE, such as net.ipv4.ping_group_range=0 0", s)
	case strings.ContainsAny(value, "\n\x00"):
		return "", "", fmt.Errorf("sysctl %q: the value must be one line", s)
	case slices.Contains(sysctlKernelIPC, name), strings.HasPrefix(name, "fs.mqueue."),
		strings.HasPrefix(name, "net."), name == "kernel.domainname":
		return name, value, nil
	}
	return "", "", fmt.Errorf("sysctl %s is not namespaced: a container can only set kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.* and kernel.domainname", name)
}

// IsNetSysctl reports whether a sysctl belongs to the network namespace.
func IsNetSysctl(name string) bool { return strings.HasPrefix(name, "net.") }

// ParseMount reads --mount (quadlet's Mount=) as podman does: comma
// separated KEY=VALUE fields (CSV, so a field may be quoted), of
// type=bind, type=volume or type=tmpfs, giving the mount -v or --tmpfs
// gives for the same. It takes source (src), destination (dst, target),
// ro or readonly (=true or =false), rw, bind-propagation=rprivate (the
// only one ctr-unit makes), and for tmpfs tmpfs-size and tmpfs-mode.
func ParseMount(spec, baseDir string) (Mount, error) {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return Mount{}, fmt.Errorf("not comma-separated KEY=VALUE fields: %w", err)
	}
	var typ, src, dst string
	ro := false
	var tmpfsOpts []string
	for _, f := range fields {
		k, v, hasValue := strings.Cut(strings.TrimSpace(f), "=")
		switch strings.ToLower(k) {
		case "type":
			typ = v
		case "source", "src":
			src = v
		case "destination", "dst", "target":
			dst = v
		case "ro", "readonly":
			ro = true
			if hasValue {
				if ro, err = ParseBool(v); err != nil {
					return Mount{}, fmt.Errorf("%s=%s: want true or false", k, v)
				}
			}
		case "rw":
			ro = false
			if hasValue {
				rw, err := ParseBool(v)
				if err != nil {
					return Mount{}, fmt.Errorf("rw=%s: want true or false", v)
				}
				ro = !rw
			}
		case "bind-propagation":
			if v != "rprivate" {
				return Mount{}, fmt.Errorf("bind-propagation=%s: ctr-unit's bind mounts are rprivate", v)
			}
		case "tmpfs-size":
			n, err := gounits.RAMInBytes(v)
			if err != nil || n <= 0 {
				return Mount{}, fmt.Errorf("tmpfs-size=%s: want a size above 0, such as 64m", v)
			}
			tmpfsOpts = append(tmpfsOpts, "size="+strconv.FormatInt(n, 10))
		case "tmpfs-mode":
			if _, err := strconv.ParseUint(v, 8, 32); err != nil {
				return Mount{}, fmt.Errorf("tmpfs-mode=%s: want an octal mode such as 1777", v)
			}
			tmpfsOpts = append(tmpfsOpts, "mode="+v)
		default:
			return Mount{}, fmt.Errorf("%q is not a mount option ctr-unit has (type, source, destination, ro, rw, bind-propagation, tmpfs-size, tmpfs-mode)", f)
		}
	}
	if dst == "" {
		return Mount{}, errors.New("give destination=CTRDIR")
	}
	mode := ""
	if ro {
		mode = ":ro"
	}
	switch typ {
	case MountBind:
		if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") {
			return Mount{}, errors.New("type=bind needs source=HOSTDIR, an absolute path (or one relative to the definition file, starting with .)")
		}
		return ParseVolume(src+":"+dst+mode, baseDir)
	case MountVolume:
		if src == "" || strings.HasPrefix(src, "/") || strings.HasPrefix(src, ".") {
			return Mount{}, errors.New("type=volume needs source=NAME, the volume's name")
		}
		return ParseVolume(src+":"+dst+mode, baseDir)
	case MountTmpfs:
		if src != "" {
			return Mount{}, errors.New("type=tmpfs takes no source")
		}
		if ro {
			tmpfsOpts = append(tmpfsOpts, "ro")
		}
		if len(tmpfsOpts) > 0 {
			dst += ":" + strings.Join(tmpfsOpts, ",")
		}
		return ParseTmpfs(dst)
	case "":
		return Mount{}, errors.New("give type=bind, type=volume or type=tmpfs")
	}
	return Mount{}, fmt.Errorf("type=%s: ctr-unit mounts bind, volume and tmpfs", typ)
}

// mountSource is the source= of a --mount value, as written.
func mountSource(spec string) string {
	fields, _ := csv.NewReader(strings.NewReader(spec)).Read()
	for _, f := range fields {
		if k, v, _ := strings.Cut(strings.TrimSpace(f), "="); k == "source" || k == "src" {
			return v
		}
	}
	return ""
}

// canonicalMount is a --mount value with its source replaced by src.
func canonicalMount(spec, src string) string {
	fields, _ := csv.NewReader(strings.NewReader(spec)).Read()
	for i, f := range fields {
		if k, _, _ := strings.Cut(strings.TrimSpace(f), "="); k == "source" || k == "src" {
			fields[i] = k + "=" + src
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(fields)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// localtime is where a container's time zone is mounted.
const localtime = "/etc/localtime"

// zoneName reports whether s can be a time zone's name in the zone
// database: parts of letters, digits and _+- between slashes (a loop, not
// a regular expression compiled at every start of every binary).
func zoneName(s string) bool {
	for _, part := range strings.Split(s, "/") {
		if part == "" || strings.ContainsFunc(part, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '+' || r == '-')
		}) {
			return false
		}
	}
	return true
}

// ParseTimezone reads --tz: "local" (the host's zone) or a zone name of
// /usr/share/zoneinfo, such as Europe/Paris or UTC. Whether the zone
// exists is the host's to say (TimezoneSource).
func ParseTimezone(s string) (string, error) {
	if s == "local" {
		return s, nil
	}
	if !zoneName(s) {
		return "", fmt.Errorf("time zone %q: give a zone name such as Europe/Paris or UTC (see /usr/share/zoneinfo), or local", s)
	}
	return s, nil
}

// TimezoneSource is the host's file of a time zone (ParseTimezone), which
// is mounted as the container's /etc/localtime.
func TimezoneSource(tz string) string {
	if tz == "local" {
		return localtime
	}
	return "/usr/share/zoneinfo/" + tz
}

// ParseEnvFile reads an --env-file (EnvironmentFile=) as podman does: one
// KEY=VALUE a line, blank lines and lines starting with # skipped, and a
// KEY alone taking the value lookup gives it (the caller's environment;
// left out if unset there). Problems name the file and line.
func ParseEnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	var env []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, _, hasValue := strings.Cut(trimmed, "=")
		switch {
		case key == "" || strings.ContainsAny(key, " \t"):
			return nil, fmt.Errorf("%s:%d: %q is not KEY=VALUE", path, i+1, line)
		case !hasValue:
			if v, ok := lookup(key); ok {
				env = append(env, key+"="+v)
			}
		default:
			env = append(env, trimmed)
		}
	}
	return env, nil
}
