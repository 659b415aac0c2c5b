// Package supervisor carries out a container's lifecycle: its records, its
// state machine, and the systemd and runc calls that start, stop, pause and
// remove it. systemd is the monitor and the only restart authority.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
)

// Systemd is what the supervisor needs of systemd; *units.Client has it.
type Systemd interface {
	StartTransient(ctx context.Context, unit string, props []sd.Property, aux ...sd.PropertyCollection) error
	Stop(ctx context.Context, unit string) error
	Kill(ctx context.Context, unit string, whom units.Whom, sig syscall.Signal) error
	ResetFailed(ctx context.Context, unit string) error
	Status(ctx context.Context, unit string) (units.Status, error)
	ActiveStates(ctx context.Context, unitNames []string) (map[string]units.Status, error)
	NRestarts(ctx context.Context, unit string) (uint32, error)
	WaitInactive(ctx context.Context, unit string) error
	Freeze(ctx context.Context, unit string) error
	Thaw(ctx context.Context, unit string) error
	// For units with files (unitkind.go).
	Start(ctx context.Context, unit string) error
	Reload(ctx context.Context) error
	Disable(ctx context.Context, unitNames ...string) error
	DropInPaths(ctx context.Context, unit string) ([]string, error)
	TemplateInstalled(ctx context.Context) (bool, error)
}

// Network modes.
const (
	NetworkHost = "host"
	NetworkNone = "none"
)

// Options configure a Supervisor.
type Options struct {
	Paths Paths
	// Runc is the runc binary ("" finds it in $PATH).
	Runc string
	// Self is the ctr-unit binary the units call back for their steps.
	Self string
	// Step is ctr-unit-step, which does the steps of every start and stop
	// in less time; "" if it is not installed (Self does them all).
	Step string
	// Connect opens the connection to systemd on first use.
	Connect func(context.Context) (Systemd, error)
	// UnitDir receives the drop-ins of template instances
	// (DefaultUnitDir if empty).
	UnitDir string
	// DefinitionDirs hold NAME.container files, earlier ones first
	// (definition.DefaultDirs() if nil).
	DefinitionDirs []string
	// StorageDriver is the image store's driver ("" detects).
	StorageDriver string
}

// Supervisor runs containers as systemd services.
type Supervisor struct {
	paths   Paths
	store   *Store
	runcBin string
	self    string
	steps   steps
	connect func(context.Context) (Systemd, error)
	systemd Systemd
	unitDir string
	defDirs []string
	// storageDriver is the image store's driver ("" detects).
	storageDriver string
	// cgroupMgr is made on first use: most commands never touch cgroups.
	cgroupMgr *cgroupmgr.Manager
}

// New opens the state directory.
func New(o Options) (*Supervisor, error) {
	store, err := OpenStore(o.Paths.StateDir)
	if err != nil {
		return nil, err
	}
	sv := &Supervisor{paths: o.Paths, store: store, runcBin: o.Runc, self: o.Self, connect: o.Connect, unitDir: o.UnitDir, defDirs: o.DefinitionDirs}
	sv.steps = newSteps(o.Self, o.Step, o.Paths, absRuntime(o.Runc))
	sv.storageDriver = o.StorageDriver
	if sv.unitDir == "" {
		sv.unitDir = DefaultUnitDir
	}
	if sv.defDirs == nil {
		sv.defDirs = definition.DefaultDirs()
	}
	return sv, nil
}

// absRuntime is the runc a unit's steps are told to use: the user's, as an
// absolute path, since a unit runs elsewhere ("" for runc in $PATH).
func absRuntime(runc string) string {
	if runc == "" {
		return ""
	}
	if p, err := exec.LookPath(runc); err == nil {
		runc = p
	}
	if p, err := filepath.Abs(runc); err == nil {
		return p
	}
	return runc
}

func (s *Supervisor) sd(ctx context.Context) (Systemd, error) {
	if s.systemd == nil {
		c, err := s.connect(ctx)
		if err != nil {
			return nil, err
		}
		s.systemd = c
	}
	return s.systemd, nil
}

func (s *Supervisor) runc() (*ociruntime.Runc, error) {
	return ociruntime.FindRunc(s.runcBin, s.paths.runcRoot())
}

// CreateOptions are the user's settings for a new container.
type CreateOptions struct {
	Name        string
	Rootfs      string
	Command     []string
	Env         []string
	WorkDir     string
	Hostname    string
	Network     string
	Restart     string
	StopSignal  string
	StopTimeout *uint
	// Template asks for an instance of ctr@.service (if installed), which
	// systemctl and boot can manage; otherwise the unit is transient.
	Template bool
	// Requires names containers this one needs running.
	Requires      []string
	NoNetworkWait bool
	MemoryMax     uint64
	CPUQuotaUSec  uint64
	PidsLimit     uint64
	// Image runs the container from an image (instead of Rootfs); its
	// config supplies what the options leave unset. ImageID is filled in
	// by Create.
	Image   string
	ImageID string
	User    string
	// Volumes are -v specs, Tmpfs --tmpfs specs (see image.go).
	Volumes []string
	Tmpfs   []string
	ShmSize string
	// Entrypoint is --entrypoint, parsed (ParseEntrypoint): nil when not
	// given, empty to clear the image's. It goes before Command.
	Entrypoint []string
	// Health are the healthcheck options.
	Health healthcheck.Options
	// CreateCommand is the create command's options and arguments as the
	// user gave them, kept for generate systemd --new.
	CreateCommand []string
	// Unit, if set, is the unit that runs the container: the unit file
	// of generate systemd --new, which creates its container itself.
	Unit string
	// Replace removes a container of the same name first, as rm -f does.
	Replace bool
}

// ErrInvalid marks bad user input.
var ErrInvalid = errors.New("invalid container settings")

// newConfig validates o and turns it into a container definition.
func newConfig(o CreateOptions, now time.Time) (*Config, error) {
	if err := units.ValidateName(o.Name); err != nil {
		return nil, err
	}
	policy, err := ParseRestartPolicy(o.Restart)
	if err != nil {
		return nil, err
	}
	if o.Image == "" { // no image config: the entrypoint just goes first (imageDefaults did images')
		o.Command = commandLine(o.Entrypoint, o.Command, nil, nil)
	}
	cfg := &Config{
		Name:        o.Name,
		Unit:        units.TransientService(o.Name),
		Command:     o.Command,
		Env:         o.Env,
		WorkDir:     o.WorkDir,
		Hostname:    o.Hostname,
		Network:     o.Network,
		Restart:     policy,
		StopSignal:  Signal(DefaultStopSignal),
		StopTimeout: Seconds(DefaultStopTimeout / time.Second),
		CreatedAt:   now,
		Requires:    o.Requires,

		NoNetworkWait: o.NoNetworkWait,
		MemoryMax:     o.MemoryMax,
		CPUQuotaUSec:  o.CPUQuotaUSec,
		PidsLimit:     o.PidsLimit,
		CreateCommand: o.CreateCommand,
	}
	if o.Unit != "" {
		if err := checkUnitName(o.Unit); err != nil {
			return nil, err
		}
		cfg.Unit = o.Unit
	}
	if cfg.Health, err = healthcheck.Parse(o.Health); err != nil {
		return nil, fmt.Errorf("container %s: %w", o.Name, err)
	}
	for _, dep := range cfg.Requires {
		if err := units.ValidateName(dep); err != nil {
			return nil, fmt.Errorf("%w: requires: %w", ErrInvalid, err)
		}
		if dep == cfg.Name {
			return nil, fmt.Errorf("%w: container %s cannot require itself", ErrInvalid, cfg.Name)
		}
	}
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("%w: container %s has no command; give one after --", ErrInvalid, o.Name)
	}
	switch cfg.Network {
	case "":
		cfg.Network = NetworkHost
	case NetworkHost, NetworkNone:
	default:
		return nil, fmt.Errorf("%w: network %q: use host or none", ErrInvalid, o.Network)
	}
	for _, e := range cfg.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fmt.Errorf("%w: environment entry %q: use KEY=VALUE", ErrInvalid, e)
		}
	}
	if cfg.WorkDir != "" && !filepath.IsAbs(cfg.WorkDir) {
		return nil, fmt.Errorf("%w: working directory %q must be absolute", ErrInvalid, cfg.WorkDir)
	}
	if o.StopSignal != "" {
		sig, err := units.SignalNumber(o.StopSignal)
		if err != nil {
			return nil, fmt.Errorf("%w: stop signal: %w", ErrInvalid, err)
		}
		cfg.StopSignal = Signal(sig)
	}
	if o.StopTimeout != nil {
		cfg.StopTimeout = Seconds(*o.StopTimeout)
	}
	if err := cfg.setImageAndMounts(o); err != nil {
		return nil, err
	}
	if o.Image != "" {
		return cfg, nil
	}
	if o.Rootfs == "" {
		return nil, fmt.Errorf("%w: container %s needs --rootfs DIR", ErrInvalid, o.Name)
	}
	rootfs, err := filepath.Abs(o.Rootfs)
	if err != nil {
		return nil, fmt.Errorf("%w: rootfs %q: %w", ErrInvalid, o.Rootfs, err)
	}
	cfg.Rootfs = rootfs
	return cfg, nil
}

// Create stores a new container without starting it.
func (s *Supervisor) Create(ctx context.Context, o CreateOptions) (*Config, error) {
	cfg, err := s.create(ctx, o)
	if err != nil {
		return nil, err
	}
	return cfg, s.store.Sync(cfg.Name)
}

// RunDetached creates a container and starts it (run -d). The record
// reaches the disk while systemd starts the unit: the wait for the disk
// (milliseconds when it has been idle) then costs the start nothing.
func (s *Supervisor) RunDetached(ctx context.Context, o CreateOptions) (*Config, error) {
	cfg, err := s.create(ctx, o)
	if err != nil {
		return nil, err
	}
	synced := make(chan error, 1)
	go func() { synced <- s.store.Sync(cfg.Name) }()
	err = s.startNew(ctx, cfg)
	return cfg, errors.Join(err, <-synced)
}

// create stores a new container; the caller syncs its record.
func (s *Supervisor) create(ctx context.Context, o CreateOptions) (_ *Config, err error) {
	if o, err = s.imageDefaults(o); err != nil {
		return nil, err
	}
	cfg, err := newConfig(o, time.Now())
	if err != nil {
		return nil, err
	}
	if err := s.checkLimits(cfg); err != nil {
		return nil, err
	}
	if info, err := os.Stat(cfg.Rootfs); cfg.Image == "" && (err != nil || !info.IsDir()) {
		return nil, fmt.Errorf("%w: rootfs %s of container %s is not a directory", ErrInvalid, cfg.Rootfs, cfg.Name)
	}
	if _, err := s.runc(); err != nil {
		return nil, err
	}
	if o.Replace {
		if err := s.replaceExisting(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if err := s.checkNewName(cfg); err != nil {
		return nil, err
	}
	if o.Template && o.Unit == "" {
		use, err := s.useTemplate(ctx)
		if err != nil {
			return nil, err
		}
		if use {
			cfg.Unit = units.TemplateInstance(cfg.Name)
		}
	}
	undo, err := s.createRootfs(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			undo()
		}
	}()
	if err := s.store.Create(cfg); err != nil {
		return nil, err
	}
	if units.IsTemplateInstance(cfg.Unit) {
		if err := s.installUnit(ctx, cfg); err != nil {
			_ = s.store.Remove(cfg.Name) // nothing half made stays
			return nil, err
		}
	}
	return cfg, nil
}
