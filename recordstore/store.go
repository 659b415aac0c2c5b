// Package recordstore keeps container records in files, one directory per
// container below the state directory: the implementation of
// container.Store. Every write is an atomic rename, so a CLI killed at any
// moment leaves each record either as it was or as it was meant to
// become.
package recordstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/jsonfile"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

const (
	configFile     = "config.json"
	stateFile      = "state.json"
	exitFile       = unitstep.ExitFileName
	healthFile     = "health.json"
	healthLockFile = "health.lock"
	// layerPendingFile marks a container whose image layer its first
	// start makes (CreateLayerPending).
	layerPendingFile = "layer-pending"
)

// Aliases of the container package's, which its callers check.
var (
	errNoSuchContainer = container.ErrNoSuchContainer
	errNameInUse       = container.ErrNameInUse
)

type (
	Config = container.Config
	State  = container.State
	Exit   = container.Exit
)

// Store keeps container records below dir.
type Store struct {
	dir string
}

var _ container.Store = (*Store)(nil)

// Open opens the records of dirs. It creates nothing: the directory comes
// with the first record, and the generator, which opens the store at
// early boot, must not write there (/var may not even be mounted yet).
func Open(dirs unitstep.Dirs) *Store {
	return &Store{dir: dirs.Records()}
}

func (s *Store) path(name string, file ...string) string {
	return filepath.Join(append([]string{s.dir, name}, file...)...)
}

// Create stores a new container. The record is written into a private
// directory which is then renamed into place: the rename is what claims
// the name, so two concurrent creates of one name cannot both succeed and
// a killed create leaves no half record under the name. Sync makes it
// durable: a caller can do that while it starts the container.
func (s *Store) Create(cfg *Config) error {
	return s.create(cfg, false)
}

// CreateLayerPending is Create for a container whose image layer, which
// its record names, is made only by its first start (run -d makes it
// while systemd starts the unit): until ClearLayerPending, a start that
// finds no layer is to make it, since a run -d killed meanwhile made none.
func (s *Store) CreateLayerPending(cfg *Config) error {
	return s.create(cfg, true)
}

// LayerPending says whether container name's layer may not be made yet
// (CreateLayerPending).
func (s *Store) LayerPending(name string) bool {
	_, err := os.Lstat(s.path(name, layerPendingFile))
	return err == nil
}

// ClearLayerPending says that container name's layer is made and on the
// disk.
func (s *Store) ClearLayerPending(name string) error {
	if err := os.Remove(s.path(name, layerPendingFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("container %s: %w", name, err)
	}
	return nil
}

func (s *Store) create(cfg *Config, layerPending bool) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	tmp, err := os.MkdirTemp(s.dir, ".new-"+cfg.Name+"-")
	if err != nil {
		return fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	if err := jsonfile.WriteVolatile(filepath.Join(tmp, configFile), cfg); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	if layerPending {
		// In the record's directory before it is renamed into place,
		// and made durable by the same Sync.
		if err := os.WriteFile(filepath.Join(tmp, layerPendingFile), nil, 0o600); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("create container %s: %w", cfg.Name, err)
		}
	}
	if err := os.Rename(tmp, s.path(cfg.Name)); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("%w: a container named %q exists; remove it (ctr-unit rm %s) or choose another name", errNameInUse, cfg.Name, cfg.Name)
		}
		return fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	return nil
}

// Sync flushes a new container's record to disk: its config, and the
// directory entries that make it the container's.
func (s *Store) Sync(name string) error {
	for _, p := range []string{s.path(name, configFile), s.path(name), s.dir} {
		if err := jsonfile.Sync(p); err != nil {
			return fmt.Errorf("save container %s: %w", name, err)
		}
	}
	return nil
}

// Names lists the stored containers, sorted.
func (s *Store) Names() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no container made yet
	}
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Config loads a container's definition.
func (s *Store) Config(name string) (*Config, error) {
	var cfg Config
	if err := jsonfile.Read(s.path(name, configFile), &cfg); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", errNoSuchContainer, name)
		}
		return nil, fmt.Errorf("read container %s: %w", name, err)
	}
	if cfg.ID == "" {
		// Recorded before containers had IDs: the same one at every
		// read.
		cfg.ID = container.DerivedID(cfg.Name, cfg.CreatedAt)
	}
	return &cfg, nil
}

// State loads the mutable state; a container never started has a zero one.
func (s *Store) State(name string) (State, error) {
	var st State
	if err := jsonfile.ReadVolatile(s.path(name, stateFile), &st); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("read state of %s: %w", name, err)
	}
	return st, nil
}

// SaveState is WriteState, waiting for its flush. Callers hold the
// container's lock.
func (s *Store) SaveState(name string, st State) error {
	flushed, err := s.WriteState(name, st)
	if err != nil {
		return err
	}
	return flushed()
}

// WriteState replaces the mutable state atomically and flushes it to disk
// in the background when that matters: when StoppedByUser changes, since
// that decides at the next boot whether an unless-stopped container comes
// up, and a power cut must not undo it. The rest (start time, restart
// count) is refreshed by the next run; a flush would cost every start and
// stop a few milliseconds on a disk that has been idle (make bench).
// flushed waits for the flush: a caller calls it before it reports
// success, and meanwhile talks to systemd. Callers hold the container's
// lock.
func (s *Store) WriteState(name string, st State) (flushed func() error, err error) {
	old, err := s.State(name)
	if err != nil {
		return nil, err
	}
	path := s.path(name, stateFile)
	if err := jsonfile.WriteVolatile(path, st); err != nil {
		return nil, fmt.Errorf("save state of %s: %w", name, err)
	}
	if old.StoppedByUser == st.StoppedByUser {
		return func() error { return nil }, nil
	}
	done := make(chan error, 1)
	go func() {
		for _, p := range []string{path, s.path(name)} {
			if err := jsonfile.Sync(p); err != nil {
				done <- fmt.Errorf("save state of %s: %w", name, err)
				return
			}
		}
		done <- nil
	}()
	return func() error { return <-done }, nil
}

// Exit returns how the last run ended, or nil if there is no record of it.
func (s *Store) Exit(name string) (*Exit, error) {
	ex, err := unitstep.ReadExit(s.path(name, exitFile))
	if err != nil {
		return nil, fmt.Errorf("read exit status of %s: %w", name, err)
	}
	return ex, nil
}

// ClearExit forgets the last exit before a new start.
func (s *Store) ClearExit(name string) error {
	if err := os.Remove(s.path(name, exitFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear exit status of %s: %w", name, err)
	}
	return nil
}

// Remove deletes a container's record. The rename takes the name away at
// once; what is left of a killed removal is a hidden directory that the
// next removal of anything sweeps up.
func (s *Store) Remove(name string) error {
	gone := filepath.Join(s.dir, fmt.Sprintf(".rm-%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(s.path(name), gone); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", errNoSuchContainer, name)
		}
		return fmt.Errorf("remove container %s: %w", name, err)
	}
	s.Sweep()
	return nil
}

// Sweep removes directories that killed creates and removals left.
func (s *Store) Sweep() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".rm-") {
			os.RemoveAll(filepath.Join(s.dir, e.Name()))
		} else if strings.HasPrefix(e.Name(), ".new-") {
			// A create in progress is fresh; one a minute old was killed.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.RemoveAll(filepath.Join(s.dir, e.Name()))
			}
		}
	}
}

// Lock serialises commands on one container (commands on other containers
// do not wait). It waits until the lock is free or ctx ends. The lock is a
// flock on the container's directory, so it dies with the process holding
// it, and a removal renames the directory away: a waiter then finds the
// container gone.
func (s *Store) Lock(ctx context.Context, name string) (unlock func(), err error) {
	f, err := os.Open(s.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", errNoSuchContainer, name)
		}
		return nil, fmt.Errorf("lock container %s: %w", name, err)
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock container %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("container %s is busy with another command: %w", name, ctx.Err())
		case <-time.After(delay):
		}
	}
	// Still ours? A removal may have won the race for the lock.
	var held, current unix.Stat_t
	if unix.Fstat(int(f.Fd()), &held) != nil || unix.Stat(s.path(name), &current) != nil || held.Ino != current.Ino {
		f.Close()
		return nil, fmt.Errorf("%w: %s", errNoSuchContainer, name)
	}
	return func() { f.Close() }, nil
}

// SaveDefined writes the record of a container defined in a file, making
// its directory if needed: its name is the file's, nothing to claim.
func (s *Store) SaveDefined(cfg *Config) error {
	if err := os.MkdirAll(s.path(cfg.Name), 0o700); err != nil {
		return fmt.Errorf("record container %s: %w", cfg.Name, err)
	}
	if err := jsonfile.WriteDurable(s.path(cfg.Name, configFile), cfg); err != nil {
		return fmt.Errorf("record container %s: %w", cfg.Name, err)
	}
	return nil
}

// Health loads a container's health state; nil if it never had one, or
// if what a crash left of it does not parse (see SaveHealth).
func (s *Store) Health(name string) (*healthcheck.State, error) {
	var st healthcheck.State
	if err := jsonfile.ReadVolatile(s.path(name, healthFile), &st); err != nil {
		var syntax *json.SyntaxError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &syntax) {
			return nil, nil
		}
		return nil, fmt.Errorf("read health of %s: %w", name, err)
	}
	return &st, nil
}

// SaveHealth replaces the health state atomically but, unlike the other
// records, without a flush: every check rewrites it, each second per
// container on a disk, and a state a crash lost or tore is merely started
// afresh by the next check.
func (s *Store) SaveHealth(name string, st healthcheck.State) error {
	if err := jsonfile.WriteVolatile(s.path(name, healthFile), st); err != nil {
		return fmt.Errorf("save health of %s: %w", name, err)
	}
	return nil
}

// LockHealth serialises updates of the health state. It is not the
// container's lock: a stop holding that waits for the unit, and the unit
// may be waiting for a check.
func (s *Store) LockHealth(name string) (func(), error) {
	f, err := os.OpenFile(s.path(name, healthLockFile), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock health of %s: %w", name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock health of %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
