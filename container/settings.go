package container

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options are a container's settings as the user gave them, each value
// parsed as it was set; what was not given is zero, and Build fills in
// the defaults.
type Options struct {
	Name string
	// Unit is the unit that runs the container: set by generate systemd
	// --new units, whose unit file creates its own container.
	Unit   string
	Rootfs string
	// Image runs the container from an image (instead of Rootfs);
	// ImageID is what the caller resolved it to (ApplyImage). An image
	// not resolved yet (a definition read where images cannot be, as by
	// the generator) leaves the command to be learned later.
	Image   string
	ImageID string
	Command []string
	// Entrypoint is nil when not given, empty to clear the image's. It
	// goes before Command.
	Entrypoint    []string
	Env           []string
	WorkDir       string
	Hostname      string
	Network       string
	Restart       RestartPolicy
	StopSignal    Signal
	StopTimeout   *Seconds
	Requires      []string
	NoNetworkWait bool
	MemoryMax     uint64
	CPUQuotaUSec  uint64
	PidsLimit     uint64
	User          string
	// Group is a definition file's Group=, which joins User=.
	Group   string
	Volumes []Mount
	Tmpfs   []Mount
	ShmSize int64
	Health  HealthOptions
	// Security and privileges: capabilities added and dropped (names
	// such as CAP_NET_ADMIN, or ALL), --privileged, a read-only root
	// (with tmpfs where programs write, unless ReadOnlyTmpfs is false),
	// no-new-privileges, the seccomp profile (SeccompDefault,
	// SeccompUnconfined or a file), host devices, resource limits and
	// sysctls.
	CapAdd, CapDrop []string
	Privileged      bool
	ReadOnly        bool
	ReadOnlyTmpfs   *bool
	NoNewPrivileges bool
	SeccompProfile  string
	Devices         []Device
	Ulimits         []Ulimit
	Sysctls         map[string]string
	// BaseDir is where relative host paths are taken from: the working
	// directory of a command, the directory of a definition file.
	BaseDir string
	// CreateCommand is create's options and arguments as the user gave
	// them, kept for generate systemd --new.
	CreateCommand []string
}

// Setting is one container setting, as a command-line flag of run and
// create and as a key of a definition file's [Container] section. A key's
// value is turned into flag values (FromKey, Words) that the flag's own
// parser reads (Set), as podman's quadlet turns keys into podman's flags:
// a key cannot mean anything but its flag.
type Setting struct {
	// Key is the [Container] key, as podman's quadlet names it; "" for a
	// setting files do not have.
	Key string
	// Flag is the long flag without "--"; "" for a setting the command
	// line does not have. Short is its one-letter form.
	Flag, Short string
	Usage       string
	// Arg is what plays the setting's part on the command line when it
	// has no flag: a positional argument (IMAGE, COMMAND).
	Arg string
	// Bool: a flag given without a value means true.
	Bool bool
	// List: the flag repeats, and so do the key's lines, each adding.
	List bool
	// Words: a key's value is a list of words, quoted as systemd quotes
	// them, each a value of the flag.
	Words bool
	// FromKey turns a key's value into the flag's values; nil passes it
	// as it is.
	FromKey func(value string) ([]string, error)
	// Set parses one flag value into o.
	Set    func(o *Options, value string) error
	Hidden bool
}

// Name is the setting's name in Problems: its flag, or its key.
func (s Setting) Name() string {
	if s.Flag != "" {
		return s.Flag
	}
	return s.Key
}

// Keys of a definition file's [Container] section, as podman's quadlet
// names them.
const (
	KeyImage                 = "Image"
	KeyRootfs                = "Rootfs"
	KeyExec                  = "Exec"
	KeyEntrypoint            = "Entrypoint"
	KeyEnvironment           = "Environment"
	KeyWorkingDir            = "WorkingDir"
	KeyHostname              = "Hostname"
	KeyNetwork               = "Network"
	KeyRestart               = "Restart"
	KeyStopSignal            = "StopSignal"
	KeyStopTimeout           = "StopTimeout"
	KeyMemory                = "Memory"
	KeyCPUs                  = "CPUs"
	KeyPidsLimit             = "PidsLimit"
	KeyRequires              = "Requires"
	KeyWaitNetwork           = "WaitNetwork"
	KeyUser                  = "User"
	KeyGroup                 = "Group"
	KeyVolume                = "Volume"
	KeyTmpfs                 = "Tmpfs"
	KeyShmSize               = "ShmSize"
	KeyHealthCmd             = "HealthCmd"
	KeyHealthInterval        = "HealthInterval"
	KeyHealthTimeout         = "HealthTimeout"
	KeyHealthRetries         = "HealthRetries"
	KeyHealthStartPeriod     = "HealthStartPeriod"
	KeyHealthOnFailure       = "HealthOnFailure"
	KeyHealthStartupCmd      = "HealthStartupCmd"
	KeyHealthStartupInterval = "HealthStartupInterval"
	KeyHealthStartupTimeout  = "HealthStartupTimeout"
	KeyHealthStartupRetries  = "HealthStartupRetries"
	KeyHealthStartupSuccess  = "HealthStartupSuccess"
	KeyNotify                = "Notify"
	KeyAddCapability         = "AddCapability"
	KeyDropCapability        = "DropCapability"
	KeyReadOnly              = "ReadOnly"
	KeyReadOnlyTmpfs         = "ReadOnlyTmpfs"
	KeyVolatileTmp           = "VolatileTmp"
	KeyNoNewPrivileges       = "NoNewPrivileges"
	KeySeccompProfile        = "SeccompProfile"
	KeyAddDevice             = "AddDevice"
	KeyUlimit                = "Ulimit"
	KeySysctl                = "Sysctl"
)

// Settings is every container setting. run and create bind their flags
// from it, and definition files read their keys through it.
var Settings = []Setting{
	{Flag: "name", Usage: "container name (required)", Set: func(o *Options, v string) error {
		// docker writes names with a leading slash.
		o.Name = strings.TrimPrefix(v, "/")
		return ValidateName(o.Name)
	}},
	{Key: KeyRootfs, Flag: "rootfs", Usage: "directory to use as the container's root filesystem", Set: func(o *Options, v string) (err error) {
		o.Rootfs, err = hostPath(v, o.BaseDir)
		return err
	}},
	{Key: KeyImage, Arg: "an IMAGE", Set: func(o *Options, v string) error {
		if v == "" {
			return errors.New("give an image name")
		}
		o.Image = v
		return nil
	}},
	{Key: KeyExec, Arg: "a COMMAND (after the IMAGE, or after --)", Words: true, Set: func(o *Options, v string) error { o.Command = append(o.Command, v); return nil }},
	{Key: KeyRestart, Flag: "restart", Usage: "restart policy: no, on-failure[:N], always, unless-stopped (default no)", Set: func(o *Options, v string) (err error) {
		o.Restart, err = ParseRestartPolicy(v)
		return err
	}},
	{Key: KeyEnvironment, Flag: "env", Short: "e", List: true, Words: true, Usage: "set an environment variable (KEY=VALUE)", Set: func(o *Options, v string) error {
		e, err := ParseEnv(v)
		o.Env = append(o.Env, e)
		return err
	}},
	{Key: KeyWorkingDir, Flag: "workdir", Short: "w", Usage: "working directory inside the container", Set: func(o *Options, v string) (err error) {
		o.WorkDir, err = ParsePath(v)
		return err
	}},
	{Key: KeyEntrypoint, Flag: "entrypoint", Usage: `replace the image's ENTRYPOINT, and drop its CMD: PATH or '["PROGRAM","ARG"]' ("" clears it)`, Set: func(o *Options, v string) (err error) {
		o.Entrypoint, err = ParseEntrypoint(v)
		return err
	}},
	{Key: KeyHostname, Flag: "hostname", Usage: "container host name", Set: func(o *Options, v string) error { o.Hostname = v; return nil }},
	{Key: KeyNetwork, Flag: "network", Usage: "network: host or none (default host)", Set: func(o *Options, v string) (err error) {
		o.Network, err = ParseNetwork(v)
		return err
	}},
	{Key: KeyStopSignal, Flag: "stop-signal", Usage: "signal that stops the container (default SIGTERM)", Set: func(o *Options, v string) error {
		sig, err := ParseSignal(v)
		o.StopSignal = Signal(sig)
		return err
	}},
	{Key: KeyStopTimeout, Flag: "stop-timeout", Usage: "seconds to wait after the stop signal before killing (default 10)", Set: func(o *Options, v string) error {
		secs, err := ParseSeconds(v)
		o.StopTimeout = &secs
		return err
	}},
	{Key: KeyRequires, Flag: "requires", List: true, Words: true, Usage: "container that must run before this one (repeatable)", Set: func(o *Options, v string) error {
		o.Requires = append(o.Requires, v)
		return ValidateName(v)
	}},
	{Key: KeyWaitNetwork, Flag: "no-network-wait", Bool: true, Usage: "do not order the container's unit after network-online.target at boot",
		FromKey: func(v string) ([]string, error) {
			wait, err := ParseBool(v)
			return []string{strconv.FormatBool(!wait)}, err
		},
		Set: func(o *Options, v string) (err error) {
			o.NoNetworkWait, err = ParseBool(v)
			return err
		}},
	{Key: KeyMemory, Flag: "memory", Short: "m", Usage: "memory limit (e.g. 512m, 1g)", Set: func(o *Options, v string) error {
		n, err := ParseSize(v)
		o.MemoryMax = uint64(n)
		return err
	}},
	{Key: KeyCPUs, Flag: "cpus", Usage: "CPU limit in CPUs (e.g. 1.5)", Set: func(o *Options, v string) (err error) {
		o.CPUQuotaUSec, err = ParseCPUs(v)
		return err
	}},
	{Key: KeyPidsLimit, Flag: "pids-limit", Usage: "limit on the number of processes (-1: none)", Set: func(o *Options, v string) (err error) {
		o.PidsLimit, err = ParsePidsLimit(v)
		return err
	}},
	{Key: KeyUser, Flag: "user", Short: "u", Usage: "user (NAME, UID, NAME:GROUP or UID:GID) the command runs as", Set: func(o *Options, v string) (err error) {
		o.User, err = ParseUser(v)
		return err
	}},
	{Key: KeyGroup, Set: func(o *Options, v string) error {
		if v == "" || strings.ContainsAny(v, ":/ \t\n") {
			return errors.New("use a group NAME or GID")
		}
		o.Group = v
		return nil
	}},
	{Key: KeyVolume, Flag: "volume", Short: "v", List: true, Usage: "mount HOSTDIR:CTRDIR[:ro] or named volume NAME:CTRDIR[:ro] (repeatable)",
		FromKey: func(v string) ([]string, error) {
			if src, dest, _ := strings.Cut(v, ":"); strings.HasSuffix(src, ".volume") && !strings.HasPrefix(src, "/") {
				return nil, fmt.Errorf("ctr-unit has no .volume units; name the volume instead (NAME:%s), which is made on first use or with ctr-unit volume create", dest)
			}
			return []string{v}, nil
		},
		Set: func(o *Options, v string) error {
			m, err := ParseVolume(v, o.BaseDir)
			if err == nil {
				err = o.mountedAlready(m.Destination)
			}
			o.Volumes = append(o.Volumes, m)
			return err
		}},
	{Key: KeyTmpfs, Flag: "tmpfs", List: true, Usage: "mount a tmpfs at CTRDIR[:OPTIONS] (repeatable)", Set: setTmpfs},
	{Key: KeyShmSize, Flag: "shm-size", Usage: "size of /dev/shm (e.g. 64m)", Set: func(o *Options, v string) (err error) {
		o.ShmSize, err = ParseSize(v)
		return err
	}},
	{Key: KeyAddCapability, Flag: "cap-add", List: true, Words: true, Usage: "add a capability (NET_ADMIN, CAP_SYS_TIME, or ALL) to the default ones (repeatable)", Set: func(o *Options, v string) error {
		c, err := ParseCapability(v)
		o.CapAdd = append(o.CapAdd, c)
		return err
	}},
	{Key: KeyDropCapability, Flag: "cap-drop", List: true, Words: true, Usage: "drop a capability (NET_RAW, or ALL) from the default ones (repeatable)", Set: func(o *Options, v string) error {
		c, err := ParseCapability(v)
		o.CapDrop = append(o.CapDrop, c)
		return err
	}},
	{Flag: "privileged", Bool: true, Usage: "give the container every capability and the host's devices, no seccomp filter, and /proc and /sys unmasked", Set: func(o *Options, v string) (err error) {
		o.Privileged, err = ParseBool(v)
		return err
	}},
	{Key: KeyReadOnly, Flag: "read-only", Bool: true, Usage: "mount the container's root file system read-only", Set: func(o *Options, v string) (err error) {
		o.ReadOnly, err = ParseBool(v)
		return err
	}},
	{Key: KeyReadOnlyTmpfs, Flag: "read-only-tmpfs", Bool: true, Usage: "with --read-only, mount tmpfs on /run, /tmp and /var/tmp; false leaves /dev read-only too (default true)", Set: func(o *Options, v string) error {
		on, err := ParseBool(v)
		o.ReadOnlyTmpfs = &on
		return err
	}},
	{Flag: "security-opt", List: true, Usage: "seccomp=unconfined, seccomp=PROFILE.json (the default is podman's profile), or no-new-privileges (repeatable)", Set: setSecurityOpt},
	// quadlet's SeccompProfile= and NoNewPrivileges= are --security-opt's.
	{Key: KeySeccompProfile, FromKey: func(v string) ([]string, error) { return []string{"seccomp=" + v}, nil }, Set: setSecurityOpt},
	{Key: KeyNoNewPrivileges, FromKey: func(v string) ([]string, error) { return []string{"no-new-privileges=" + v}, nil }, Set: setSecurityOpt},
	{Key: KeyAddDevice, Flag: "device", List: true, Words: true, Usage: "give the container a host device: HOST[:CONTAINER][:PERMISSIONS] (rwm) (repeatable)", Set: func(o *Options, v string) error {
		d, err := ParseDevice(v)
		o.Devices = append(o.Devices, d)
		return err
	}},
	{Key: KeyUlimit, Flag: "ulimit", List: true, Usage: "resource limit NAME=SOFT[:HARD], e.g. nofile=1024:4096 (-1: unlimited) (repeatable)", Set: func(o *Options, v string) error {
		u, err := ParseUlimit(v)
		// A later value of one limit replaces the earlier.
		o.Ulimits = append(slices.DeleteFunc(o.Ulimits, func(x Ulimit) bool { return x.Name == u.Name }), u)
		return err
	}},
	{Key: KeySysctl, Flag: "sysctl", List: true, Words: true, Usage: "set a namespaced kernel parameter NAME=VALUE (repeatable)", Set: func(o *Options, v string) error {
		name, value, err := ParseSysctl(v)
		if err == nil {
			if o.Sysctls == nil {
				o.Sysctls = map[string]string{}
			}
			o.Sysctls[name] = value
		}
		return err
	}},
	// quadlet's VolatileTmp= (deprecated there) is a tmpfs on /tmp.
	{Key: KeyVolatileTmp, FromKey: func(v string) ([]string, error) {
		on, err := ParseBool(v)
		if !on {
			return nil, err
		}
		return []string{"/tmp:rw,size=512M,mode=1777"}, err
	}, Set: setTmpfs},
	{Key: KeyHealthCmd, Flag: "health-cmd", Usage: `healthcheck command run inside the container: a JSON array (exec form) or a string run with /bin/sh -c; "none" disables`, Set: healthSetting(func(o *Options, v string) (err error) {
		o.Health.Cmd, err = ParseHealthCommand(v)
		if err == nil && o.Health.Cmd == nil {
			o.Health.Disabled = true // "none"
		}
		return err
	})},
	{Flag: "no-healthcheck", Bool: true, Usage: "no healthcheck", Set: func(o *Options, v string) (err error) {
		o.Health.Disabled, err = ParseBool(v)
		return err
	}},
	{Key: KeyHealthInterval, Flag: "health-interval", Usage: `time between checks, e.g. 30s, 1m30s, 500ms ("disable": none scheduled) (default 30s)`, Set: healthDuration(func(h *HealthOptions) **time.Duration { return &h.Interval }, true)},
	{Key: KeyHealthTimeout, Flag: "health-timeout", Usage: "time a check may take before it counts as failed (default 30s)", Set: healthDuration(func(h *HealthOptions) **time.Duration { return &h.Timeout }, false)},
	{Key: KeyHealthRetries, Flag: "health-retries", Usage: "failures in a row that make the container unhealthy (default 3)", Set: healthSetting(func(o *Options, v string) (err error) {
		o.Health.Retries, err = ParseCount(v)
		return err
	})},
	{Key: KeyHealthStartPeriod, Flag: "health-start-period", Usage: "time after start during which failures do not count until the first success (default 0s)", Set: healthDuration(func(h *HealthOptions) **time.Duration { return &h.StartPeriod }, true)},
	{Key: KeyHealthOnFailure, Flag: "health-on-failure", Usage: "what to do when unhealthy: none, kill, restart or stop (default none)", Set: healthSetting(func(o *Options, v string) (err error) {
		o.Health.OnFailure, err = ParseHealthAction(v)
		return err
	})},
	{Key: KeyHealthStartupCmd, Flag: "health-startup-cmd", Usage: "startup check that must pass before the regular checks begin", Set: healthSetting(func(o *Options, v string) (err error) {
		o.Health.StartupCmd, err = ParseHealthCommand(v)
		return err
	})},
	{Key: KeyHealthStartupInterval, Flag: "health-startup-interval", Usage: "time between startup checks (default 30s)", Set: healthDuration(func(h *HealthOptions) **time.Duration { return &h.StartupInterval }, false)},
	{Key: KeyHealthStartupTimeout, Flag: "health-startup-timeout", Usage: "time a startup check may take (default 30s)", Set: healthDuration(func(h *HealthOptions) **time.Duration { return &h.StartupTimeout }, false)},
	{Key: KeyHealthStartupRetries, Flag: "health-startup-retries", Usage: "startup failures in a row that restart the container (default 0: never)", Set: healthSetting(func(o *Options, v string) (err error) {
		o.Health.StartupRetries, err = ParseCount(v)
		return err
	})},
	{Key: KeyHealthStartupSuccess, Flag: "health-startup-success", Usage: "startup passes in a row that end the startup check (default 1)", Set: healthSetting(func(o *Options, v string) (err error) {
		o.Health.StartupSuccess, err = ParseCount(v)
		return err
	})},
	// quadlet's Notify=healthy is --sdnotify=healthy; Notify=yes would be
	// podman's --sdnotify=container, which ctr-unit does not have.
	{Key: KeyNotify, Flag: "sdnotify", Usage: "when the unit reports ready: conmon (once started, the default) or healthy (after the first passing check)",
		FromKey: func(v string) ([]string, error) {
			if strings.EqualFold(v, "healthy") {
				return []string{"healthy"}, nil
			}
			if on, err := ParseBool(v); err == nil && !on {
				return nil, nil
			}
			return nil, errors.New("only Notify=healthy is supported (ready once the first check passes)")
		},
		Set: func(o *Options, v string) (err error) {
			o.Health.SdNotify, err = ParseSdNotify(v)
			return err
		}},
	{Flag: "unit", Hidden: true, Usage: "the unit file that runs the container (set by generate systemd --new units)", Set: func(o *Options, v string) (err error) {
		o.Unit, err = ParseUnitName(v)
		return err
	}},
}

func setTmpfs(o *Options, v string) error {
	m, err := ParseTmpfs(v)
	if err == nil {
		err = o.mountedAlready(m.Destination)
	}
	o.Tmpfs = append(o.Tmpfs, m)
	return err
}

// setSecurityOpt parses one --security-opt into o.
func setSecurityOpt(o *Options, v string) error {
	opt, err := ParseSecurityOpt(v, o.BaseDir)
	if opt.Seccomp != nil {
		o.SeccompProfile = *opt.Seccomp
	}
	if opt.NoNewPrivileges != nil {
		o.NoNewPrivileges = *opt.NoNewPrivileges
	}
	return err
}

// mountedAlready refuses a second mount on one path.
func (o *Options) mountedAlready(dest string) error {
	for _, m := range append(slices.Clone(o.Volumes), o.Tmpfs...) {
		if filepath.Clean(m.Destination) == filepath.Clean(dest) {
			return fmt.Errorf("%s is mounted already", dest)
		}
	}
	return nil
}

func healthDuration(field func(*HealthOptions) **time.Duration, zeroOK bool) func(*Options, string) error {
	return healthSetting(func(o *Options, v string) error {
		d, err := ParseDuration(v, zeroOK)
		*field(&o.Health) = &d
		return err
	})
}

// healthSetting is the parser of a healthcheck setting: its errors say it
// is the healthcheck's.
func healthSetting(set func(*Options, string) error) func(*Options, string) error {
	return func(o *Options, v string) error {
		if err := set(o, v); err != nil {
			return fmt.Errorf("invalid healthcheck setting: %w", err)
		}
		return nil
	}
}

// hostPath makes a host path absolute, from base when it is relative.
func hostPath(p, base string) (string, error) {
	if p == "" {
		return "", errors.New("give a directory")
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	if base == "" {
		return "", fmt.Errorf("%q must be an absolute path", p)
	}
	return filepath.Join(base, p), nil
}

// Lookup finds a setting by its name (Setting.Name).
func Lookup(name string) (Setting, bool) {
	for _, s := range Settings {
		if s.Name() == name {
			return s, true
		}
	}
	return Setting{}, false
}

// KeySetting finds the setting of a [Container] key.
func KeySetting(key string) (Setting, bool) {
	for _, s := range Settings {
		if s.Key != "" && s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// KeyValues turns one of a key's values into the flag values its setting
// parses, split into words by split where the setting takes words.
func (s Setting) KeyValues(value string, split func(string) ([]string, error)) ([]string, error) {
	if s.FromKey != nil {
		return s.FromKey(value)
	}
	if s.Words {
		return split(value)
	}
	return []string{value}, nil
}

// Canonical is a flag value as it must be written to create the same
// container from another directory (generate systemd --new): relative
// host paths made absolute.
func Canonical(flag, value, baseDir string) string {
	switch flag {
	case "rootfs":
		if p, err := hostPath(value, baseDir); err == nil {
			return p
		}
	case "volume":
		if m, err := ParseVolume(value, baseDir); err == nil && m.Type == MountBind && !strings.HasPrefix(value, "/") {
			_, rest, _ := strings.Cut(value, ":")
			return m.Source + ":" + rest
		}
	case "security-opt":
		if opt, err := ParseSecurityOpt(value, baseDir); err == nil && opt.Seccomp != nil && *opt.Seccomp != SeccompUnconfined {
			return "seccomp=" + *opt.Seccomp
		}
	}
	return value
}
