package supervisor

import (
	"context"
	"syscall"

	"github.com/ctr-unit/ctr-unit/sdbus"
	"github.com/ctr-unit/ctr-unit/units"
)

// What the supervisor asks of systemd, in small parts; *sdbus.Client has
// them all, and the unit tests' fake too.

// jobs start and stop units and wait for the jobs.
type jobs interface {
	StartTransient(ctx context.Context, unit string, props []units.Prop, aux ...units.Aux) error
	Start(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
	Restart(ctx context.Context, unit string) error
}

// queue queues jobs without waiting for them: for callers the job is
// ordered after, or may end.
type queue interface {
	StartTransientNoWait(ctx context.Context, unit string, props []units.Prop, aux ...units.Aux) error
	StartNoWait(ctx context.Context, unit string) error
	StopNoWait(ctx context.Context, unit string) error
}

// unitState reads units' state.
type unitState interface {
	Status(ctx context.Context, unit string) (units.Status, error)
	ActiveStates(ctx context.Context, unitNames []string) (map[string]units.Status, error)
	NRestarts(ctx context.Context, unit string) (uint32, error)
	Details(ctx context.Context, live, restartable []string) (map[string]units.Status, error)
	WaitInactive(ctx context.Context, unit string) error
}

// unitControl acts on running units.
type unitControl interface {
	Kill(ctx context.Context, unit string, whom sdbus.Whom, sig syscall.Signal) error
	ResetFailed(ctx context.Context, unit string) error
	Freeze(ctx context.Context, unit string) error
	Thaw(ctx context.Context, unit string) error
	AttachProcesses(ctx context.Context, unit, subcgroup string, pids ...uint32) error
}

// unitFiles manage units loaded from files.
type unitFiles interface {
	Reload(ctx context.Context) error
	Disable(ctx context.Context, unitNames ...string) error
	DropInPaths(ctx context.Context, unit string) ([]string, error)
	TemplateInstalled(ctx context.Context) (bool, error)
}

// watcher follows units' changes as systemd signals them.
type watcher interface {
	Watch(ctx context.Context, match func(unit string) bool) (<-chan sdbus.Change, error)
}

// Systemd is one connection to systemd's manager.
type Systemd interface {
	jobs
	queue
	unitState
	unitControl
	unitFiles
	watcher
}

var _ Systemd = (*sdbus.Client)(nil)

// Whom to signal.
const (
	mainProcess  = sdbus.Whom("main")
	allProcesses = sdbus.Whom("all")
)
