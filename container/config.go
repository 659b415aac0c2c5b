// Package container is a container's definition: the record of what it is
// (Config) and of what changes over its life (State); the user's settings
// (Options) with the one table that turns command-line flags and
// definition-file keys into them (Settings); a parser for each kind of
// value; the one gate every definition passes (Build, which ends in
// Validate); and the pure builders of the container's systemd service and
// OCI spec. The store of records is an interface here (Store), kept apart
// from its implementation (package recordstore), as containerd keeps
// core/containers apart from core/metadata.
//
// Nothing here looks at the host: whether a rootfs exists, which cgroup
// controllers there are, whether a name is free is the supervisor's to
// check.
package container

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Config is a container's definition. It is written once, at create, and
// never changed afterwards (a definition file's container is the file's:
// its record follows the file); what changes lives in State.
type Config struct {
	// ID is the container's 64-hex-digit ID, as podman gives one; records
	// made before ctr-unit had IDs get one derived from their name and
	// creation time as they are read (DerivedID).
	ID      string   `json:"ID,omitempty"`
	Name    string   `json:"Name"`
	Unit    string   `json:"Unit"`
	Rootfs  string   `json:"Rootfs"`
	Command []string `json:"Command"`
	// Env holds KEY=VALUE entries, and, from a definition file, bare
	// names (NAME or PREFIX*) taken from the unit's environment as it
	// starts (ResolveEnv).
	Env     []string `json:"Env,omitempty"`
	WorkDir string   `json:"WorkingDir,omitempty"`
	// WorkDirMustExist: the working directory is the user's (not the
	// image's), so a missing one fails the start as in podman rather
	// than being made.
	WorkDirMustExist bool              `json:"WorkingDirMustExist,omitempty"`
	Labels           map[string]string `json:"Labels,omitempty"`
	// AutoRemove (--rm): the container is removed once it stops, by its
	// unit's last stop step.
	AutoRemove bool   `json:"AutoRemove,omitempty"`
	Hostname   string `json:"Hostname,omitempty"`
	// Network is host, none or bridge: a namespace of its own on
	// Networks, with Ports published.
	Network  string                `json:"Network"`
	Networks []network.Attach      `json:"Networks,omitempty"`
	Ports    []network.PortMapping `json:"PortMappings,omitempty"`
	// DNS, DNSSearch and DNSOptions go into its resolv.conf; NoResolvConf
	// (--dns none) leaves the image's. AddHosts go into its hosts.
	DNS          []netip.Addr        `json:"DNS,omitempty"`
	NoResolvConf bool                `json:"NoResolvConf,omitempty"`
	DNSSearch    []string            `json:"DNSSearch,omitempty"`
	DNSOptions   []string            `json:"DNSOptions,omitempty"`
	AddHosts     []network.HostEntry `json:"AddHosts,omitempty"`
	Restart      RestartPolicy       `json:"RestartPolicy"`
	StopSignal   Signal              `json:"StopSignal"`
	StopTimeout  Seconds             `json:"StopTimeout"`
	CreatedAt    time.Time           `json:"Created"`
	// Requires names the containers this one needs running (and starts
	// after).
	Requires []string `json:"Requires,omitempty"`
	// NoNetworkWait drops the unit's ordering after network-online.target.
	NoNetworkWait bool `json:"NoNetworkWait,omitempty"`
	// Limits systemd enforces on the unit; zero means none.
	MemoryMax    uint64 `json:"MemoryMax,omitempty"`
	CPUQuotaUSec uint64 `json:"CPUQuotaUSec,omitempty"`
	PidsLimit    uint64 `json:"PidsLimit,omitempty"`
	// Source is the definition file of a container defined in a file
	// (which then owns the definition); empty for ctr-unit create/run.
	Source string `json:"Source,omitempty"`
	// SourceStamp identifies the definition file as read and the ctr-unit
	// that read it (supervisor's sourceStamp): while both are the same,
	// the record follows the file without reading it again.
	SourceStamp string `json:"SourceStamp,omitempty"`
	// Extra are the [Unit] and [Service] settings of the definition file,
	// passed to the unit as written.
	Extra []UnitSetting `json:"UnitSettings,omitempty"`
	// Image is the image as the user named it, ImageID what it resolved
	// to; LayerID names the container's read-write layer (and its record)
	// in the image store, made with StorageDriver. Empty for --rootfs.
	Image   string `json:"Image,omitempty"`
	ImageID string `json:"ImageID,omitempty"`
	// ImageName is the fully qualified name the image was pulled or
	// found by, which auto-update pulls again; Pull and AuthFile are
	// how (--pull, --authfile).
	ImageName     string `json:"ImageName,omitempty"`
	Pull          string `json:"Pull,omitempty"`
	AuthFile      string `json:"AuthFile,omitempty"`
	LayerID       string `json:"LayerID,omitempty"`
	StorageDriver string `json:"StorageDriver,omitempty"`
	// User is as given (or from the image); UID and GID what it means.
	User    string  `json:"User,omitempty"`
	UID     uint32  `json:"UID,omitempty"`
	GID     uint32  `json:"GID,omitempty"`
	Mounts  []Mount `json:"Mounts,omitempty"`
	ShmSize int64   `json:"ShmSize,omitempty"`
	// Security and privileges (see Options).
	CapAdd          []string `json:"CapAdd,omitempty"`
	CapDrop         []string `json:"CapDrop,omitempty"`
	Privileged      bool     `json:"Privileged,omitempty"`
	ReadOnly        bool     `json:"ReadonlyRootfs,omitempty"`
	ReadOnlyTmpfs   bool     `json:"ReadOnlyTmpfs,omitempty"`
	NoNewPrivileges bool     `json:"NoNewPrivileges,omitempty"`
	// SeccompProfile is SeccompDefault (""), SeccompUnconfined or the
	// absolute path of a profile file, read at every start.
	SeccompProfile string            `json:"SeccompProfile,omitempty"`
	Devices        []Device          `json:"Devices,omitempty"`
	Ulimits        []Ulimit          `json:"Ulimits,omitempty"`
	Sysctls        map[string]string `json:"Sysctls,omitempty"`
	// Timezone is a zone name, or "local" for the host's; empty: the
	// image's.
	Timezone string `json:"Timezone,omitempty"`
	// EnvHost passes the environment of whoever writes the bundle (the
	// unit's start, or ctr-unit's CLI) under the container's own.
	EnvHost bool `json:"EnvHost,omitempty"`
	// Health is the container's healthcheck; nil if it has none.
	Health *healthcheck.Config `json:"Healthcheck,omitempty"`
	// Terminal: the container's process has a terminal, which only an
	// attached run can hold (nothing of ctr-unit stays to hold it
	// otherwise); Interactive: it reads the attached run's input.
	Terminal    bool `json:"Tty,omitempty"`
	Interactive bool `json:"OpenStdin,omitempty"`
	// Init: an init (InitPath on the host) is the container's PID 1.
	Init     bool   `json:"Init,omitempty"`
	InitPath string `json:"InitPath,omitempty"`
	// Annotations go into the OCI spec; hooks select on them.
	Annotations map[string]string `json:"Annotations,omitempty"`
	// HooksDirs replace the default directories of OCI hook files.
	HooksDirs []string `json:"HooksDirs,omitempty"`
	// CreateCommand is create's options and arguments, as podman keeps
	// them, for generate systemd --new.
	CreateCommand []string `json:"CreateCommand,omitempty"`
}

// NewID is a new container's ID: 32 random bytes in hex, as podman's.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// DerivedID is the ID of a container recorded before ctr-unit gave IDs:
// derived from what never changes in its record, so it is the same at
// every read.
func DerivedID(name string, created time.Time) string {
	sum := sha256.Sum256([]byte(name + "\x00" + created.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:])
}

// ShortID is the 12-digit form podman's ps shows.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// UnitSetting is one unit-file setting.
type UnitSetting struct {
	Section string `json:"Section"`
	Name    string `json:"Name"`
	Value   string `json:"Value"`
}

// State is the part of a container's record that changes over its life.
// The live status comes from systemd, not from here.
type State struct {
	// StartedAt is when ctr-unit last started the container.
	StartedAt time.Time `json:"StartedAt,omitzero"`
	// StoppedByUser keeps an unless-stopped container down at boot.
	StoppedByUser bool `json:"StoppedByUser"`
	// RestartCount is systemd's NRestarts as last seen, kept because
	// systemd forgets it once the unit is gone.
	RestartCount uint32 `json:"RestartCount"`
	// BootID is the boot the container was last started in: state from
	// an earlier boot is stale.
	BootID string `json:"BootID,omitempty"`
}

// Exit is how the container's last run ended (written by the unit's stop
// step, see unitstep).
type Exit = unitstep.Exit

// Mount types of Mount.Type.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one of a container's own mounts (beyond /proc, /dev, ...).
type Mount struct {
	Type string `json:"Type"`
	// Name is the volume's, for named volumes.
	Name string `json:"Name,omitempty"`
	// Source is the host directory (bind, and a volume's data).
	Source      string   `json:"Source,omitempty"`
	Destination string   `json:"Destination"`
	ReadOnly    bool     `json:"ReadOnly,omitempty"`
	Options     []string `json:"Options,omitempty"`
}

// Signal is a signal stored by name.
type Signal syscall.Signal

// MarshalJSON writes the signal's name.
func (s Signal) MarshalJSON() ([]byte, error) {
	return json.Marshal(unix.SignalName(syscall.Signal(s)))
}

// UnmarshalJSON reads a signal name or number.
func (s *Signal) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	sig, err := ParseSignal(name)
	if err != nil {
		return err
	}
	*s = Signal(sig)
	return nil
}

// Seconds is a duration stored as whole seconds, as podman shows it.
type Seconds uint

// Duration converts s.
func (s Seconds) Duration() time.Duration { return time.Duration(s) * time.Second }
