// Package supervisor orchestrates containers' lives: it carries out
// create, start, stop, restart, kill, pause, remove and the checks by
// asking systemd (the monitor, and the only restart authority), the record
// store, the container's file system and runc. What a container is, and
// the gate its settings pass, is package container's; whether a
// transition may happen is decided by the pure functions of decide.go.
package supervisor

import (
	"context"
	"io"
	"sync"

	"github.com/ctr-unit/ctr-unit/bundle"
	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/unitstep"
	"github.com/ctr-unit/ctr-unit/volume"
)

// Filesystem is what the supervisor needs of containers' file systems;
// *rootfs.FS has it.
type Filesystem interface {
	ResolveImage(o container.Options) (container.Options, error)
	Create(cfg *container.Config) (undo func(), err error)
	CreateLater(cfg *container.Config) (later bool, err error)
	LayerRoot(cfg *container.Config) (dir string, mounted bool, err error)
	MakeLayer(cfg *container.Config) error
	Sync(cfg *container.Config) error
	Prepare(cfg *container.Config) error
	MountLayer(cfg *container.Config) (dir string, mounted bool, err error)
	MountRoot(cfg *container.Config, bundle string) error
	Release(cfg *container.Config) error
	Delete(cfg *container.Config) error
	Sizes(cfg *container.Config) (*rootfs.Sizes, error)
	Export(cfg *container.Config, w io.Writer) error
	Mount(cfg *container.Config) (string, error)
	Unmount(cfg *container.Config) error
	Images(driver string) (*imagestore.Store, error)
	Volumes() (*volume.Store, error)
}

// Cgroups is what the supervisor needs of the host's cgroups;
// *cgroupmgr.Manager has it.
type Cgroups interface {
	Mode() cgroupmgr.Mode
	Available(controller string) bool
	Freeze(ctx context.Context, path string) error
	Thaw(ctx context.Context, path string) error
	Frozen(path string) (bool, error)
	Stats(path string) (cgroupmgr.Stats, error)
	Processes(path string) ([]int, error)
	SystemdRoots() []string
}

// Options configure a Supervisor.
type Options struct {
	// Dirs are where records and runtime data are kept.
	Dirs  unitstep.Dirs
	Store container.Store
	FS    Filesystem
	// Connect opens the connection to systemd, on first use: many
	// commands never need it.
	Connect func(context.Context) (Systemd, error)
	Cgroups Cgroups
	// Steps writes the command lines of the units' steps.
	Steps unitstep.Runner
	// UnitDir receives the drop-ins of template instances
	// (DefaultUnitDir if empty).
	UnitDir string
	// DefinitionDirs hold NAME.container files, earlier ones first
	// (definition.DefaultDirs() if nil).
	DefinitionDirs []string
	// Warn reports what a command did not do as asked but carried out
	// all the same (a stop that came to SIGKILL); nil drops it.
	Warn func(msg string)
	// NetworkConfigDir holds the network definitions ("" the default).
	NetworkConfigDir string
	// HookDirs hold OCI hook files, in rising precedence
	// (ociruntime.DefaultHookDirs if nil); a container's own replace them.
	HookDirs []string
	// EventSocket is the journal's socket events are written to ("":
	// none are).
	EventSocket string
}

// Supervisor runs containers as systemd services.
type Supervisor struct {
	dirs    unitstep.Dirs
	store   container.Store
	fs      Filesystem
	cgroups Cgroups
	steps   unitstep.Runner
	unitDir string
	defDirs []string
	netDir  string
	warn    func(string)
	// eventSocket: see Options.
	eventSocket string
	// bundles writes the containers' OCI bundles.
	bundles *bundle.Writer
	connect func(context.Context) (Systemd, error)
	// systemd and runc are found on first use, once.
	systemd Systemd
	runcBin *ociruntime.Runc
	// binStamp identifies the ctr-unit binary (sourceStamp), read once.
	binStamp string
	// read holds the records the last Refresh read and left as they
	// were, for the List that follows it in a listing command (takeRead).
	read struct {
		sync.Mutex
		configs map[string]*container.Config
	}
}

// keepRead keeps the records a Refresh read and found fresh (nil entries
// are skipped) for the next List.
func (s *Supervisor) keepRead(configs []*container.Config) {
	m := make(map[string]*container.Config, len(configs))
	for _, c := range configs {
		if c != nil {
			m[c.Name] = c
		}
	}
	s.read.Lock()
	defer s.read.Unlock()
	s.read.configs = m
}

// takeRead hands over the records kept by keepRead, once: a listing
// command refreshes and then lists, writing nothing in between, so each
// record is read once rather than twice. Those records are as old as the
// Refresh, a few milliseconds, as any read is by the time it is shown.
func (s *Supervisor) takeRead() map[string]*container.Config {
	s.read.Lock()
	defer s.read.Unlock()
	m := s.read.configs
	s.read.configs = nil
	return m
}

// New makes a Supervisor of what o gives.
func New(o Options) *Supervisor {
	s := &Supervisor{
		dirs: o.Dirs, store: o.Store, fs: o.FS, cgroups: o.Cgroups, steps: o.Steps,
		unitDir: o.UnitDir, defDirs: o.DefinitionDirs, connect: o.Connect, warn: o.Warn,
		netDir: o.NetworkConfigDir, eventSocket: o.EventSocket,
		bundles: bundle.NewWriter(o.Dirs, o.NetworkConfigDir, o.HookDirs, o.Steps),
	}
	if s.warn == nil {
		s.warn = func(string) {}
	}
	if s.unitDir == "" {
		s.unitDir = DefaultUnitDir
	}
	if s.defDirs == nil {
		s.defDirs = defaultDefinitionDirs()
	}
	return s
}

// sd returns the connection to systemd, connecting on first use. Every
// call that talks to systemd gets it from here and passes it on.
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

// Connect connects to systemd now rather than at the first call that
// needs it: a run calls it before it creates anything, so that a systemd
// it cannot reach (or that cannot answer) fails the run with nothing made.
func (s *Supervisor) Connect(ctx context.Context) error {
	_, err := s.sd(ctx)
	return err
}

// runc finds runc once: a missing runc is a clear error before anything
// changes, not a failed unit.
func (s *Supervisor) runc() (*ociruntime.Runc, error) {
	if s.runcBin == nil {
		r, err := ociruntime.FindRunc(s.steps.Runtime, s.dirs.RuncRoot())
		if err != nil {
			return nil, err
		}
		s.runcBin = r
	}
	return s.runcBin, nil
}

// Store is the supervisor's record store.
func (s *Supervisor) Store() container.Store { return s.store }
