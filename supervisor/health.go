package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/jsonfile"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
)

// ErrNoHealthcheck is returned for checks of a container that has none.
var ErrNoHealthcheck = errors.New("container has no healthcheck")

const (
	healthFile     = "health.json"
	healthLockFile = "health.lock"
	// healthCgroup is the child of the container's unit cgroup that a
	// check process joins to speak for the unit (see tellSystemd).
	healthCgroup = "/health"
)

// Health loads a container's health state; nil if it never had one, or
// if what a crash left of it does not parse (see SaveHealth).
func (s *Store) Health(name string) (*healthcheck.State, error) {
	var st healthcheck.State
	if err := jsonfile.Read(s.path(name, healthFile), &st); err != nil {
		var syntax *json.SyntaxError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &syntax) {
			return nil, nil
		}
		return nil, fmt.Errorf("read health of %s: %w", name, err)
	}
	return &st, nil
}

// SaveHealth replaces the health state atomically (a new file renamed
// over the old) but, unlike the other records, without fsync: every check
// rewrites it, each second per container on a disk, and a state a crash
// lost or tore is merely started afresh by the next check.
func (s *Store) SaveHealth(name string, st healthcheck.State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save health of %s: %w", name, err)
	}
	f, err := os.CreateTemp(s.path(name), "."+healthFile+"-*")
	if err != nil {
		return fmt.Errorf("save health of %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err == nil {
		err = os.Rename(f.Name(), s.path(name, healthFile))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("save health of %s: %w", name, err)
	}
	return nil
}

// lockHealth serialises updates of the health state. It is not the
// container's lock: a stop holding that waits for the unit, and the unit
// may be waiting for a check.
func (s *Store) lockHealth(name string) (func(), error) {
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

// healthSystemd is what checks need of systemd beyond Systemd.
type healthSystemd interface {
	Systemd
	AttachProcesses(ctx context.Context, unit, subcgroup string, pids ...uint32) error
	StopNoWait(ctx context.Context, unit string) error
	StartNoWait(ctx context.Context, unit string) error
	StartTransientNoWait(ctx context.Context, unit string, props []sd.Property, aux ...sd.PropertyCollection) error
}

func (s *Supervisor) healthSD(ctx context.Context) (healthSystemd, error) {
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, err
	}
	hs, ok := systemd.(healthSystemd)
	if !ok {
		return nil, errors.New("the systemd client cannot run healthchecks")
	}
	return hs, nil
}

// applyHealth adjusts a container's service for its healthcheck.
func applyHealth(svc *units.Service, cfg *Config, st steps) {
	h := cfg.Health
	if h == nil {
		return
	}
	if h.OnFailure == healthcheck.ActionRestart || (h.Startup != nil && h.Startup.Retries > 0) {
		// The restart action sends WATCHDOG=trigger: systemd kills the
		// main process with SIGKILL and, the unit's result being
		// "watchdog", restarts it, counted in NRestarts. Only this has
		// that result, so a user's kill (SIGKILL included) still leaves
		// the decision to the policy: with "no", Restart=on-watchdog
		// restarts after nothing else. on-failure and always restart
		// after a watchdog failure anyway.
		svc.WatchdogSignal = syscall.SIGKILL
		if svc.Restart == units.RestartNo {
			svc.Restart = units.RestartOnWatchdog
			// As for always: a check may restart it often.
			svc.NoStartLimit = true
		}
	}
	if h.ReadyWhenHealthy {
		// One step creates and starts the container, names its init as
		// the main process and then checks until it is healthy, when it
		// sends READY=1. It runs in the unit, so systemd takes its word.
		svc.Type = "notify"
		svc.ExecStart = st.argv("start-healthy", cfg.Name)
	}
}

// healthUnits lists the timer and service that check cfg's container.
func healthUnits(cfg *Config) []string {
	return []string{healthcheck.TimerUnit(cfg.Name), healthcheck.ServiceUnit(cfg.Name)}
}

// healthCleanup stops and forgets what is left of a container's check
// units (a check still running, a unit that failed): their names must be
// free before the next start.
func (s *Supervisor) healthCleanup(ctx context.Context, systemd Systemd, cfg *Config) error {
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
func (s *Supervisor) healthTimer(cfg *Config) (string, []sd.Property, sd.PropertyCollection) {
	h := cfg.Health
	first := time.Duration(0)
	if h.ReadyWhenHealthy && !h.InStartup(healthcheck.State{}) {
		first = h.Period() // the start step has just checked
	}
	argv := s.steps.command("healthcheck", "run", "--scheduled", cfg.Name)
	return healthcheck.TimerUnit(cfg.Name), h.TimerProperties(cfg.Unit, first), sdCollection(healthcheck.ServiceUnit(cfg.Name), h.ServiceProperties(argv))
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
	hs, err := s.healthSD(ctx)
	if err != nil {
		return err
	}
	timer, props, service := s.healthTimer(cfg)
	err = hs.StartTransientNoWait(ctx, timer, props, service)
	if errors.Is(err, units.ErrUnitExists) {
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
func (s *Supervisor) healthStart(ctx context.Context, systemd Systemd, cfg *Config) error {
	if cfg.Health == nil || !cfg.Health.Scheduled() {
		return nil
	}
	timer, props, service := s.healthTimer(cfg)
	if err := systemd.StartTransient(ctx, timer, props, service); err != nil {
		return fmt.Errorf("start healthcheck of %s: %w", cfg.Name, err)
	}
	return nil
}

// healthOnPause stops a container's checks: none runs while it is paused.
func (s *Supervisor) healthOnPause(ctx context.Context, cfg *Config) error {
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	return s.healthCleanup(ctx, systemd, cfg)
}

// healthOnUnpause resumes them, beginning with a check.
func (s *Supervisor) healthOnUnpause(ctx context.Context, cfg *Config) error {
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	return s.healthStart(ctx, systemd, cfg)
}

// runningInit returns the pid of the container's init and when it was
// created, if it is alive.
func (s *Supervisor) runningInit(name string) (int, time.Time, bool) {
	return ociruntime.RunningInit(s.paths.pidFile(name))
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

// Healthcheck runs one check of a running container, records it and,
// if the status changed, tells systemd and carries out the on-failure
// action. It returns the status; "" when a scheduled check found the
// container not running (or not due).
//
// It is what the timer runs, so it does only what one check needs:
// systemd is contacted only when the status changes.
func (s *Supervisor) Healthcheck(ctx context.Context, name string, o CheckOptions) (string, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return "", err
	}
	h := cfg.Health
	if h == nil {
		return "", fmt.Errorf("%w: %s; create it with --health-cmd", ErrNoHealthcheck, name)
	}
	pid, started, ok := s.runningInit(name)
	if !ok {
		if o.Scheduled {
			return "", nil
		}
		return "", fmt.Errorf("%w: %s", ErrNotRunning, name)
	}
	// The state is read once, under the lock held through the check:
	// checks of one container (the timer's, a manual one) take turns.
	unlock, err := s.store.lockHealth(name)
	if err != nil {
		return "", err
	}
	saved, err := s.store.Health(name)
	if err != nil {
		unlock()
		return "", err
	}
	st := healthcheck.ForRun(deref(saved), pid, started)
	if o.Scheduled && !h.Due(st, time.Now()) {
		unlock()
		return st.Status, nil
	}
	startup := h.InStartup(st)
	res, err := s.probe(cfg, h.ProbeFor(st))
	if err != nil {
		unlock()
		return "", err
	}
	if now, _, ok := s.runningInit(name); !ok || now != pid {
		// The container stopped or restarted meanwhile: the result is
		// about a run that is over.
		unlock()
		if o.Scheduled {
			return "", nil
		}
		return "", fmt.Errorf("%w: %s stopped during the check", ErrNotRunning, name)
	}
	st, out := h.Record(st, res, startup)
	if out.Changed {
		st.Reported = st.Status
	}
	err = s.store.SaveHealth(name, st)
	unlock()
	if err != nil {
		return "", err
	}
	if out.Changed || out.Act != "" {
		if err := s.tellSystemd(ctx, cfg, st.Status, out, o.inUnit); err != nil {
			return st.Status, err
		}
	}
	return st.Status, nil
}

func deref(st *healthcheck.State) healthcheck.State {
	if st == nil {
		return healthcheck.State{}
	}
	return *st
}

// probe runs one check command in the container.
func (s *Supervisor) probe(cfg *Config, p healthcheck.Probe) (healthcheck.Result, error) {
	runc, err := s.runc()
	if err != nil {
		return healthcheck.Result{}, err
	}
	pidFile := filepath.Join(s.paths.bundle(cfg.Name), fmt.Sprintf("health-%d.pid", os.Getpid()))
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
// systemd attributes a notification to the unit whose cgroup the sender
// is in, so a check unit cannot set the container unit's status: the
// process first moves itself into the container's unit (a child cgroup
// of it, as the unit is delegated). Only status changes and actions pay
// for this.
func (s *Supervisor) tellSystemd(ctx context.Context, cfg *Config, status string, out healthcheck.Outcome, inUnit bool) error {
	hs, err := s.healthSD(ctx)
	if err != nil {
		return err
	}
	var errs []error
	if msg := healthNotification(cfg.Health, status, out); msg != "" {
		if !inUnit {
			err = joinUnit(ctx, hs, cfg.Unit)
		}
		if err == nil {
			err = units.Notify(msg, notifyTimeout)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tell systemd the health of %s (%s): %w", cfg.Name, cfg.Unit, err))
		}
	}
	switch out.Act {
	case healthcheck.ActionKill:
		// As ctr-unit kill: the unit's Restart= decides what follows.
		errs = append(errs, hs.Kill(ctx, cfg.Unit, units.Whom("main"), syscall.SIGKILL))
	case healthcheck.ActionStop:
		// As ctr-unit stop, recorded first: an unless-stopped container
		// stays down at boot, and the restart count outlives the unit.
		errs = append(errs, s.markStoppedByUser(ctx, hs, cfg), hs.StopNoWait(ctx, cfg.Unit))
	}
	return errors.Join(errs...)
}

// healthNotification is what a check tells the container's unit: its new
// status, READY=1 when that makes a ready-when-healthy container ready,
// and WATCHDOG=trigger for a restart (see applyHealth). "" if nothing.
func healthNotification(h *healthcheck.Config, status string, out healthcheck.Outcome) string {
	var lines []string
	if out.Changed {
		if status == healthcheck.Healthy && h.ReadyWhenHealthy {
			lines = append(lines, "READY=1")
		}
		lines = append(lines, "STATUS="+status)
	}
	if out.Act == healthcheck.ActionRestart {
		lines = append(lines, "WATCHDOG=trigger")
	}
	return strings.Join(lines, "\n")
}

// markStoppedByUser records a stop the container's healthcheck asked for
// as ctr-unit stop records the user's.
func (s *Supervisor) markStoppedByUser(ctx context.Context, systemd Systemd, cfg *Config) error {
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

// joinUnit moves this process into the container's unit.
func joinUnit(ctx context.Context, hs healthSystemd, unit string) error {
	for _, root := range cgroupRoots() {
		dir := filepath.Join(root, unitCgroup(unit), healthCgroup)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("make cgroup %s: %w", dir, err)
		}
	}
	return hs.AttachProcesses(ctx, unit, healthCgroup, uint32(os.Getpid()))
}

// cgroupRoots are the hierarchies where systemd tracks units: the one
// cgroup2 mount, or in hybrid both name=systemd and the unified one.
func cgroupRoots() []string {
	switch cgroupmgr.Detect() {
	case cgroupmgr.Hybrid:
		return []string{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}
	case cgroupmgr.Legacy:
		return []string{"/sys/fs/cgroup/systemd"}
	}
	return []string{"/sys/fs/cgroup"}
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
	pid, err := steps.Create(name)
	if err != nil {
		return err
	}
	if err := steps.StartCreated(name, pid); err != nil {
		return err
	}
	_ = units.Notify("STATUS="+healthcheck.Starting, notifyTimeout)
	for {
		status, err := s.Healthcheck(ctx, name, CheckOptions{inUnit: true})
		if err != nil && errors.Is(err, ErrNotRunning) {
			return err
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctr-unit:", err)
		}
		if status == healthcheck.Healthy {
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

func sdCollection(unit string, props []sd.Property) sd.PropertyCollection {
	return sd.PropertyCollection{Name: unit, Properties: props}
}

// health is the container's health as inspect shows it: a run that has
// not been checked yet is starting, whatever the last run ended with.
func (s *Supervisor) health(cfg *Config) (*healthcheck.State, error) {
	if cfg.Health == nil {
		return nil, nil
	}
	saved, err := s.store.Health(cfg.Name)
	if err != nil {
		return nil, err
	}
	st := deref(saved)
	if pid, started, ok := s.runningInit(cfg.Name); ok {
		st = healthcheck.ForRun(st, pid, started)
	} else if saved == nil {
		return nil, nil
	}
	return &st, nil
}
