package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// lastBootFile, in the state directory, holds the boot ID the records
// were last refreshed for.
const lastBootFile = "boot_id"

// Refresh brings the records up to date with the machine before a command
// reads them: after a reboot, the runtime files of containers last started
// in an earlier boot are stale (runc's state of a container that is gone
// would keep its name taken); and containers defined in files get records
// that match their files. Within one boot the first part costs one read of
// the boot ID. Units with the names of an older ctr-unit get their
// current names once they are not running (migrateUnits). Problems with
// single definition files are returned but every other container is
// refreshed all the same.
//
// names are the containers a command is about: only their definition
// files are read (nil: every file, for a command about all containers),
// so that a command on one container costs the same with ten or with a
// thousand defined.
func (s *Supervisor) Refresh(ctx context.Context, names []string) error {
	return errors.Join(s.refreshBoot(), s.migrateUnitsOnce(ctx), s.syncDefinitions(names))
}

func (s *Supervisor) refreshBoot() error {
	cur, err := unitstep.BootID()
	if err != nil {
		return nil // no boot ID to compare with: nothing can be stale
	}
	marker := filepath.Join(s.dirs.StateDir, lastBootFile)
	if last, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(last)) == cur {
		return nil
	}
	names, err := s.store.Names()
	if err != nil || len(names) == 0 {
		return err // nothing can be stale
	}
	var errs []error
	for _, name := range names {
		if err := s.refreshContainer(name, cur); err != nil {
			errs = append(errs, err)
		}
	}
	s.store.Sweep()
	if err := errors.Join(errs...); err != nil {
		return err // try again next time
	}
	if err := renameio.WriteFile(marker, []byte(cur+"\n"), 0o600); err != nil {
		return fmt.Errorf("record boot ID: %w", err)
	}
	return nil
}

// refreshContainer clears what an earlier boot left of one container.
// A container started in this boot (its unit's prepare step writes the
// boot ID before anything else) is left alone, and so is one another
// command holds: that command is of this boot, and may be writing the
// container's runtime files as its start (which records the boot ID
// only once the unit is under way).
func (s *Supervisor) refreshContainer(name, bootID string) error {
	// A done context: one try, no wait.
	busy, cancel := context.WithCancel(context.Background())
	cancel()
	unlock, err := s.store.Lock(busy, name)
	if errors.Is(err, context.Canceled) || errors.Is(err, container.ErrNoSuchContainer) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.store.State(name)
	if err != nil || st.BootID == bootID {
		return err
	}
	for _, dir := range []string{s.dirs.Bundle(name), filepath.Join(s.dirs.RuncRoot(), name)} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove stale runtime files of %s: %w", name, err)
		}
	}
	return nil
}

// StartAtBoot starts every container whose restart policy asks to be
// running after a reboot (ctr-unit-restart.service runs it at boot). It
// starts all it can and reports, by name, those that failed.
func (s *Supervisor) StartAtBoot(ctx context.Context) (started []string, err error) {
	if err := s.refreshBoot(); err != nil {
		return nil, err
	}
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, name := range names {
		cfg, err := s.store.Config(name)
		if errors.Is(err, container.ErrNoSuchContainer) {
			continue
		}
		st, serr := s.store.State(name)
		if err = errors.Join(err, serr); err != nil {
			errs = append(errs, err)
			continue
		}
		if !startsAtBoot(cfg, st) {
			continue
		}
		if err := s.Start(ctx, name, StartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("start %s at boot: %w", name, err))
			continue
		}
		started = append(started, name)
	}
	return started, errors.Join(errs...)
}
