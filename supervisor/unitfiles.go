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

	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// DefaultUnitDir is where ctr-unit create writes the drop-ins of template
// instances: the admin's unit directory, which survives reboots and is
// where systemctl enable puts its symlinks too.
const DefaultUnitDir = "/etc/systemd/system"

// launch starts cfg's unit as what systemd knows of it (unit) says:
// unit needs FragmentPath (Client.Status) whenever systemd has the unit
// loaded, since only the file tells a unit file from a transient unit
// that has not been collected yet. A transient container's unit exists
// only as properties handed over at start; a unit with a file (an
// instance of ctr@.service with ctr-unit's drop-in, or a unit file a user
// installed) is configured on disk and merely started, its drop-in
// rewritten and reloaded first where it is missing or out of date
// (ctr-unit upgraded, a definition file edited, no daemon-reload since).
func (s *Supervisor) launch(ctx context.Context, systemd Systemd, cfg *container.Config, unit units.Status, svc units.Service) error {
	if !unit.HasUnitFile() && !units.IsTemplateInstance(cfg.Unit) {
		return systemd.StartTransient(ctx, cfg.Unit, svc.Properties())
	}
	if err := s.ensureDropIn(ctx, systemd, cfg, svc); err != nil {
		return err
	}
	return systemd.Start(ctx, cfg.Unit)
}

// service is the service of a container, with the units of the
// containers it requires.
func (s *Supervisor) service(cfg *container.Config) units.Service {
	return s.serviceWith(cfg, s.steps)
}

// serviceWith is service with the given steps.
func (s *Supervisor) serviceWith(cfg *container.Config, steps unitstep.Runner) units.Service {
	requires := make([]string, len(cfg.Requires))
	for i, dep := range cfg.Requires {
		requires[i] = s.unitOf(dep)
	}
	return container.BuildService(cfg, steps, requires)
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
func dropInHeader(cfg *container.Config) []string {
	h := []string{"Written by ctr-unit for container " + cfg.Name + "; do not edit."}
	if cfg.Source != "" {
		return append(h, "Generated from "+cfg.Source+" (edit that file, then systemctl daemon-reload).")
	}
	return append(h, "ctr-unit rm "+cfg.Name+" removes it. Override settings in a drop-in named after 50-ctr-unit.conf.")
}

// dropInPath is where ctr-unit create puts the drop-in of cfg's instance.
func (s *Supervisor) dropInPath(cfg *container.Config) string {
	return filepath.Join(s.unitDir, units.DropInDir(cfg.Unit), units.DropInFile)
}

// writeDropIn writes the instance's drop-in; it reports whether the file
// changed (and systemd must reload).
func (s *Supervisor) writeDropIn(cfg *container.Config, svc units.Service) (bool, error) {
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
func (s *Supervisor) ensureDropIn(ctx context.Context, systemd Systemd, cfg *container.Config, svc units.Service) error {
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
// of an older one may name steps that are gone. Units with an older
// ctr-unit's names get their current names first, unless they run
// (migrateUnits). It returns the containers whose unit was renamed or
// whose drop-in changed. Definition files' drop-ins are the generator's,
// rewritten at every daemon-reload.
func (s *Supervisor) RefreshDropIns(ctx context.Context) ([]string, error) {
	m, err := s.migrateUnits(ctx)
	if err != nil {
		return m.renamed, err
	}
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	changed := m.renamed
	rewritten := false
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
			rewritten = true
			if !slices.Contains(changed, name) {
				changed = append(changed, name)
			}
		}
	}
	if rewritten {
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
func (s *Supervisor) removeUnitFiles(ctx context.Context, systemd Systemd, cfg *container.Config) error {
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
