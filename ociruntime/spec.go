// Package ociruntime builds OCI bundles with runtime-spec types and drives
// runc, the OCI runtime that runs every container.
package ociruntime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/renameio/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH a container gets when it sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultCapabilities is podman's default set for root containers.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// Capabilities are the capability names the kernel defines, in the order
// of their numbers (include/uapi/linux/capability.h).
var Capabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// AllCapabilities stands for every capability in CapAdd and CapDrop.
const AllCapabilities = "ALL"

// Device is a host device node a container gets, and what it may do with
// it (r, w, m).
type Device struct {
	specs.LinuxDevice
	Access string
}

// SpecConfig is what a container's OCI spec is made from.
type SpecConfig struct {
	Rootfs   string
	Args     []string
	Env      []string
	Cwd      string
	Hostname string
	UID, GID uint32
	// CgroupsPath must be absolute and below the unit's own control group,
	// or the container's processes escape the unit.
	CgroupsPath string
	// HostNetwork shares the host's network namespace; otherwise the
	// container gets its own with only loopback.
	HostNetwork bool
	// NetnsPath, if set, is the network namespace the container joins
	// (made and set up before runc creates it).
	NetnsPath string
	ReadOnly  bool
	// Mounts are the container's own (volumes, binds, tmpfs); one on the
	// destination of a default mount replaces it.
	Mounts []specs.Mount
	// ShmSize sizes /dev/shm in bytes (0: the default 64 MiB).
	ShmSize int64
	// ReadOnlyTmpfs, with ReadOnly, mounts tmpfs on /run, /tmp and
	// /var/tmp; without it /dev and /dev/shm are read-only too, as in
	// podman.
	ReadOnlyTmpfs bool
	// CapAdd and CapDrop change the default capabilities (names such as
	// CAP_NET_ADMIN, or AllCapabilities), as podman's --cap-add and
	// --cap-drop: ALL in CapDrop leaves only CapAdd; an added one wins
	// over the same dropped.
	CapAdd, CapDrop []string
	// Privileged gives every capability, every device the access of
	// Devices (which the caller fills with the host's), and no masked or
	// read-only paths; a privileged container has no seccomp filter.
	Privileged bool
	// Bounding is every capability a container can be given here
	// (BoundingSet): what Privileged and ALL give; nil is Capabilities.
	Bounding []string
	// NoNewPrivileges stops setuid programs and file capabilities from
	// raising a process's privileges.
	NoNewPrivileges bool
	// Devices are host devices made in the container's /dev.
	Devices []Device
	// Rlimits are the resource limits of the container's processes.
	Rlimits []specs.POSIXRlimit
	// Sysctl sets namespaced kernel parameters.
	Sysctl map[string]string
	// Annotations are passed to the runtime and read by the unit's
	// start step and by OCI hooks' when conditions.
	Annotations map[string]string
	// InitPath, if set, is an init on the host (catatonit) that runs as
	// the container's PID 1 and runs Args as its child.
	InitPath string
	// Terminal gives the process a terminal (runc create then hands it
	// over through a console socket).
	Terminal bool
}

// InitDest is where an init is mounted in a container: in /dev, runc's
// tmpfs, so nothing is written into the container's root.
const InitDest = "/dev/init"

// Spec builds the OCI runtime spec for c.
func Spec(c SpecConfig) *specs.Spec {
	cwd := c.Cwd
	if cwd == "" {
		cwd = "/"
	}
	env := c.Env
	if !hasEnv(env, "PATH") {
		env = append([]string{DefaultPath}, env...)
	}
	env = append(env, "container=ctr-unit")
	if c.Terminal && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	if c.Hostname != "" && !hasEnv(env, "HOSTNAME") {
		env = append(env, "HOSTNAME="+c.Hostname)
	}
	caps := capabilities(c)
	args := c.Args
	own := c.Mounts
	if c.InitPath != "" {
		args = append([]string{InitDest, "--"}, args...)
		own = append(slices.Clone(own), specs.Mount{Destination: InitDest, Type: "bind", Source: c.InitPath, Options: []string{"bind", "ro"}})
	}
	namespaces := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.MountNamespace},
	}
	if !c.HostNetwork {
		namespaces = append(namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.NetnsPath})
	}
	return &specs.Spec{
		Version:     specs.Version,
		Hostname:    c.Hostname,
		Annotations: c.Annotations,
		Root:        &specs.Root{Path: c.Rootfs, Readonly: c.ReadOnly},
		Process: &specs.Process{
			Args:     args,
			Env:      env,
			Terminal: c.Terminal,
			Cwd:      cwd,
			User:     specs.User{UID: c.UID, GID: c.GID},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: c.NoNewPrivileges,
			Rlimits:         c.Rlimits,
		},
		Mounts: withMounts(defaultMounts(c), own, c.ShmSize),
		Linux: &specs.Linux{
			CgroupsPath:   c.CgroupsPath,
			Namespaces:    namespaces,
			Resources:     &specs.LinuxResources{Devices: deviceRules(c)},
			Devices:       devices(c.Devices),
			Sysctl:        c.Sysctl,
			MaskedPaths:   maskedPaths(c),
			ReadonlyPaths: readonlyPaths(c),
		},
	}
}

// capabilities are the container's: podman's defaults changed by CapAdd
// and CapDrop, or all of them.
func capabilities(c SpecConfig) []string {
	all := c.Privileged || slices.Contains(c.CapAdd, AllCapabilities)
	var caps []string
	switch {
	case all && c.Bounding != nil:
		caps = slices.Clone(c.Bounding)
	case all:
		caps = slices.Clone(Capabilities)
	case !slices.Contains(c.CapDrop, AllCapabilities):
		caps = slices.Clone(defaultCapabilities)
	}
	caps = slices.DeleteFunc(caps, func(cp string) bool {
		return slices.Contains(c.CapDrop, cp) && !slices.Contains(c.CapAdd, cp)
	})
	for _, cp := range c.CapAdd {
		if cp != AllCapabilities && !slices.Contains(caps, cp) {
			caps = append(caps, cp)
		}
	}
	return caps
}

// deviceRules are the device cgroup's: nothing but runc's defaults and
// the container's own devices, or everything for a privileged container.
func deviceRules(c SpecConfig) []specs.LinuxDeviceCgroup {
	if c.Privileged {
		return []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	for _, d := range c.Devices {
		major, minor := d.Major, d.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: d.Access})
	}
	return rules
}

func devices(ds []Device) []specs.LinuxDevice {
	out := make([]specs.LinuxDevice, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.LinuxDevice)
	}
	return out
}

func maskedPaths(c SpecConfig) []string {
	if c.Privileged {
		return nil
	}
	return []string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	}
}

func readonlyPaths(c SpecConfig) []string {
	if c.Privileged {
		return nil
	}
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

func defaultMounts(c SpecConfig) []specs.Mount {
	sys := []string{"nosuid", "noexec", "nodev", "ro"}
	if c.Privileged {
		sys = sys[:3]
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sys},
	}
	tmp := specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}}
	switch {
	case !c.ReadOnly:
		mounts = append(mounts, tmp)
	case c.ReadOnlyTmpfs:
		// What a program expects to write to, as podman's --read-only.
		run, vartmp := tmp, tmp
		run.Destination, run.Options = "/run", []string{"nosuid", "nodev", "mode=755"}
		vartmp.Destination = "/var/tmp"
		mounts = append(mounts, run, tmp, vartmp)
	default:
		// Wholly read-only: /dev and /dev/shm too, and no tmpfs.
		for i, m := range mounts {
			if m.Destination == "/dev" || m.Destination == "/dev/shm" {
				mounts[i].Options = append(slices.Clone(m.Options), "ro")
			}
		}
	}
	return mounts
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if len(e) > len(key) && e[:len(key)] == key && e[len(key)] == '=' {
			return true
		}
	}
	return false
}

// WriteBundle writes spec as dir/config.json, atomically so that a runc
// started by systemd never reads half a file.
func WriteBundle(dir string, spec *specs.Spec) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create bundle %s: %w", dir, err)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode OCI spec: %w", err)
	}
	if err := renameio.WriteFile(filepath.Join(dir, "config.json"), data, 0o600, renameio.WithTempDir(dir)); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	return nil
}

// withMounts adds the container's own mounts to the defaults, replacing a
// default mounted on the same place, and sizes /dev/shm.
func withMounts(defaults, own []specs.Mount, shmSize int64) []specs.Mount {
	out := make([]specs.Mount, 0, len(defaults)+len(own))
	for _, m := range defaults {
		if slices.ContainsFunc(own, func(o specs.Mount) bool { return o.Destination == m.Destination }) {
			continue
		}
		if m.Destination == "/dev/shm" && shmSize > 0 {
			m.Options = slices.Clone(m.Options)
			for i, o := range m.Options {
				if strings.HasPrefix(o, "size=") {
					m.Options[i] = "size=" + strconv.FormatInt(shmSize, 10)
				}
			}
		}
		out = append(out, m)
	}
	return append(out, own...)
}

// SetRoot points an existing bundle's root at dir (an image container's
// layer, known only once it is mounted as the unit starts).
func SetRoot(bundle, dir string) error {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return fmt.Errorf("read bundle %s: %w", bundle, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("read bundle %s: %w", bundle, err)
	}
	if spec.Root == nil {
		spec.Root = &specs.Root{}
	}
	spec.Root.Path = dir
	return WriteBundle(bundle, &spec)
}
