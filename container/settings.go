package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/pullpolicy"
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
	// ImageName is the fully qualified name the image was pulled or
	// found by (ctr-unit-image pull's answer); "" until then.
	ImageName string
	// Pull is --pull (Pull=): when the image is pulled; "" is missing.
	Pull pullpolicy.Policy
	// AuthFile is --authfile (AuthFile=): the registry credentials a
	// pull of the image uses.
	AuthFile string
	Command  []string
	// Entrypoint is nil when not given, empty to clear the image's. It
	// goes before Command.
	Entrypoint []string
	Env        []string
	// Environ gives the environment a bare --env NAME is taken from (the
	// caller's); nil keeps bare names, for the unit to resolve as it
	// starts (a definition file's Environment=NAME).
	Environ func() []string
	WorkDir string
	// WorkDirFromImage: WorkDir is the image's, made if it is missing.
	WorkDirFromImage bool
	// Labels are --label's; FileLabels --label-file's, which --label
	// overrides.
	Labels, FileLabels map[string]string
	// AutoRemove is --rm.
	AutoRemove bool
	// EnvFromFiles is what --env-file (EnvironmentFile=) read; Env
	// overrides it.
	EnvFromFiles  []string
	Hostname      string
	Net           NetOptions
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
	// Timezone is the container's time zone: a zone name, or "local"
	// for the host's.
	Timezone string
	// EnvHost passes the environment of the process that writes the
	// container's bundle (the unit's, for systemd's starts) under the
	// container's own.
	EnvHost bool
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
	// Terminal gives the container's process a terminal (-t), which an
	// attached run holds; Interactive passes it the caller's input (-i).
	Terminal    bool
	Interactive bool
	// Init runs an init (catatonit) as the container's PID 1; InitPath
	// is the host's binary (default: found at create).
	Init     bool
	InitPath string
	// Annotations are the OCI spec's, KEY=VALUE (hooks select on them).
	Annotations []string
	// HooksDirs replace the default OCI hook directories.
	HooksDirs []string
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
	// OldKey is an older spelling of Key that files may still use.
	OldKey string
	// Bool: a flag given without a value means true.
	Bool bool
	// List: the flag repeats, and so do the key's lines, each adding;
	// an empty assignment (KEY=) empties the list. Otherwise the key's
	// last line counts, and an empty one means the default.
	List bool
	// Read is how a key's value is read, as quadlet reads that key.
	Read Reading
	// KeepEmpty: an empty value of the key is given to the flag, as
	// quadlet passes Entrypoint= ("" clears the image's).
	KeepEmpty bool
	// FromKey turns one value of a key (as Read gives them) into the
	// flag's values; nil passes it as it is.
	FromKey func(value string) ([]string, error)
	// Set parses one flag value into o.
	Set    func(o *Options, value string) error
	Hidden bool
}

// Reading is how a definition file's value of a key is read: as podman's
// quadlet reads that key (its Lookup functions), so that a file written
// for quadlet means the same. Every value then has its specifiers and $
// read as systemd reads them in the ExecStart= quadlet writes (package
// definition).
type Reading int

const (
	// ReadUnquoted is the value with one pair of double quotes around
	// it removed; escapes stay (quadlet's Lookup).
	ReadUnquoted Reading = iota
	// ReadRaw is the value as written (LookupAll).
	ReadRaw
	// ReadWords splits at blanks; quotes group and go; backslashes stay
	// (LookupAllStrv).
	ReadWords
	// ReadArgs splits as systemd splits a command line: quotes group
	// and go, C escapes are decoded (LookupAllArgs, LookupLastArgs).
	ReadArgs
	// ReadKeyVal is ReadArgs with each word KEY=VALUE: a later KEY
	// replaces an earlier one, and they come sorted by KEY
	// (LookupAllKeyVal).
	ReadKeyVal
	// ReadBool is a boolean: 1, yes, true, on or 0, no, false, off, in
	// any case (quadlet's LookupBoolean, which reads anything else as
	// false, where systemd reads y and t as true: those are refused).
	ReadBool
)

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
	KeyLabel                 = "Label"
	KeyWorkingDir            = "WorkingDir"
	KeyHostName              = "HostName"
	KeyNetwork               = "Network"
	KeyPublishPort           = "PublishPort"
	KeyIP                    = "IP"
	KeyIP6                   = "IP6"
	KeyNetworkAlias          = "NetworkAlias"
	KeyDNS                   = "DNS"
	KeyDNSSearch             = "DNSSearch"
	KeyDNSOption             = "DNSOption"
	KeyAddHost               = "AddHost"
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
	KeyNoNewPrivileges       = "NoNewPrivileges"
	KeySeccompProfile        = "SeccompProfile"
	KeyAddDevice             = "AddDevice"
	KeyUlimit                = "Ulimit"
	KeySysctl                = "Sysctl"
	KeyContainerName         = "ContainerName"
	KeyMount                 = "Mount"
	KeyTimezone              = "Timezone"
	KeyEnvironmentHost       = "EnvironmentHost"
	KeyLogDriver             = "LogDriver"
	KeyVolatileTmp           = "VolatileTmp"
	KeyEnvironmentFile       = "EnvironmentFile"
	KeyRunInit               = "RunInit"
	KeyAnnotation            = "Annotation"
	KeyPull                  = "Pull"
	KeyAuthFile              = "AuthFile"
	KeyAutoUpdate            = "AutoUpdate"
)

// LabelAutoUpdate is podman's label that asks auto-update to update a
// container: registry (a newer image under its name in the registry).
const LabelAutoUpdate = "io.containers.autoupdate"

// Settings is every container setting. run and create bind their flags
// from it, and definition files read their keys through it.
var Settings = []Setting{
	{Flag: "name", Usage: "container name (default: an adjective_noun made up and printed)", Set: func(o *Options, v string) error {
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
	{Key: KeyPull, Flag: "pull", Usage: "when to pull the image: always, missing, newer or never (default missing)", Set: func(o *Options, v string) (err error) {
		o.Pull, err = pullpolicy.Parse(v)
		return err
	}},
	{Key: KeyAuthFile, Flag: "authfile", Usage: "registry credentials (containers-auth.json) for pulling the image", Set: func(o *Options, v string) (err error) {
		o.AuthFile, err = hostPath(v, o.BaseDir)
		return err
	}},
	{Key: KeyExec, Arg: "a COMMAND (after the IMAGE, or after --)", Read: ReadArgs, Set: func(o *Options, v string) error { o.Command = append(o.Command, v); return nil }},
	{Key: KeyRestart, Flag: "restart", Usage: "restart policy: no, on-failure[:N], always, unless-stopped (default no)", Set: func(o *Options, v string) (err error) {
		o.Restart, err = ParseRestartPolicy(v)
		return err
	}},
	{Key: KeyEnvironment, Flag: "env", Short: "e", List: true, Read: ReadKeyVal, Usage: "set an environment variable: KEY=VALUE, or NAME (or PREFIX*) to pass the caller's", Set: func(o *Options, v string) error {
		e, err := ParseEnv(v)
		if err != nil {
			return err
		}
		if o.Environ != nil && !strings.Contains(e, "=") {
			o.Env = append(o.Env, ResolveEnv([]string{e}, o.Environ())...)
			return nil
		}
		o.Env = append(o.Env, e)
		return nil
	}},
	{Key: KeyLabel, Flag: "label", Short: "l", List: true, Read: ReadKeyVal, Usage: "set a label (KEY=VALUE, or KEY for an empty value)", Set: func(o *Options, v string) error {
		k, val, err := ParseLabel(v)
		if err == nil {
			o.Labels = setLabel(o.Labels, k, val)
		}
		return err
	}},
	{Key: KeyAutoUpdate, Set: func(o *Options, v string) error {
		// As quadlet: the key is podman's label.
		if v != "registry" {
			return fmt.Errorf("auto-update policy %q: use registry", v)
		}
		o.Labels = setLabel(o.Labels, LabelAutoUpdate, v)
		return nil
	}},
	{Flag: "label-file", List: true, Usage: "read labels from a file of KEY=VALUE lines (# comments)", Set: func(o *Options, v string) error {
		path, err := hostPath(v, o.BaseDir)
		if err != nil {
			return err
		}
		labels, err := ReadLabelFile(path)
		for k, val := range labels {
			o.FileLabels = setLabel(o.FileLabels, k, val)
		}
		return err
	}},
	{Flag: "rm", Bool: true, Usage: "remove the container once it stops, however it stops", Set: func(o *Options, v string) (err error) {
		o.AutoRemove, err = ParseBool(v)
		return err
	}},
	{Key: KeyEnvironmentFile, Flag: "env-file", List: true, Read: ReadArgs, Usage: "read environment variables from a file of KEY=VALUE lines (repeatable; --env overrides)", Set: func(o *Options, v string) error {
		path, err := hostPath(v, o.BaseDir)
		if err != nil {
			return err
		}
		env, err := ParseEnvFile(path, os.LookupEnv)
		o.EnvFromFiles = append(o.EnvFromFiles, env...)
		return err
	}},
	{Key: KeyWorkingDir, Flag: "workdir", Short: "w", Usage: "working directory inside the container", Set: func(o *Options, v string) (err error) {
		o.WorkDir, err = ParsePath(v)
		return err
	}},
	{Key: KeyEntrypoint, Flag: "entrypoint", KeepEmpty: true, Usage: `replace the image's ENTRYPOINT, and drop its CMD: PATH or '["PROGRAM","ARG"]' ("" clears it)`, Set: func(o *Options, v string) (err error) {
		o.Entrypoint, err = ParseEntrypoint(v)
		return err
	}},
	{Key: KeyHostName, OldKey: "Hostname", Flag: "hostname", Usage: "container host name (default: the host's with host networking, else the container's name)", Set: func(o *Options, v string) error {
		o.Hostname = v
		return nil
	}},
	{Key: KeyNetwork, Flag: "network", List: true, Read: ReadRaw, Usage: "network: host (the default), none, bridge (the default network) or network NAME[:ip=IP,alias=NAME,mac=MAC][,NAME...] (repeatable)",
		FromKey: func(v string) ([]string, error) {
			if name, ok := strings.CutSuffix(v, ".network"); ok && name != "" && !strings.Contains(name, ":") {
				return nil, fmt.Errorf("ctr-unit has no .network units; create the network (ctr-unit network create %s) and name it: Network=%s", name, name)
			}
			return []string{v}, nil
		},
		Set: func(o *Options, v string) error {
			_, err := ParseNetwork(v)
			o.Net.Networks = append(o.Net.Networks, v)
			return err
		}},
	{Key: KeyPublishPort, Flag: "publish", Short: "p", List: true, Read: ReadWords, Usage: "publish a container's port on the host: [IP:][HOSTPORT:]CTRPORT[/tcp|udp] (repeatable; implies --network bridge unless a network is given)", Set: func(o *Options, v string) error {
		p, err := network.ParsePublish(v)
		o.Net.Ports = append(o.Net.Ports, p)
		return err
	}},
	// Quadlet has no key for -P (podman-systemd.unit(5)): flag only.
	{Flag: "publish-all", Short: "P", Bool: true, Usage: "publish every port the image EXPOSEs on a free host port (implies --network bridge unless a network is given)", Set: func(o *Options, v string) (err error) {
		o.Net.PublishAll, err = ParseBool(v)
		return err
	}},
	{Key: KeyIP, Flag: "ip", Usage: "the container's IPv4 address on its network", Set: func(o *Options, v string) (err error) {
		o.Net.IP, err = parseIPFamily(v, false)
		return err
	}},
	{Key: KeyIP6, Flag: "ip6", Usage: "the container's IPv6 address on its network", Set: func(o *Options, v string) (err error) {
		o.Net.IP6, err = parseIPFamily(v, true)
		return err
	}},
	{Flag: "mac-address", Usage: "the container's MAC address on its network", Set: func(o *Options, v string) (err error) {
		o.Net.MAC, err = network.ParseMAC(v)
		return err
	}},
	{Key: KeyNetworkAlias, Flag: "network-alias", List: true, Read: ReadWords, Usage: "another name the container answers to on its networks (repeatable)", Set: func(o *Options, v string) error {
		o.Net.Aliases = append(o.Net.Aliases, v)
		if err := network.ValidateHostname(v); err != nil {
			return fmt.Errorf("network alias %q: %w", v, err)
		}
		return nil
	}},
	{Key: KeyDNS, Flag: "dns", List: true, Read: ReadRaw, Usage: "DNS server for the container's /etc/resolv.conf, or none for no resolv.conf of ctr-unit's (repeatable)", Set: func(o *Options, v string) error {
		o.Net.DNS = append(o.Net.DNS, v)
		_, _, err := network.ParseDNS([]string{v})
		return err
	}},
	{Key: KeyDNSSearch, Flag: "dns-search", List: true, Read: ReadRaw, Usage: "DNS search domain of the container (repeatable; . for none)", Set: func(o *Options, v string) error {
		o.Net.DNSSearch = append(o.Net.DNSSearch, v)
		_, err := network.ParseDNSSearch([]string{v})
		return err
	}},
	{Key: KeyDNSOption, Flag: "dns-option", List: true, Read: ReadRaw, Usage: "resolver option for the container's /etc/resolv.conf, e.g. ndots:2 (repeatable)", Set: func(o *Options, v string) error {
		if v == "" || strings.ContainsAny(v, " \t\n") {
			return fmt.Errorf("DNS option %q: want one word, e.g. ndots:2", v)
		}
		o.Net.DNSOptions = append(o.Net.DNSOptions, v)
		return nil
	}},
	{Key: KeyAddHost, Flag: "add-host", List: true, Read: ReadWords, Usage: "add NAME[;NAME]:IP to the container's /etc/hosts (repeatable)", Set: func(o *Options, v string) error {
		e, err := network.ParseAddHost(v)
		o.Net.AddHosts = append(o.Net.AddHosts, e)
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
	{Key: KeyRequires, Flag: "requires", List: true, Read: ReadWords, Usage: "container that must run before this one (repeatable)", Set: func(o *Options, v string) error {
		o.Requires = append(o.Requires, v)
		return ValidateName(v)
	}},
	{Key: KeyWaitNetwork, Flag: "no-network-wait", Bool: true, Read: ReadBool, Usage: "do not order the container's unit after network-online.target at boot",
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
	{Key: KeyVolume, Flag: "volume", Short: "v", List: true, Read: ReadRaw, Usage: "mount HOSTDIR:CTRDIR[:ro] or named volume NAME:CTRDIR[:ro] (repeatable)",
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
	{Key: KeyTmpfs, Flag: "tmpfs", List: true, Read: ReadRaw, Usage: "mount a tmpfs at CTRDIR[:OPTIONS] (repeatable)", Set: func(o *Options, v string) error {
		m, err := ParseTmpfs(v)
		if err == nil {
			err = o.mountedAlready(m.Destination)
		}
		o.Tmpfs = append(o.Tmpfs, m)
		return err
	}},
	{Key: KeyShmSize, Flag: "shm-size", Usage: "size of /dev/shm (e.g. 64m)", Set: func(o *Options, v string) (err error) {
		o.ShmSize, err = ParseSize(v)
		return err
	}},
	{Key: KeyAddCapability, Flag: "cap-add", List: true, Read: ReadWords, Usage: "add a capability (NET_ADMIN, CAP_SYS_TIME, or ALL) to the default ones (repeatable)", Set: func(o *Options, v string) error {
		c, err := ParseCapability(v)
		o.CapAdd = append(o.CapAdd, c)
		return err
	}},
	{Key: KeyDropCapability, Flag: "cap-drop", List: true, Read: ReadWords, Usage: "drop a capability (NET_RAW, or ALL) from the default ones (repeatable)", Set: func(o *Options, v string) error {
		c, err := ParseCapability(v)
		o.CapDrop = append(o.CapDrop, c)
		return err
	}},
	{Flag: "privileged", Bool: true, Usage: "give the container every capability and the host's devices, no seccomp filter, and /proc and /sys unmasked", Set: func(o *Options, v string) (err error) {
		o.Privileged, err = ParseBool(v)
		return err
	}},
	{Key: KeyReadOnly, Flag: "read-only", Bool: true, Read: ReadBool, Usage: "mount the container's root file system read-only", Set: func(o *Options, v string) (err error) {
		o.ReadOnly, err = ParseBool(v)
		return err
	}},
	{Key: KeyReadOnlyTmpfs, Flag: "read-only-tmpfs", Bool: true, Read: ReadBool, Usage: "with --read-only, mount tmpfs on /run, /tmp and /var/tmp; false leaves /dev read-only too (default true)", Set: func(o *Options, v string) error {
		on, err := ParseBool(v)
		o.ReadOnlyTmpfs = &on
		return err
	}},
	{Flag: "security-opt", List: true, Usage: "seccomp=unconfined, seccomp=PROFILE.json (the default is podman's profile), or no-new-privileges (repeatable)", Set: setSecurityOpt},
	// quadlet's SeccompProfile= and NoNewPrivileges= are --security-opt's.
	{Key: KeySeccompProfile, FromKey: func(v string) ([]string, error) { return []string{"seccomp=" + v}, nil }, Set: setSecurityOpt},
	{Key: KeyNoNewPrivileges, Read: ReadBool, FromKey: func(v string) ([]string, error) { return []string{"no-new-privileges=" + v}, nil }, Set: setSecurityOpt},
	{Key: KeyAddDevice, Flag: "device", List: true, Read: ReadWords, Usage: "give the container a host device: HOST[:CONTAINER][:PERMISSIONS] (rwm) (repeatable)", Set: func(o *Options, v string) error {
		d, err := ParseDevice(v)
		o.Devices = append(o.Devices, d)
		return err
	}},
	{Key: KeyUlimit, Flag: "ulimit", List: true, Read: ReadRaw, Usage: "resource limit NAME=SOFT[:HARD], e.g. nofile=1024:4096 (-1: unlimited) (repeatable)", Set: func(o *Options, v string) error {
		u, err := ParseUlimit(v)
		// A later value of one limit replaces the earlier.
		o.Ulimits = append(slices.DeleteFunc(o.Ulimits, func(x Ulimit) bool { return x.Name == u.Name }), u)
		return err
	}},
	{Key: KeySysctl, Flag: "sysctl", List: true, Read: ReadWords, Usage: "set a namespaced kernel parameter NAME=VALUE (repeatable)", Set: func(o *Options, v string) error {
		name, value, err := ParseSysctl(v)
		if err == nil {
			if o.Sysctls == nil {
				o.Sysctls = map[string]string{}
			}
			o.Sysctls[name] = value
		}
		return err
	}},
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
	// The file's name names the container; quadlet's ContainerName= may
	// only say the same (ContainerName=%N does).
	{Key: KeyContainerName, Set: func(o *Options, v string) error {
		if v != o.Name {
			return fmt.Errorf("the container is named after its file (%s); to name it %s, name the file %s.container", o.Name, v, v)
		}
		return nil
	}},
	{Key: KeyMount, Flag: "mount", List: true, Read: ReadArgs, Usage: "mount type=bind,source=HOSTDIR,destination=CTRDIR[,ro], type=volume,source=NAME,... or type=tmpfs,destination=CTRDIR[,tmpfs-size=SIZE][,tmpfs-mode=MODE] (repeatable)",
		FromKey: func(v string) ([]string, error) {
			if src := mountSource(v); strings.HasSuffix(src, ".volume") && !strings.HasPrefix(src, "/") {
				return nil, fmt.Errorf("ctr-unit has no .volume units; name the volume instead (source=NAME), which is made on first use or with ctr-unit volume create")
			}
			return []string{v}, nil
		},
		Set: func(o *Options, v string) error {
			m, err := ParseMount(v, o.BaseDir)
			if err == nil {
				err = o.mountedAlready(m.Destination)
			}
			if m.Type == MountTmpfs {
				o.Tmpfs = append(o.Tmpfs, m)
			} else {
				o.Volumes = append(o.Volumes, m)
			}
			return err
		}},
	{Key: KeyTimezone, Flag: "tz", Usage: "time zone of the container: a zone name (Europe/Paris) or local (the host's)", Set: func(o *Options, v string) (err error) {
		o.Timezone, err = ParseTimezone(v)
		return err
	}},
	{Key: KeyEnvironmentHost, Flag: "env-host", Bool: true, Read: ReadBool, Usage: "pass the environment of the unit (of ctr-unit for a transient unit) to the container, under its own", Set: func(o *Options, v string) (err error) {
		o.EnvHost, err = ParseBool(v)
		return err
	}},
	// Output always goes to the journal, through the unit.
	{Key: KeyLogDriver, Flag: "log-driver", Usage: "where the container's output goes: journald (the only one)", Set: func(o *Options, v string) error {
		if v != "journald" {
			return fmt.Errorf("log driver %q: the container's output goes to the journal (journald)", v)
		}
		return nil
	}},
	// quadlet's VolatileTmp=yes is --tmpfs /tmp:rw,size=512M,mode=1777.
	{Key: KeyVolatileTmp, Read: ReadBool, Set: func(o *Options, v string) error {
		if on, err := ParseBool(v); err != nil || !on {
			return err
		}
		m, err := ParseTmpfs("/tmp:rw,size=512M,mode=1777")
		if err == nil {
			err = o.mountedAlready(m.Destination)
		}
		o.Tmpfs = append(o.Tmpfs, m)
		return err
	}},
	{Flag: "tty", Short: "t", Bool: true, Usage: "give the container a terminal, held by the attached run (run -it)", Set: func(o *Options, v string) (err error) {
		o.Terminal, err = ParseBool(v)
		return err
	}},
	{Flag: "interactive", Short: "i", Bool: true, Usage: "pass the attached run's input to the container", Set: func(o *Options, v string) (err error) {
		o.Interactive, err = ParseBool(v)
		return err
	}},
	{Key: KeyRunInit, Flag: "init", Bool: true, Read: ReadBool, Usage: "run an init (catatonit) as PID 1 that reaps zombies and passes signals on", Set: func(o *Options, v string) (err error) {
		o.Init, err = ParseBool(v)
		return err
	}},
	{Flag: "init-path", Usage: "the init binary on the host for --init (default: catatonit, found in $PATH or /usr/libexec/podman)", Set: func(o *Options, v string) (err error) {
		o.InitPath, err = hostPath(v, o.BaseDir)
		return err
	}},
	{Key: KeyAnnotation, Flag: "annotation", List: true, Read: ReadKeyVal, Usage: "add an annotation KEY=VALUE to the OCI spec (repeatable; hooks select on them)", Set: func(o *Options, v string) error {
		k, val, err := ParseAnnotation(v)
		if err == nil {
			o.Annotations = append(o.Annotations, k+"="+val)
		}
		return err
	}},
	{Flag: "unit", Hidden: true, Usage: "the unit file that runs the container (set by generate systemd --new units)", Set: func(o *Options, v string) (err error) {
		o.Unit, err = ParseUnitName(v)
		return err
	}},
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

func setLabel(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
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

// KeySetting finds the setting of a [Container] key, by its name or its
// older spelling.
func KeySetting(key string) (Setting, bool) {
	for _, s := range Settings {
		if s.Key != "" && (s.Key == key || s.OldKey == key) {
			return s, true
		}
	}
	return Setting{}, false
}

// Canonical is a flag value as it must be written to create the same
// container from another directory (generate systemd --new): relative
// host paths made absolute.
func Canonical(flag, value, baseDir string) string {
	switch flag {
	case "rootfs", "env-file", "init-path":
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
	case "mount":
		if m, err := ParseMount(value, baseDir); err == nil && m.Type == MountBind {
			return canonicalMount(value, m.Source)
		}
	}
	return value
}
