package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/units"
)

// CreateRequest asks for a new container.
type CreateRequest struct {
	container.Options
	// Template asks for an instance of ctr@.service (if installed), which
	// systemctl and boot can manage; otherwise the unit is transient.
	Template bool
	// Replace removes a container of the same name first, as rm -f does.
	Replace bool
}

// Create stores a new container without starting it.
func (s *Supervisor) Create(ctx context.Context, r CreateRequest) (*container.Config, error) {
	cfg, _, err := s.create(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return cfg, s.persist(cfg)
}

// persist flushes a new container to the disk: its layer's records, then
// its own record, which names the layer.
func (s *Supervisor) persist(cfg *container.Config) error {
	if err := s.fs.Sync(cfg); err != nil {
		return err
	}
	return s.store.Sync(cfg.Name)
}

// RunDetached creates a container and starts it (run -d). The container
// reaches the disk while systemd starts the unit: the wait for the disk
// (milliseconds when it has been idle) then costs the start nothing. So
// does making an image container's layer, where it can wait (startFrom);
// a container whose layer could not be made is removed again.
func (s *Supervisor) RunDetached(ctx context.Context, r CreateRequest) (*container.Config, error) {
	cfg, later, err := s.create(ctx, r, true)
	if err != nil {
		return nil, err
	}
	synced := make(chan error, 1)
	go func() {
		if later {
			// The layer's records are flushed once it is made.
			synced <- s.store.Sync(cfg.Name)
			return
		}
		synced <- s.persist(cfg)
	}()
	err = errors.Join(s.startNew(ctx, cfg, later), <-synced)
	if _, ok := errors.AsType[*layerError](err); ok {
		return nil, errors.Join(fmt.Errorf("%w; the container is removed", err), s.Remove(ctx, cfg.Name, true))
	}
	return cfg, err
}

// create stores a new container; the caller syncs its record. With
// layerLater, an image container's layer is only named, where it can be
// made at the start (FS.CreateLater): later says so.
func (s *Supervisor) create(ctx context.Context, r CreateRequest, layerLater bool) (_ *container.Config, later bool, err error) {
	if r.Name == "" {
		// As podman: a name is made up (and printed by run -d and
		// create), and kept for generate systemd --new.
		r.Name = container.GenerateName(func(n string) bool { _, err := s.store.Config(n); return err == nil })
		if r.CreateCommand != nil {
			r.CreateCommand = append([]string{"--name=" + r.Name}, r.CreateCommand...)
		}
	}
	o, err := s.fs.ResolveImage(r.Options)
	if err != nil {
		return nil, false, err
	}
	cfg, err := container.Build(o, time.Now())
	if err != nil {
		return nil, false, err
	}
	cfg.ID = container.NewID()
	if err := s.checkHost(cfg); err != nil {
		return nil, false, err
	}
	if err := s.checkNetworks(cfg); err != nil {
		return nil, false, err
	}
	if r.Replace {
		if err := s.replaceExisting(ctx, cfg); err != nil {
			return nil, false, err
		}
	}
	if err := s.checkNewName(cfg); err != nil {
		return nil, false, err
	}
	// A --rm container is gone once it stops: nothing for systemctl
	// or boot to start again, so its unit stays transient.
	if r.Template && r.Unit == "" && !cfg.AutoRemove {
		systemd, err := s.sd(ctx)
		if err != nil {
			return nil, false, err
		}
		if use, err := systemd.TemplateInstalled(ctx); err != nil {
			return nil, false, err
		} else if use {
			cfg.Unit = units.TemplateInstance(cfg.Name)
		}
	}
	undo := func() {}
	// A template instance's own start step writes the bundle and mounts
	// the layer: it must exist by then.
	if layerLater && !units.IsTemplateInstance(cfg.Unit) {
		if later, err = s.fs.CreateLater(cfg); err != nil {
			return nil, false, err
		}
	}
	if !later {
		if undo, err = s.fs.Create(cfg); err != nil {
			return nil, false, err
		}
	}
	defer func() {
		if err != nil {
			undo()
		}
	}()
	create := s.store.Create
	if later {
		create = s.store.CreateLayerPending
	}
	if err := create(cfg); err != nil {
		return nil, false, err
	}
	if units.IsTemplateInstance(cfg.Unit) {
		if err := s.installUnit(ctx, cfg); err != nil {
			_ = s.store.Remove(cfg.Name) // nothing half made stays
			return nil, false, err
		}
	}
	s.event(cfg, events.Create)
	return cfg, later, nil
}

// checkHost refuses what this host cannot give a container: a rootfs
// that is not a directory, runc, devices and seccomp profiles it does
// not have, and limits its cgroup layout cannot enforce (which systemd
// would ignore silently).
func (s *Supervisor) checkHost(cfg *container.Config) error {
	if info, err := os.Stat(cfg.Rootfs); cfg.Image == "" && (err != nil || !info.IsDir()) {
		return fmt.Errorf("%w: rootfs %s of container %s is not a directory", container.ErrInvalid, cfg.Rootfs, cfg.Name)
	}
	if _, err := s.runc(); err != nil {
		return err
	}
	if cfg.Timezone != "" {
		if err := checkTimezone(cfg.Timezone); err != nil {
			return fmt.Errorf("%w: container %s: --tz %s: %w", container.ErrInvalid, cfg.Name, cfg.Timezone, err)
		}
	}
	if cfg.Init && cfg.InitPath == "" {
		p, err := findInit()
		if err != nil {
			return fmt.Errorf("%w: container %s: %w", container.ErrInvalid, cfg.Name, err)
		}
		cfg.InitPath = p
	}
	// Devices and a seccomp profile file are read at every start; a
	// missing or bad one is refused now, before anything is stored.
	if _, err := s.bundles.Spec(cfg); err != nil {
		return err
	}
	want := cgroupmgr.Limits{
		MemoryBytes: int64(cfg.MemoryMax),
		CPUs:        float64(cfg.CPUQuotaUSec) / 1e6,
		Pids:        int64(cfg.PidsLimit),
	}
	if want == (cgroupmgr.Limits{}) {
		return nil
	}
	if err := cgroupmgr.CheckLimits(s.cgroups.Mode(), s.cgroups.Available, want); err != nil {
		return fmt.Errorf("%w: container %s: %w", container.ErrInvalid, cfg.Name, err)
	}
	return nil
}

// checkTimezone says whether the host has a time zone's file.
func checkTimezone(tz string) error {
	src := container.TimezoneSource(tz)
	if info, err := os.Stat(src); err != nil || !info.Mode().IsRegular() {
		if tz == "local" {
			return fmt.Errorf("the host has no time zone (%s)", src)
		}
		return fmt.Errorf("no such time zone on the host (%s)", src)
	}
	return nil
}

// checkNetworks refuses networks that do not exist, as podman's create
// does (a network removed later fails the start instead).
func (s *Supervisor) checkNetworks(cfg *container.Config) error {
	store := &network.Store{Dir: s.netDir}
	if s.netDir == "" {
		store.Dir = network.DefaultConfigDir
	}
	for _, name := range cfg.NetworkNames() {
		if _, err := store.Get(name); err != nil {
			return fmt.Errorf("container %s: %w (ctr-unit network ls lists them; network create makes one)", cfg.Name, err)
		}
	}
	return nil
}

// findInit finds the init --init runs: catatonit, where Debian's package
// or podman's puts it.
func findInit() (string, error) {
	if p, err := exec.LookPath("catatonit"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/libexec/podman/catatonit", "/usr/libexec/catatonit/catatonit"} {
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errors.New("--init needs catatonit (apt-get install catatonit) or --init-path")
}
