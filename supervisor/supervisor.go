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

// StartOptions modify one start.
type StartOptions struct {
	// Stdio, if set, hands these descriptors to the container (attached run).
	Stdio *[3]int
}

// Start starts a container's unit and returns once the container runs.
// Starting a running container does nothing, as in podman.
func (s *Supervisor) Start(ctx context.Context, name string, o StartOptions) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return s.startLocked(ctx, name, o)
}

func (s *Supervisor) startLocked(ctx context.Context, name string, o StartOptions) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	runc, err := s.runc()
	if err != nil {
		return err
	}
	unit, err := systemd.Status(ctx, cfg.Unit)
	if err != nil {
		return err
	}
	st, err := s.store.State(name)
	if err != nil {
		return err
	}
	switch status := DeriveStatus(unit, st, false); {
	case status == StatusRunning && o.Stdio == nil:
		return nil
	case status.Live() || status == StatusRestarting:
		return fmt.Errorf("%w: %s is %s", ErrRunning, name, status)
	}
	// A failed unit lingers and keeps the name taken.
	if unit.Loaded() {
		if err := systemd.ResetFailed(ctx, cfg.Unit); err != nil {
			return err
		}
	}
	if err := ociruntime.WriteBundle(s.paths.bundle(name), ociruntime.Spec(buildSpec(cfg))); err != nil {
		return err
	}
	if err := s.store.ClearExit(name); err != nil {
		return err
	}
	st.StartedAt, st.StoppedByUser, st.Paused, st.RestartCount = time.Now(), false, false, 0
	if err := s.store.SaveState(name, st); err != nil {
		return err
	}
	svc := buildService(cfg, s.paths, runc, s.self)
	svc.StdioFDs = o.Stdio
	if err := systemd.StartTransient(ctx, cfg.Unit, svc.Properties()); err != nil {
		return s.startFailed(name, cfg.Unit, err)
	}
	return nil
}

// startFailed explains a start job that did not succeed.
func (s *Supervisor) startFailed(name, unit string, err error) error {
	if ex, _ := s.store.Exit(name); ex != nil {
		return fmt.Errorf("container %s failed to start (exit code %d); see journalctl -u %s: %w", name, ex.ExitCode, unit, err)
	}
	return fmt.Errorf("container %s failed to start; see journalctl -u %s: %w", name, unit, err)
}

// Run starts a container attached to stdio and waits until it exits,
// returning its exit code. Signals sent to the caller meanwhile are passed
// to the container (see Kill).
func (s *Supervisor) Run(ctx context.Context, name string, stdio [3]int) (int, error) {
	if err := s.Start(ctx, name, StartOptions{Stdio: &stdio}); err != nil {
		return -1, err
	}
	cfg, err := s.store.Config(name)
	if err != nil {
		return -1, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return -1, err
	}
	if err := systemd.WaitInactive(ctx, cfg.Unit); err != nil {
		return -1, err
	}
	ex, err := s.store.Exit(name)
	if err != nil {
		return -1, err
	}
	if ex == nil {
		return -1, fmt.Errorf("container %s stopped but left no exit status; see journalctl -u %s", name, cfg.Unit)
	}
	return ex.ExitCode, nil
}

// Stop stops a container: its stop signal, then after its stop timeout
// SIGKILL to every process left, all carried out by systemd's stop job.
// timeout, if set and shorter than the container's own, cuts the wait
// short by killing the whole unit. Stopping a stopped container succeeds.
func (s *Supervisor) Stop(ctx context.Context, name string, timeout *time.Duration) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return s.stopLocked(ctx, name, timeout, true)
}

func (s *Supervisor) stopLocked(ctx context.Context, name string, timeout *time.Duration, byUser bool) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	unit, err := systemd.Status(ctx, cfg.Unit)
	if err != nil {
		return err
	}
	st, err := s.store.State(name)
	if err != nil {
		return err
	}
	// Recorded before stopping: unless-stopped must stay down even if
	// this command is killed halfway, and systemd forgets NRestarts once
	// the unit is gone.
	st.StoppedByUser = byUser
	if unit.Loaded() {
		st.RestartCount = unit.NRestarts
	}
	if err := s.store.SaveState(name, st); err != nil {
		return err
	}
	if unit.Loaded() {
		if err := s.stopUnit(ctx, systemd, cfg, timeout); err != nil {
			return fmt.Errorf("stop container %s: %w", name, err)
		}
		// Nothing of a stopped container should linger in systemd.
		if err := systemd.ResetFailed(ctx, cfg.Unit); err != nil {
			return err
		}
	}
	if st.Paused {
		st.Paused = false
		return s.store.SaveState(name, st)
	}
	return nil
}

func (s *Supervisor) stopUnit(ctx context.Context, systemd Systemd, cfg *Config, timeout *time.Duration) error {
	if timeout != nil && *timeout < cfg.StopTimeout.Duration() {
		// systemd's own timeout is the container's; a shorter one asked
		// for this stop ends the wait by killing everything in the unit.
		timer := time.AfterFunc(*timeout, func() {
			_ = systemd.Kill(ctx, cfg.Unit, units.Whom("all"), syscall.SIGKILL)
		})
		defer timer.Stop()
	}
	return systemd.Stop(ctx, cfg.Unit)
}

// Restart stops and starts a container; its policy state is as after a
// start.
func (s *Supervisor) Restart(ctx context.Context, name string, timeout *time.Duration) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := s.stopLocked(ctx, name, timeout, false); err != nil {
		return err
	}
	return s.startLocked(ctx, name, StartOptions{})
}

// Kill sends sig to the container's main process, or with all to every
// process of it. What follows is the unit's restart policy.
func (s *Supervisor) Kill(ctx context.Context, name string, sig syscall.Signal, all bool) error {
	info, err := s.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if err := checkSignal(name, info.Status); err != nil {
		return err
	}
	whom := units.Whom("main")
	if all {
		whom = units.Whom("all")
	}
	return s.systemd.Kill(ctx, info.Config.Unit, whom, sig) // connected by Inspect
}

// Remove deletes a container. A live one is refused unless force, which
// kills it first.
func (s *Supervisor) Remove(ctx context.Context, name string, force bool) error {
	lock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	info, err := s.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if err := checkRemove(name, info.Status, force); err != nil {
		return err
	}
	if info.Unit.Loaded() {
		zero := time.Duration(0)
		if err := s.stopLocked(ctx, name, &zero, true); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(s.paths.bundle(name)); err != nil {
		return fmt.Errorf("remove runtime files of %s: %w", name, err)
	}
	return s.store.Remove(name)
}

// Info is everything known of a container at one moment.
type Info struct {
	Config *Config
	State  State
	Exit   *Exit
	Unit   units.Status
	Status Status
}

// RestartCount is systemd's count of restarts while the unit is loaded,
// else the last one seen.
func (i *Info) RestartCount() uint32 {
	n := i.State.RestartCount
	if i.Unit.Loaded() {
		n = i.Unit.NRestarts
	}
	return i.Config.Restart.performed(n)
}

// Inspect reads a container's record and its unit's state.
func (s *Supervisor) Inspect(ctx context.Context, name string) (*Info, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, err
	}
	unit, err := systemd.Status(ctx, cfg.Unit)
	if err != nil {
		return nil, err
	}
	return s.info(cfg, unit)
}

func (s *Supervisor) info(cfg *Config, unit units.Status) (*Info, error) {
	st, err := s.store.State(cfg.Name)
	if err != nil {
		return nil, err
	}
	ex, err := s.store.Exit(cfg.Name)
	if err != nil {
		return nil, err
	}
	return &Info{Config: cfg, State: st, Exit: ex, Unit: unit, Status: DeriveStatus(unit, st, ex != nil)}, nil
}

// List returns every container (or only the live ones), asking systemd
// for all of their units in one call.
func (s *Supervisor) List(ctx context.Context, all bool) ([]*Info, error) {
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	configs := make([]*Config, 0, len(names))
	unitNames := make([]string, 0, len(names))
	for _, n := range names {
		cfg, err := s.store.Config(n)
		if errors.Is(err, ErrNoSuchContainer) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		configs = append(configs, cfg)
		unitNames = append(unitNames, cfg.Unit)
	}
	if len(configs) == 0 {
		return nil, nil
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, err
	}
	states, err := systemd.ActiveStates(ctx, unitNames)
	if err != nil {
		return nil, err
	}
	var out []*Info
	for _, cfg := range configs {
		info, err := s.info(cfg, states[cfg.Unit])
		if err != nil {
			return nil, err
		}
		if all || info.Status.Live() || info.Status == StatusRestarting {
			out = append(out, info)
		}
	}
	return out, nil
}

// Unit returns the name of a container's unit (for journalctl).
func (s *Supervisor) Unit(name string) (string, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return "", err
	}
	return cfg.Unit, nil
}
