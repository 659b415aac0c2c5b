package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
)

// DefaultUnitDir is where ctr-unit create writes the drop-ins of template
// instances: the admin's unit directory, which survives reboots and is
// where systemctl enable puts its symlinks too.
const DefaultUnitDir = "/etc/systemd/system"

// networkOnline is what a container's unit waits for at boot, unless its
// container opts out.
const networkOnline = "network-online.target"

// launcher is how a container's service reaches systemd. A transient
// container's unit exists only as properties handed over at start; a unit
// with a file (an instance of ctr@.service, with ctr-unit's drop-in, or a
// unit file a user installed) is configured on disk and merely started.
type launcher interface {
	launch(ctx context.Context, systemd Systemd, cfg *Config, svc units.Service) error
}

type transientLauncher struct{}

func (transientLauncher) launch(ctx context.Context, systemd Systemd, cfg *Config, svc units.Service) error {
	return systemd.StartTransient(ctx, cfg.Unit, svc.Properties())
}

// fileLauncher starts a unit systemd loads from files. Drop-ins that are
// missing or out of date (ctr-unit upgraded, a definition file edited, no
// daemon-reload since) are rewritten and reloaded first.
type fileLauncher struct{ s *Supervisor }

func (l fileLauncher) launch(ctx context.Context, systemd Systemd, cfg *Config, svc units.Service) error {
	if err := l.s.ensureDropIn(ctx, systemd, cfg, svc); err != nil {
		return err
	}
	return systemd.Start(ctx, cfg.Unit)
}

// launcherFor picks how to start cfg's unit from what systemd knows of it:
// unit needs FragmentPath (units.Client.Status) whenever systemd has the
// unit loaded, since only the file tells a unit file from a transient unit
// that has not been collected yet.
func (s *Supervisor) launcherFor(cfg *Config, unit units.Status) launcher {
	if unit.HasUnitFile() || units.IsTemplateInstance(cfg.Unit) {
		return fileLauncher{s}
	}
	return transientLauncher{}
}

// service is the complete service of a container: its core settings
// (buildService) plus what depends on other containers and on the unit's
// kind.
func (s *Supervisor) service(cfg *Config) units.Service {
	return s.serviceWith(cfg, s.steps)
}

// serviceWith is service with the given steps.
func (s *Supervisor) serviceWith(cfg *Config, st steps) units.Service {
	svc := buildService(cfg, st)
	for _, dep := range cfg.Requires {
		u := s.unitOf(dep)
		svc.Requires = append(svc.Requires, u)
		svc.After = append(svc.After, u)
	}
	svc.MemoryMax, svc.CPUQuotaUSec, svc.TasksMax = cfg.MemoryMax, cfg.CPUQuotaUSec, cfg.PidsLimit
	if units.IsTemplateInstance(cfg.Unit) {
		// systemd may start the unit without ctr-unit (systemctl start,
		// at boot), and after a reboot /run is empty: the unit writes
		// the bundle from the record itself.
		svc.ExecStartPre = append([][]string{st.argv("prepare", cfg.Name)}, svc.ExecStartPre...)
		if !cfg.NoNetworkWait {
			// Only units that can start at boot wait for the network; a
			// transient one starts when the system is up anyway.
			svc.Wants = append(svc.Wants, networkOnline)
			svc.After = append(svc.After, networkOnline)
		}
	}
	for _, e := range cfg.Extra {
		svc.Extra = append(svc.Extra, unit.NewUnitOption(e.Section, e.Name, e.Value))
	}
	return svc
}

// unitOf is the unit of container name, as far as it can be known; a
// container not known yet gets the name a definition file would give it.
func (s *Supervisor) unitOf(name string) string {
	if cfg, err := s.store.Config(name); err == nil {
		return cfg.Unit
	}
	return units.TemplateInstance(name)
}

// dropInHeader says where a drop-in came from.
func dropInHeader(cfg *Config) []string {
	h := []string{"Written by ctr-unit for container " + cfg.Name + "; do not edit."}
	if cfg.Source != "" {
		return append(h, "Generated from "+cfg.Source+" (edit that file, then systemctl daemon-reload).")
	}
	return append(h, "ctr-unit rm "+cfg.Name+" removes it. Override settings in a drop-in named after 50-ctr-unit.conf.")
}

// dropInPath is where ctr-unit create puts the drop-in of cfg's instance.
func (s *Supervisor) dropInPath(cfg *Config) string {
	return filepath.Join(s.unitDir, units.DropInDir(cfg.Unit), units.DropInFile)
}

// writeDropIn writes the instance's drop-in; it reports whether the file
// changed (and systemd must reload).
func (s *Supervisor) writeDropIn(cfg *Config, svc units.Service) (bool, error) {
	path := s.dropInPath(cfg)
	text := svc.DropIn(dropInHeader(cfg)...)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, text) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("write unit settings of %s: %w", cfg.Name, err)
	}
	if err := renameio.WriteFile(path, text, 0o644); err != nil {
		return false, fmt.Errorf("write unit settings of %s: %w", cfg.Name, err)
	}
	return true, nil
}

// ensureDropIn makes sure systemd runs cfg's unit with its current
// settings. Containers defined in files get theirs from the generator; the
// others from the drop-in ctr-unit writes.
func (s *Supervisor) ensureDropIn(ctx context.Context, systemd Systemd, cfg *Config, svc units.Service) error {
	if !units.IsTemplateInstance(cfg.Unit) {
		return nil // a unit file of the user's own
	}
	reload := false
	if cfg.Source == "" {
		changed, err := s.writeDropIn(cfg, svc)
		if err != nil {
			return err
		}
		reload = changed
	}
	if !reload {
		paths, err := systemd.DropInPaths(ctx, cfg.Unit)
		if err != nil {
			return err
		}
		reload = !slices.ContainsFunc(paths, func(p string) bool { return filepath.Base(p) == units.DropInFile })
	}
	if reload {
		return systemd.Reload(ctx)
	}
	return nil
}

// RefreshDropIns writes again the drop-in of every template instance made
// by ctr-unit create, from its record, and has systemd reload if one
// changed. Units that systemd starts by itself (at boot, systemctl start)
// then run as this ctr-unit runs containers: after an upgrade, a drop-in
// of an older one may name steps that are gone. It returns the containers
// whose drop-in changed. Definition files' drop-ins are the generator's,
// rewritten at every daemon-reload.
func (s *Supervisor) RefreshDropIns(ctx context.Context) ([]string, error) {
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	var changed []string
	var errs []error
	for _, name := range names {
		cfg, err := s.store.Config(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !units.IsTemplateInstance(cfg.Unit) || cfg.Source != "" {
			continue
		}
		ok, err := s.writeDropIn(cfg, s.service(cfg))
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			changed = append(changed, name)
		}
	}
	if len(changed) > 0 {
		systemd, err := s.sd(ctx)
		if err == nil {
			err = systemd.Reload(ctx)
		}
		errs = append(errs, err)
	}
	return changed, errors.Join(errs...)
}

// removeUnitFiles undoes what create set up for a template instance: the
// enablement symlinks and the drop-in.
func (s *Supervisor) removeUnitFiles(ctx context.Context, systemd Systemd, cfg *Config) error {
	if !units.IsTemplateInstance(cfg.Unit) || cfg.Source != "" {
		return nil
	}
	if err := systemd.Disable(ctx, cfg.Unit); err != nil {
		return err
	}
	dir := filepath.Dir(s.dropInPath(cfg))
	if err := os.Remove(s.dropInPath(cfg)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove unit settings of %s: %w", cfg.Name, err)
	}
	_ = os.Remove(dir) // only if empty: an admin's own drop-ins stay
	return systemd.Reload(ctx)
}

// useTemplate decides whether a new container gets a template instance:
// when ctr@.service is installed, so that systemctl and boot can manage it.
func (s *Supervisor) useTemplate(ctx context.Context) (bool, error) {
	systemd, err := s.sd(ctx)
	if err != nil {
		return false, err
	}
	return systemd.TemplateInstalled(ctx)
}

// Prepare is the ExecStartPre step of a template instance: it writes the
// bundle from the record (after a reboot /run is empty, and systemctl
// start does not go through ctr-unit) and records the start. It takes no
// lock: a ctr-unit start holding the lock waits for this step.
func (s *Supervisor) Prepare(ctx context.Context, name string) error {
	if err := s.syncDefinition(name, true); err != nil {
		return err
	}
	cfg, err := s.store.Config(name)
	if err != nil {
		return fmt.Errorf("%w; create it (ctr-unit create --name %s) or define it in a %s file", err, name, name+".container")
	}
	st, err := s.store.State(name)
	if err != nil {
		return err
	}
	// The boot ID first: from here on the refresh leaves this
	// container's runtime files alone.
	st.BootID, _ = currentBootID()
	st.StartedAt = time.Now()
	if err := s.store.SaveState(name, st); err != nil {
		return err
	}
	if err := s.store.ClearExit(name); err != nil {
		return err
	}
	if info, err := os.Stat(cfg.Rootfs); cfg.Image == "" && (err != nil || !info.IsDir()) {
		return fmt.Errorf("%w: rootfs %s of container %s is not a directory", ErrInvalid, cfg.Rootfs, name)
	}
	return ociruntime.WriteBundle(s.paths.bundle(name), ociruntime.Spec(buildSpec(cfg)))
}
