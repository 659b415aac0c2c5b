package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// A unit made with generate systemd --new needs no record: as podman's
// --new units do, it creates its container as it starts (create --replace
// --unit %n, with the create command the container was made with) and
// removes it when it stops (the remove step after stop-post). Its
// container's unit is the unit file's own name, whatever it is installed
// as.

// replaceExisting removes the container cfg's name holds, as rm -f does,
// for create --replace. The one case rm -f cannot handle is the unit that
// is starting now, in its create step: a --new unit whose earlier run left
// its container behind (a power cut skipped the stop steps). systemd
// starts only an inactive unit, so nothing of that container runs; it is
// removed without stopping the unit, which would stop this very start.
func (s *Supervisor) replaceExisting(ctx context.Context, cfg *container.Config) error {
	old, err := s.store.Config(cfg.Name)
	if errors.Is(err, container.ErrNoSuchContainer) {
		return nil
	}
	if err != nil {
		return err
	}
	if old.Unit == cfg.Unit {
		systemd, err := s.sd(ctx)
		if err != nil {
			return err
		}
		st, err := systemd.Status(ctx, cfg.Unit)
		if err != nil {
			return err
		}
		if st.ActiveState == "activating" && st.SubState == "start-pre" {
			return s.discard(ctx, old)
		}
	}
	return s.Remove(ctx, cfg.Name, true)
}

// Discard is the last stop step of --new unit unitName: once stop-post has
// recorded the exit and cleaned up, it removes the container (its layer,
// runtime files and record), if it is still that unit's. Like stop-post it
// takes no lock: a ctr-unit stop holding the lock is waiting for this step.
func (s *Supervisor) Discard(ctx context.Context, name, unitName string) error {
	cfg, err := s.store.Config(name)
	if errors.Is(err, container.ErrNoSuchContainer) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.Unit != unitName {
		// The create step failed and the name is another container's.
		return nil
	}
	if removalHeld(s.dirs.RemovalHold(name)) {
		// A command reports on this run (an attached run --rm) and
		// removes the container once it has read how it ended.
		return nil
	}
	return s.discard(ctx, cfg)
}

// HoldRemoval keeps the unit of --rm container name from removing it
// when it stops, until release: for a command that reports how the run
// ended and then removes the container itself (see Discard).
func (s *Supervisor) HoldRemoval(name string) (release func(), err error) {
	path := s.dirs.RemovalHold(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("hold removal of %s: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hold removal of %s: %w", name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("hold removal of %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

// removalHeld reports whether a command holds the removal (HoldRemoval).
// The lock dies with its holder, so a killed command holds nothing.
func removalHeld(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
}

// discard deletes what a container that does not run has on disk. It
// touches no unit: it is for containers whose unit is not ctr-unit's to
// manage.
func (s *Supervisor) discard(ctx context.Context, cfg *container.Config) error {
	if runc, err := s.runc(); err == nil {
		_ = runc.Delete(ctx, cfg.Name, true) // left by a run that stopped uncleanly
	}
	if err := os.RemoveAll(s.dirs.Bundle(cfg.Name)); err != nil {
		return fmt.Errorf("remove runtime files of %s: %w", cfg.Name, err)
	}
	if err := s.fs.Delete(cfg); err != nil {
		return err
	}
	if err := s.store.Remove(cfg.Name); err != nil && !errors.Is(err, container.ErrNoSuchContainer) {
		return err
	}
	return nil
}

// generateNew renders the --new unit of cfg's container (see above),
// named as a transient container's unit.
func (s *Supervisor) generateNew(cfg *container.Config, command string) (string, []byte, error) {
	if cfg.Source != "" {
		return "", nil, fmt.Errorf("%w: container %s is defined in %s: copy that file and ctr@.service to the other machine instead", container.ErrInvalid, cfg.Name, cfg.Source)
	}
	if len(cfg.CreateCommand) == 0 {
		return "", nil, fmt.Errorf("%w: container %s has no record of the command that created it (an older ctr-unit made it): create it again, then generate --new", container.ErrInvalid, cfg.Name)
	}
	c := *cfg
	c.Unit = units.TransientService(cfg.Name)
	// The other machine needs one binary, ctr-unit.
	steps := s.steps.WithoutLean()
	svc := s.serviceWith(&c, steps)
	create := steps.Command(append([]string{"create", "--replace", "--unit", units.UnitNameArg}, cfg.CreateCommand...)...)
	svc.ExecStartPre = append([][]string{create, steps.Argv(unitstep.Prepare, false, cfg.Name)}, svc.ExecStartPre...)
	// The unit is what the file is installed as: %n.
	svc.ExecStopPost = [][]string{
		steps.Argv(unitstep.StopPost, false, cfg.Name, units.UnitNameArg),
		steps.Argv(unitstep.Remove, false, cfg.Name, units.UnitNameArg),
	}
	if !cfg.NoNetworkWait {
		svc.Wants = append(svc.Wants, container.NetworkOnline)
		svc.After = append(svc.After, container.NetworkOnline)
	}
	svc.Extra = append(svc.Extra, unit.NewUnitOption("Install", "WantedBy", "multi-user.target"))
	needs := "the rootfs directory " + cfg.Rootfs
	if cfg.Image != "" {
		needs = "the image " + cfg.Image + " in its image store (ctr-unit image load)"
	}
	header := []string{
		c.Unit,
		"Generated by ctr-unit on " + time.Now().UTC().Format(time.RFC3339) + ":",
		"  " + command,
		"A standalone unit, as podman's --new ones: it creates container " + cfg.Name + " as it starts",
		"(ExecStartPre: create --replace, with the options it was created with) and",
		"removes it when it stops (the last ExecStopPost step); no record needs to exist.",
		"The machine needs ctr-unit at " + s.steps.Full + " and " + needs + ".",
		"Install it in /etc/systemd/system (under any name), systemctl daemon-reload, then",
		"systemctl start or enable it. ctr-unit ps, inspect, logs and stop work on the",
		"container while it runs.",
	}
	return c.Unit, svc.UnitFile(header...), nil
}
