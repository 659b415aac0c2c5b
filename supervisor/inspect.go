package supervisor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
)

// Info is everything known of a container at one moment.
type Info struct {
	Config *container.Config
	State  container.State
	Exit   *container.Exit
	Unit   units.Status
	Status Status
	// Pid is the container's init while it runs (the unit's main
	// process), else 0; StartedAt is when its current or last run
	// began. Both come from runc's pid file, which the unit's start step
	// names as the main process, so ps need not ask systemd unit by unit.
	Pid       uint32
	StartedAt time.Time
	// Health is the healthcheck state (nil without a healthcheck).
	Health *healthcheck.State
}

// RestartCount is systemd's count of restarts while the unit is loaded,
// else the last one seen.
func (i *Info) RestartCount() uint32 {
	n := i.State.RestartCount
	if i.Unit.Loaded() {
		n = i.Unit.NRestarts
	}
	return i.Config.Restart.Performed(n)
}

// Inspect reads a container's record and its unit's state.
func (s *Supervisor) Inspect(ctx context.Context, name string) (*Info, error) {
	cfg, err := s.store.Config(name)
	if errors.Is(err, container.ErrNoSuchContainer) {
		// A definition whose image could not be pulled has no record
		// yet: what failed is all there is to show.
		if info, perr := s.pullFailed(ctx, name); perr == nil {
			return info, nil
		}
	}
	if err != nil {
		return nil, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, err
	}
	unit, err := systemd.Status(ctx, cfg.Unit)
	if err != nil {
		return nil, err
	}
	return s.info(cfg, unit)
}

func (s *Supervisor) info(cfg *container.Config, unit units.Status) (*Info, error) {
	return s.infoWith(cfg, unit, nil)
}

// initRead is what runningInit found: one read serves a container's pid,
// start and health.
type initRead struct {
	pid     int
	created time.Time
	ok      bool
}

func (s *Supervisor) readInit(name string) *initRead {
	pid, created, ok := s.runningInit(name)
	return &initRead{pid, created, ok}
}

// infoWith is info with the container's init as read already (nil: read
// it if need be).
func (s *Supervisor) infoWith(cfg *container.Config, unit units.Status, init *initRead) (*Info, error) {
	st, err := s.store.State(cfg.Name)
	if err != nil {
		return nil, err
	}
	ex, err := s.store.Exit(cfg.Name)
	if err != nil {
		return nil, err
	}
	frozen := s.isFrozen(cfg, unit)
	status := DeriveStatus(unit, st, ex != nil, frozen)
	if cfg.PullsInUnit() && !status.Live() {
		// Its unit's pull may have failed since its last run.
		msg, at := s.pullError(cfg.Name)
		ex = pullFailure(ex, st, msg, at)
		status = DeriveStatus(unit, st, ex != nil, frozen)
	}
	info := &Info{Config: cfg, State: st, Exit: ex, Unit: unit, Status: status}
	if init == nil && (info.Status.Live() || cfg.Health != nil) {
		init = s.readInit(cfg.Name)
	}
	info.Pid, info.StartedAt = run(info, init)
	if info.Health, err = s.healthWith(cfg, init); err != nil {
		return nil, err
	}
	return info, nil
}

// run says which process runs the container and when its run began. A
// running container's init is the unit's main process: its start step
// read it from the pid file runc create wrote and told systemd. Without a
// live init there (the unit is starting or stopping) it is what systemd
// says, if asked (unit.MainPID). A run that is over began when its exit
// record says, or, in records of older versions, when ctr-unit last
// started it.
func run(info *Info, init *initRead) (uint32, time.Time) {
	if info.Status.Live() {
		if init.ok {
			return uint32(init.pid), init.created
		}
		if info.Unit.MainPID != 0 {
			return info.Unit.MainPID, info.Unit.StartedAt
		}
	}
	if info.Exit != nil && !info.Exit.StartedAt.IsZero() {
		return 0, info.Exit.StartedAt
	}
	return 0, info.State.StartedAt
}

// List returns every container (or only the live ones), asking systemd
// for all of their units in one call.
func (s *Supervisor) List(ctx context.Context, all bool) ([]*Info, error) {
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	read := make([]*container.Config, len(names))
	known := s.takeRead()
	err = eachParallel(len(names), func(i int) error {
		if cfg, ok := known[names[i]]; ok {
			read[i] = cfg
			return nil
		}
		cfg, err := s.store.Config(names[i])
		if errors.Is(err, container.ErrNoSuchContainer) {
			return nil // removed meanwhile
		}
		read[i] = cfg
		return err
	})
	if err != nil {
		return nil, err
	}
	configs := make([]*container.Config, 0, len(names))
	unitNames := make([]string, 0, len(names))
	for _, cfg := range read {
		if cfg != nil {
			configs = append(configs, cfg)
			unitNames = append(unitNames, cfg.Unit)
		}
	}
	failed, err := s.pullFailedInfos(ctx, names, all)
	if err != nil || len(configs) == 0 {
		return failed, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, err
	}
	states, err := systemd.ActiveStates(ctx, unitNames)
	if err != nil {
		return nil, err
	}
	// What the one call does not return: the restart count, of the units
	// systemd may restart (a count that is always 0 is not asked for,
	// systemd answering one unit at a time). The main process is read
	// from the container's own files (run); systemd is asked only for
	// live units that have none.
	inits := make([]*initRead, len(configs))
	eachParallel(len(configs), func(i int) error {
		if st, ok := states[configs[i].Unit]; ok && st.ActiveState != "inactive" && st.ActiveState != "failed" {
			inits[i] = s.readInit(configs[i].Name)
		}
		return nil
	})
	var restartable, unknown []string
	for i, cfg := range configs {
		if _, ok := states[cfg.Unit]; !ok {
			continue
		}
		if cfg.MayRestart() {
			restartable = append(restartable, cfg.Unit)
		}
		if inits[i] != nil && !inits[i].ok {
			unknown = append(unknown, cfg.Unit)
		}
	}
	if len(restartable)+len(unknown) > 0 {
		details, err := systemd.Details(ctx, unknown, restartable)
		if err != nil {
			return nil, err
		}
		for u, d := range details {
			st := states[u]
			st.MainPID, st.StartedAt, st.NRestarts = d.MainPID, d.StartedAt, d.NRestarts
			states[u] = st
		}
	}
	infos := make([]*Info, len(configs))
	err = eachParallel(len(configs), func(i int) error {
		var err error
		infos[i], err = s.infoWith(configs[i], states[configs[i].Unit], inits[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*Info
	for _, info := range infos {
		if all || info.Status.Live() || info.Status == StatusRestarting {
			out = append(out, info)
		}
	}
	return append(out, failed...), nil
}

// pullFailedInfos are the definitions without a record among names whose
// pull failed (shown with -a only: they do not run).
func (s *Supervisor) pullFailedInfos(ctx context.Context, names []string, all bool) ([]*Info, error) {
	if !all {
		return nil, nil
	}
	var out []*Info
	for _, n := range s.pullFailedNames() {
		if slices.Contains(names, n) {
			continue
		}
		info, err := s.pullFailed(ctx, n)
		if err != nil {
			continue // its file is gone or unreadable: validate says why
		}
		out = append(out, info)
	}
	return out, nil
}

// Unit returns the name of a container's unit (for journalctl).
func (s *Supervisor) Unit(name string) (string, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return "", err
	}
	return cfg.Unit, nil
}

// current is Inspect for commands that only decide on the status: it asks
// systemd for the unit's active state alone, a tenth of the cost of
// reading all of its properties. It returns the connection too.
func (s *Supervisor) current(ctx context.Context, name string) (*Info, Systemd, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, nil, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, nil, err
	}
	states, err := systemd.ActiveStates(ctx, []string{cfg.Unit})
	if err != nil {
		return nil, nil, err
	}
	info, err := s.info(cfg, states[cfg.Unit])
	return info, systemd, err
}

// lockCurrent takes container name's lock and reads its status (current);
// the caller unlocks.
func (s *Supervisor) lockCurrent(ctx context.Context, name string) (*Info, Systemd, func(), error) {
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	info, systemd, err := s.current(ctx, name)
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return info, systemd, unlock, nil
}

// listWorkers read containers' files at once: the reads wait on system
// calls far more than they compute.
const listWorkers = 8

// eachParallel calls f for 0..n-1 on up to listWorkers goroutines and
// returns the error of the lowest index that failed, as a loop stopping
// at the first error would.
func eachParallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, listWorkers) {
		wg.Go(func() {
			for i := range next {
				errs[i] = f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
