package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
)

// Units of containers made by a ctr-unit from before verbatim unit names
// have escaped names (ctr@my\x2dweb.service, units.IsLegacy). They are
// renamed to what this ctr-unit calls them (ctr@my-web.service) once they
// are not running: a running container keeps its unit, and with it its
// drop-in, its check units and its stop step, until it stops. systemd
// cannot rename a unit that runs.

// verbatimMarker, in the state directory, says that no record names a
// legacy unit any more: commands then skip the search.
const verbatimMarker = "unit_names"

// migrated is what migrateUnits did.
type migrated struct {
	// renamed are the containers whose units got their current names;
	// kept those left for later because their units are running.
	renamed, kept []string
}

// migrateUnitsOnce runs migrateUnits unless it found nothing left to do
// before.
func (s *Supervisor) migrateUnitsOnce(ctx context.Context) error {
	marker := filepath.Join(s.dirs.StateDir, verbatimMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	m, err := s.migrateUnits(ctx)
	if err != nil || len(m.kept) > 0 {
		return err
	}
	if _, err := os.Stat(s.dirs.StateDir); err != nil {
		return nil // nothing stored yet: nothing to remember
	}
	if err := renameio.WriteFile(marker, []byte("verbatim\n"), 0o600); err != nil {
		return fmt.Errorf("record the unit names' migration: %w", err)
	}
	return nil
}

// migrateUnits gives every container whose unit has a legacy name, and is
// not running, its unit's current name: the record's Unit, the drop-in
// directory in the unit directory (ctr-unit's drop-in and an admin's
// own), and the enablement symlinks there. It has systemd reload if it
// renamed any.
func (s *Supervisor) migrateUnits(ctx context.Context) (migrated, error) {
	var m migrated
	names, err := s.store.Names()
	if err != nil {
		return m, err
	}
	var errs []error
	for _, name := range names {
		cfg, err := s.store.Config(name)
		if err != nil {
			if !errors.Is(err, container.ErrNoSuchContainer) {
				errs = append(errs, err)
			}
			continue
		}
		if !units.IsLegacy(cfg.Unit) {
			continue
		}
		renamed, err := s.migrateUnit(ctx, name, cfg.Unit)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("rename the unit of container %s: %w", name, err))
			m.kept = append(m.kept, name)
		case renamed:
			m.renamed = append(m.renamed, name)
		default:
			m.kept = append(m.kept, name)
		}
	}
	if len(m.renamed) > 0 {
		systemd, err := s.sd(ctx)
		if err == nil {
			err = systemd.Reload(ctx)
		}
		errs = append(errs, err)
	}
	return m, errors.Join(errs...)
}

// lockWait bounds the wait for a container's lock while renaming its
// unit: a command that holds it (stopping the container) leaves the
// renaming to a later one.
const lockWait = 2 * time.Second

// migrateUnit renames the unit of one container, under its lock, if the
// unit does not run; it reports whether it did.
func (s *Supervisor) migrateUnit(ctx context.Context, name, old string) (bool, error) {
	systemd, err := s.sd(ctx)
	if err != nil {
		return false, err
	}
	// Running units are left alone without waiting for their lock.
	if st, err := systemd.Status(ctx, old); err != nil || !idle(st) {
		return false, err
	}
	lockCtx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	unlock, err := s.store.Lock(lockCtx, name)
	switch {
	case errors.Is(err, container.ErrNoSuchContainer), lockCtx.Err() != nil:
		return false, nil
	case err != nil:
		return false, err
	}
	defer unlock()
	cfg, err := s.store.Config(name)
	if err != nil || cfg.Unit != old {
		return false, err
	}
	st, err := systemd.Status(ctx, old)
	switch {
	case err != nil:
		return false, err
	case st.ActiveState == "failed":
		// Its failed state would linger under the old name.
		if err := systemd.ResetFailed(ctx, old); err != nil {
			return false, err
		}
	case !idle(st):
		return false, nil
	}
	cfg.Unit = units.Current(old)
	if err := s.moveDropIns(old, cfg.Unit); err != nil {
		return false, err
	}
	if err := s.moveEnablement(old, cfg.Unit); err != nil {
		return false, err
	}
	if units.IsTemplateInstance(cfg.Unit) && cfg.Source == "" {
		// ctr-unit's own drop-in, written anew for the new name (its
		// stop step names the unit).
		if _, err := s.writeDropIn(cfg, s.service(cfg)); err != nil {
			return false, err
		}
	}
	if err := s.store.SaveDefined(cfg); err != nil {
		return false, err
	}
	return true, nil
}

// moveDropIns moves the drop-ins of unit old in the unit directory to
// those of unit cur; a file cur has already is kept.
func (s *Supervisor) moveDropIns(old, cur string) error {
	from := filepath.Join(s.unitDir, units.DropInDir(old))
	entries, err := os.ReadDir(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	to := filepath.Join(s.unitDir, units.DropInDir(cur))
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		dst := filepath.Join(to, e.Name())
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.Rename(filepath.Join(from, e.Name()), dst); err != nil {
			return err
		}
	}
	return os.RemoveAll(from)
}

// moveEnablement renames the symlinks that enable unit old (in
// TARGET.wants/, .requires/ and .upholds/ of the unit directory, where
// systemctl enable puts them) to name unit cur, pointing where they did.
func (s *Supervisor) moveEnablement(old, cur string) error {
	var links []string
	for _, kind := range []string{"*.wants", "*.requires", "*.upholds"} {
		found, err := filepath.Glob(filepath.Join(globQuote(s.unitDir), kind, globQuote(old)))
		if err != nil {
			return err
		}
		links = append(links, found...)
	}
	for _, link := range links {
		target, err := os.Readlink(link)
		if err != nil {
			return err
		}
		dst := filepath.Join(filepath.Dir(link), cur)
		if err := os.Symlink(target, dst); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.Remove(link); err != nil {
			return err
		}
	}
	return nil
}

// globQuote quotes what filepath.Match would read as a pattern: the
// backslashes of legacy unit names.
func globQuote(s string) string {
	var out []rune
	for _, r := range s {
		switch r {
		case '\\', '*', '?', '[':
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// idle tells whether a unit runs nothing: inactive, failed or not loaded.
func idle(st units.Status) bool {
	switch st.ActiveState {
	case "inactive", "failed", "":
		return true
	}
	return false
}
