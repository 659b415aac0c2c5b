package container

import (
	"context"
	"errors"

	"github.com/ctr-unit/ctr-unit/healthcheck"
)

var (
	// ErrNoSuchContainer is returned for a name no container has.
	ErrNoSuchContainer = errors.New("no such container")
	// ErrNameInUse is returned when creating a container whose name is
	// taken.
	ErrNameInUse = errors.New("name already in use")
)

// Records keeps containers' definitions.
type Records interface {
	// Create stores a new container's record and so claims its name: of
	// two creates of one name, one fails with ErrNameInUse.
	Create(cfg *Config) error
	// Sync makes a new record durable.
	Sync(name string) error
	// SaveDefined writes the record of a container defined in a file,
	// whose name is the file's: there is nothing to claim.
	SaveDefined(cfg *Config) error
	// Config reads a container's definition; ErrNoSuchContainer if there
	// is none.
	Config(name string) (*Config, error)
	// Names lists the stored containers, sorted.
	Names() ([]string, error)
	// Remove deletes a container's records.
	Remove(name string) error
	// Sweep removes what killed creates and removals left.
	Sweep()
}

// PendingLayers mark containers whose image layer their record names
// before it is made: run -d makes it while systemd starts the unit.
type PendingLayers interface {
	// CreateLayerPending is Records.Create for such a container.
	CreateLayerPending(cfg *Config) error
	// LayerPending says whether the layer may not be made yet: a start
	// that finds none is to make it.
	LayerPending(name string) bool
	// ClearLayerPending says the layer is made and on the disk.
	ClearLayerPending(name string) error
}

// States keeps what changes over a container's life.
type States interface {
	// State reads the state; a container never started has a zero one.
	State(name string) (State, error)
	// WriteState replaces the state at once and returns a wait for its
	// flush to disk, which the caller may overlap with other work.
	WriteState(name string, st State) (flushed func() error, err error)
	// SaveState is WriteState, waiting for the flush.
	SaveState(name string, st State) error
}

// Exits keeps how a container's last run ended.
type Exits interface {
	// Exit reads it; nil if there is no record of one.
	Exit(name string) (*Exit, error)
	// ClearExit forgets it before a new start.
	ClearExit(name string) error
}

// Healths keeps containers' health states.
type Healths interface {
	// Health reads the state; nil if there is none (or what a crash left
	// of it does not parse).
	Health(name string) (*healthcheck.State, error)
	SaveHealth(name string, st healthcheck.State) error
	// LockHealth serialises the checks of one container.
	LockHealth(name string) (unlock func(), err error)
}

// Locks serialise the commands on one container.
type Locks interface {
	// Lock waits until the container's lock is free or ctx ends (a ctx
	// already done: one try). It fails with ErrNoSuchContainer once the
	// container is gone.
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// Store is everything kept of containers.
type Store interface {
	Records
	States
	Exits
	Healths
	Locks
	PendingLayers
}
