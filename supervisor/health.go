package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/sdbus"
	"github.com/ctr-unit/ctr-unit/sdnotify"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// ErrNoHealthcheck is returned for checks of a container that has none.
var ErrNoHealthcheck = errors.New("container has no healthcheck")

// healthUnits lists the timer and service that check cfg's container.
func healthUnits(cfg *container.Config) []string {
	timer, service := healthcheck.Units(cfg.Name, cfg.Unit)
	return []string{timer, service}
}

// healthCleanup stops and forgets what is left of a container's check
// units (a check still running, a unit that failed): their names must be
// free before the next start.
func (s *Supervisor) healthCleanup(ctx context.Context, systemd Systemd, cfg *container.Config) error {
	if cfg.Health == nil || !cfg.Health.Scheduled() {
		return nil
	}
	names := healthUnits(cfg)
	states, err := systemd.ActiveStates(ctx, names)
	if err != nil {
		return err
	}
	for _, u := range names {
		if _, loaded := states[u]; !loaded {
			continue
		}
		if err := systemd.Stop(ctx, u); err != nil {
			return fmt.Errorf("stop healthcheck of %s: %w", cfg.Name, err)
		}
		if err := systemd.ResetFailed(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// healthTimer returns the names and properties of the check units.
func (s *Supervisor) healthTimer(cfg *container.Config) (string, []units.Prop, units.Aux) {
	h := cfg.Health
	first := time.Duration(0)
	if h.ReadyWhenHealthy && !h.InStartup(healthcheck.State{}) {
		first = h.Period() // the start step has just checked
	}
	argv := s.steps.Argv(unitstep.HealthCheck, false, cfg.Name)
	timer, service := healthcheck.Units(cfg.Name, cfg.Unit)
	return timer, h.TimerProperties(cfg.Unit, first), units.Aux{Name: service, Props: h.ServiceProperties(argv)}
}

// HealthArm creates the check timer of a container whose unit is
// starting; the unit's start step calls it on every start, systemd's
// restarts and boot included. The timer is ordered after the container's
// unit, so its start job (not waited for: the step is part of the unit's
// own start) runs once the container is up, and the first check with it.
// Bound to the unit, the timer stops whenever the unit stops, and systemd
// then drops it: nothing of it outlives the container's run.
func (s *Supervisor) HealthArm(ctx context.Context, name string) error {
	cfg, err := s.store.Config(name)
	if err != nil || cfg.Health == nil || !cfg.Health.Scheduled() {
		return err
	}
	hs, err := s.sd(ctx)
	if err != nil {
		return err
	}
	timer, props, service := s.healthTimer(cfg)
	err = hs.StartTransientNoWait(ctx, timer, props, service)
	if errors.Is(err, sdbus.ErrUnitExists) {
		// What the last run left is still loaded: a check still running
		// or a timer not yet collected.
		states, serr := hs.ActiveStates(ctx, []string{timer})
		if serr != nil {
			return serr
		}
		if _, loaded := states[timer]; loaded {
			err = hs.StartNoWait(ctx, timer)
		} else {
			err = hs.StartTransientNoWait(ctx, timer, props)
		}
	}
	if err != nil {
		return fmt.Errorf("start healthcheck of %s: %w", name, err)
	}
	return nil
}

// healthStart starts the checks of a running container (after unpause).
func (s *Supervisor) healthStart(ctx context.Context, systemd Systemd, cfg *container.Config) error {
	if cfg.Health == nil || !cfg.Health.Scheduled() {
		return nil
	}
	timer, props, service := s.healthTimer(cfg)
	if err := systemd.StartTransient(ctx, timer, props, service); err != nil {
		return fmt.Errorf("start healthcheck of %s: %w", cfg.Name, err)
	}
	return nil
}

// runningInit returns the pid of the container's init and when it was
// created, if it is alive.
func (s *Supervisor) runningInit(name string) (int, time.Time, bool) {
	return ociruntime.RunningInit(s.dirs.PIDFile(name))
}

// CheckOptions say who runs a check.
type CheckOptions struct {
	// Scheduled: the timer runs it. A container that is not running is
	// then no error, and a check that is not due yet is skipped.
	Scheduled bool
	// inUnit: the process runs inside the container's unit (the start
	// step of a ready-when-healthy container).
	inUnit bool
}

// CheckReport is what one run of Healthcheck found.
type CheckReport struct {
	// Status is the container's health after the check; "" when a
	// scheduled check found the container not running.
	Status string
	// Ran: the check's command ran (a scheduled check not due does not);
	// Passed: it succeeded.
	Ran, Passed bool
	// Stopped: the container stopped during the check, which therefore
	// says nothing of its health: nothing is recorded.
	Stopped bool
}

// Healthcheck runs one check of a running container, records it and,
// if the status changed, tells systemd and carries out the on-failure
// action.
//
// It is what the timer runs, so it does only what one check needs:
// systemd is contacted only when the status changes, or when a failed
// check may have failed because the container is stopping.
func (s *Supervisor) Healthcheck(ctx context.Context, name string, o CheckOptions) (CheckReport, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return CheckReport{}, err
	}
	h := cfg.Health
	if h == nil {
		return CheckReport{}, fmt.Errorf("%w: %s; create it with --health-cmd", ErrNoHealthcheck, name)
	}
	pid, started, ok := s.runningInit(name)
	if !ok {
		if o.Scheduled {
			return CheckReport{}, nil
		}
		return CheckReport{}, fmt.Errorf("%w: %s", ErrNotRunning, name)
	}
	// The state is read once, under the lock held through the check:
	// checks of one container (the timer's, a manual one) take turns.
	unlock, err := s.store.LockHealth(name)
	if err != nil {
		return CheckReport{}, err
	}
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	saved, err := s.store.Health(name)
	if err != nil {
		return CheckReport{}, err
	}
	st := healthcheck.ForRun(deref(saved), pid, started)
	if o.Scheduled && !h.Due(st, time.Now()) {
		return CheckReport{Status: st.Status}, nil
	}
	startup := h.InStartup(st)
	res, perr := s.probe(cfg, h.ProbeFor(st))
	if s.stoppedDuring(ctx, cfg, pid, perr == nil && res.ExitCode == 0) {
		// The result is about a run that is over, or ending.
		return CheckReport{Stopped: true}, nil
	}
	if perr != nil {
		return CheckReport{}, perr
	}
	st, out := h.Record(st, res, startup)
	if out.Changed {
		st.Reported = st.Status
	}
	err = s.store.SaveHealth(name, st)
	unlock()
	unlock = nil
	report := CheckReport{Status: st.Status, Ran: true, Passed: res.ExitCode == 0}
	if err != nil {
		return report, err
	}
	if out.Changed {
		s.event(cfg, events.HealthStatus, func(ev *events.Event) { ev.Health = st.Status })
	}
	if out.Changed || out.Act != "" {
		if err := s.tellSystemd(ctx, cfg, pid, st.Status, out, o.inUnit); err != nil {
			return report, err
		}
	}
	return report, nil
}

// stoppedDuring reports whether the container's run of init pid is over,
// or ending: a check that failed then failed because of the stop (its
// process killed, the service gone), as podman tells. Whether the unit
// is stopping is asked of systemd only for a check that failed.
func (s *Supervisor) stoppedDuring(ctx context.Context, cfg *container.Config, pid int, passed bool) bool {
	if now, _, ok := s.runningInit(cfg.Name); !ok || now != pid || ociruntime.Zombie(pid) {
		return true
	}
	if passed {
		return false
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return false
	}
	states, err := systemd.ActiveStates(ctx, []string{cfg.Unit})
	if err != nil {
		return false
	}
	st, loaded := states[cfg.Unit]
	switch {
	case !loaded, st.SubState == "auto-restart":
		return true
	}
	return st.ActiveState == "deactivating" || st.ActiveState == "inactive" || st.ActiveState == "failed"
}

func deref(st *healthcheck.State) healthcheck.State {
	if st == nil {
		return healthcheck.State{}
	}
	return *st
}

// probe runs one check command in the container.
func (s *Supervisor) probe(cfg *container.Config, p healthcheck.Probe) (healthcheck.Result, error) {
	runc, err := s.runc()
	if err != nil {
		return healthcheck.Result{}, err
	}
	pidFile := filepath.Join(s.dirs.Bundle(cfg.Name), fmt.Sprintf("health-%d.pid", os.Getpid()))
	start := time.Now()
	r, err := runc.Probe(cfg.Name, p.Argv(), p.Timeout, pidFile, healthcheck.MaxOutputLen)
	end := time.Now()
	if err != nil {
		return healthcheck.Result{}, fmt.Errorf("healthcheck of %s: %w", cfg.Name, err)
	}
	if r.TimedOut {
		return healthcheck.TimeoutResult(start, end, p.Timeout), nil
	}
	return healthcheck.Result{Start: start, End: end, ExitCode: r.ExitCode, Output: r.Output}, nil
}

// tellSystemd shows the new status on the container's unit and carries
// out the on-failure action.
//
// systemd attributes a notification to the unit of the process it comes
// from, so a check unit's cannot set the container unit's status: it is
// sent on behalf of the container's init, pid (sdnotify.NotifyAs). This
// process stays outside the container's unit, so the action (a kill, a
// stop of that unit) cannot take it along before it has reported.
func (s *Supervisor) tellSystemd(ctx context.Context, cfg *container.Config, pid int, status string, out healthcheck.Outcome, inUnit bool) error {
	hs, err := s.sd(ctx)
	if err != nil {
		return err
	}
	var errs []error
	if msg := cfg.Health.Notification(status, out); msg != "" {
		if inUnit {
			err = sdnotify.Notify(msg, sdnotify.Timeout)
		} else {
			err = sdnotify.NotifyAs(pid, msg, sdnotify.Timeout)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tell systemd the health of %s (%s): %w", cfg.Name, cfg.Unit, err))
		}
	}
	switch out.Act {
	case healthcheck.ActionKill:
		// As ctr-unit kill: the unit's Restart= decides what follows.
		errs = append(errs, hs.Kill(ctx, cfg.Unit, mainProcess, syscall.SIGKILL))
	case healthcheck.ActionStop:
		// As ctr-unit stop, recorded first: an unless-stopped container
		// stays down at boot, and the restart count outlives the unit.
		errs = append(errs, s.markStoppedByUser(ctx, hs, cfg), hs.StopNoWait(ctx, cfg.Unit))
	}
	return errors.Join(errs...)
}

// markStoppedByUser records a stop the container's healthcheck asked for
// as ctr-unit stop records the user's.
func (s *Supervisor) markStoppedByUser(ctx context.Context, systemd Systemd, cfg *container.Config) error {
	st, err := s.store.State(cfg.Name)
	if err != nil {
		return err
	}
	st.StoppedByUser = true
	if st.RestartCount, err = systemd.NRestarts(ctx, cfg.Unit); err != nil {
		return err
	}
	return s.store.SaveState(cfg.Name, st)
}

// StartHealthy is the ExecStart of a container that is ready only once
// healthy (a Type=notify unit). It creates the container, names its init
// as the main process, starts it, and then checks until the container is
// healthy; that check sends READY=1. It runs inside the unit, so systemd
// takes its notifications as the unit's. If the container never gets
// healthy, systemd's start timeout ends it.
func (s *Supervisor) StartHealthy(ctx context.Context, name string) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	if cfg.Health == nil {
		return fmt.Errorf("%w: %s", ErrNoHealthcheck, name)
	}
	steps, err := s.unitSteps()
	if err != nil {
		return err
	}
	if err := s.fs.MountRoot(cfg, s.dirs.Bundle(name)); err != nil {
		return err
	}
	pid, err := steps.Create(name)
	if err != nil {
		return err
	}
	if err := steps.StartCreated(name, pid); err != nil {
		return err
	}
	_ = sdnotify.Notify("STATUS="+healthcheck.Starting, sdnotify.Timeout)
	for {
		report, err := s.Healthcheck(ctx, name, CheckOptions{inUnit: true})
		if err != nil && errors.Is(err, ErrNotRunning) {
			return err
		}
		if report.Stopped {
			return fmt.Errorf("%w: %s stopped during its first checks", ErrNotRunning, name)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctr-unit:", err)
		}
		if report.Status == healthcheck.Healthy {
			return s.HealthArm(ctx, name)
		}
		st, _ := s.store.Health(name)
		select {
		case <-time.After(cfg.Health.ProbeFor(deref(st)).Interval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// healthWith is the container's health as inspect shows it: a run that
// has not been checked yet is starting, whatever the last run ended with.
// init is the container's init as read already (nil: read it).
func (s *Supervisor) healthWith(cfg *container.Config, init *initRead) (*healthcheck.State, error) {
	if cfg.Health == nil {
		return nil, nil
	}
	saved, err := s.store.Health(cfg.Name)
	if err != nil {
		return nil, err
	}
	if init == nil {
		init = s.readInit(cfg.Name)
	}
	st := deref(saved)
	if init.ok {
		st = healthcheck.ForRun(st, init.pid, init.created)
	} else if saved == nil {
		// Never checked: no status yet, as podman shows it.
		st.Log = []healthcheck.Result{}
	}
	return &st, nil
}
