// Package supervisor carries out a container's lifecycle: its records, its
// state machine, and the systemd and runc calls that start, stop, pause and
// remove it. systemd is the monitor and the only restart authority.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"

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
	WaitInactive(ctx context.Context, unit string) error
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
	// Self is the ctr-unit binary the units call back for their stop step.
	Self string
	// Connect opens the connection to systemd on first use.
	Connect func(context.Context) (Systemd, error)
}

// Supervisor runs containers as systemd services.
type Supervisor struct {
	paths   Paths
	store   *Store
	runcBin string
	self    string
	connect func(context.Context) (Systemd, error)
	systemd Systemd
}

// New opens the state directory.
func New(o Options) (*Supervisor, error) {
	store, err := OpenStore(o.Paths.StateDir)
	if err != nil {
		return nil, err
	}
	return &Supervisor{paths: o.Paths, store: store, runcBin: o.Runc, self: o.Self, connect: o.Connect}, nil
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
	cfg, err := newConfig(o, time.Now())
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(cfg.Rootfs); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%w: rootfs %s of container %s is not a directory", ErrInvalid, cfg.Rootfs, cfg.Name)
	}
	if _, err := s.runc(); err != nil {
		return nil, err
	}
	if err := s.store.Create(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
