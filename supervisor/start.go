package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/sdbus"
	"github.com/ctr-unit/ctr-unit/tty"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// StartOptions modify one start.
type StartOptions struct {
	// Stdio, if set, hands these descriptors to the container (attached run).
	Stdio *[3]int
	// ConsoleSocket, for a container with a terminal, is where the
	// attached run receives it.
	ConsoleSocket string
	// makeLayer makes and mounts the layer CreateLater named while systemd
	// starts the unit.
	makeLayer bool
}

// Start starts a container's unit and returns once the container runs.
// Starting a running container does nothing, as in podman.
func (s *Supervisor) Start(ctx context.Context, name string, o StartOptions) error {
	unlock, err := s.store.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return s.startLocked(ctx, name, o)
}

func (s *Supervisor) startLocked(ctx context.Context, name string, o StartOptions) error {
	info, systemd, err := s.current(ctx, name)
	if err != nil {
		return err
	}
	return s.startFrom(ctx, systemd, info, o)
}

// startNew starts a container create has just stored (run -d). systemd
// has no unit of it loaded, so the query Start begins with is skipped
// (about 0.7 ms); should systemd have one after all, left by an earlier
// container of that name, the start is done as Start does it.
func (s *Supervisor) startNew(ctx context.Context, cfg *container.Config, makeLayer bool) error {
	unlock, err := s.store.Lock(ctx, cfg.Name)
	if err != nil {
		return err
	}
	defer unlock()
	systemd, err := s.sd(ctx)
	if err != nil {
		return err
	}
	err = s.startFrom(ctx, systemd, &Info{Config: cfg, Status: StatusCreated}, StartOptions{makeLayer: makeLayer})
	if errors.Is(err, sdbus.ErrUnitExists) {
		return s.startLocked(ctx, cfg.Name, StartOptions{})
	}
	return err
}

// startFrom starts the container info describes, as systemd has it now.
func (s *Supervisor) startFrom(ctx context.Context, systemd Systemd, info *Info, o StartOptions) (err error) {
	cfg, unit, st := info.Config, info.Unit, info.State
	name := cfg.Name
	// runc is looked for before anything changes: a missing runc is a
	// clear error here, not a failed unit.
	if _, err := s.runc(); err != nil {
		return err
	}
	if action, err := decideStart(name, info.Status, o.Stdio != nil); err != nil || action == startNothing {
		return err
	}
	if err := s.startDependencies(ctx, cfg); err != nil {
		return err
	}
	if unit.Loaded() {
		// Whether the unit has a file of its own decides how it starts,
		// and only the full read says; a new container's unit is not
		// loaded, so its start does not pay for it.
		if unit, err = systemd.Status(ctx, cfg.Unit); err != nil {
			return err
		}
		// A failed unit lingers and keeps the name taken.
		if err := systemd.ResetFailed(ctx, cfg.Unit); err != nil {
			return err
		}
	}
	// Writing the bundle mounts an image container's layer. Once the unit
	// runs, its stop step unmounts it, however the start ends; a start
	// that fails before that unmounts it here.
	launched := false
	defer func() {
		if err != nil && !launched {
			err = errors.Join(err, s.fs.Release(cfg))
		}
	}()
	mount := s.fs.MountLayer
	if o.makeLayer {
		mount = s.fs.LayerRoot
	} else if err := s.ensureLayer(cfg); err != nil {
		return err
	}
	if err := s.bundles.Write(ctx, cfg, mount); err != nil {
		return err
	}
	if err := s.consoleFor(cfg, o.ConsoleSocket); err != nil {
		return err
	}
	if err := s.store.ClearExit(name); err != nil {
		return err
	}
	st.StartedAt, st.StoppedByUser, st.RestartCount = time.Now(), false, 0
	st.BootID, _ = unitstep.BootID()
	flushed, err := s.store.WriteState(name, st)
	if err != nil {
		return err
	}
	// The state reaches the disk while systemd starts the unit.
	defer func() { err = errors.Join(err, flushed()) }()
	if err := s.healthCleanup(ctx, systemd, cfg); err != nil {
		return err
	}
	svc := s.service(cfg)
	svc.StdioFDs = o.Stdio
	var layerMade <-chan madeLayer
	if o.makeLayer {
		if layerMade, err = s.makeLayer(cfg); err != nil {
			return &layerError{err}
		}
	}
	began := time.Now()
	launched = true
	err = s.launch(ctx, systemd, cfg, unit, svc)
	// What went wrong with a layer the start did not need to fail for:
	// the start step made and mounted it itself, or it did not reach
	// the disk.
	var layerErr error
	if layerMade != nil {
		made := <-layerMade
		if made.err != nil && err != nil {
			// The unit's start step found no layer and failed.
			return &layerError{made.err}
		}
		layerErr = errors.Join(made.err, made.syncErr)
	}
	if err != nil {
		if ranAndEnded(ctx, systemd, cfg.Unit, began, err) {
			return layerErr
		}
		return errors.Join(s.startFailed(ctx, systemd, name, cfg.Unit, err), layerErr)
	}
	return layerErr
}

// layerError is why run -d could not make its container's layer: the
// container is removed again.
type layerError struct{ err error }

func (e *layerError) Error() string { return e.err.Error() }
func (e *layerError) Unwrap() error { return e.err }

// madeLayer is how making a container's layer went: made and mounted,
// then flushed to the disk.
type madeLayer struct{ err, syncErr error }

// makeLayer makes and mounts the layer of a container whose bundle names
// where it will be (FS.CreateLater), while systemd starts its unit; the
// unit's steps wait for it (unitstep.HoldLayerRoot).
func (s *Supervisor) makeLayer(cfg *container.Config) (<-chan madeLayer, error) {
	release, err := unitstep.HoldLayerRoot(s.dirs.Bundle(cfg.Name))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	done := make(chan madeLayer, 1)
	go func() {
		var m madeLayer
		m.err = s.mountMadeLayer(cfg)
		release()
		if m.err == nil {
			m.syncErr = s.syncMadeLayer(cfg)
		}
		done <- m
	}()
	return done, nil
}

// mountMadeLayer makes and mounts a container's layer where its bundle
// says (FS.LayerRoot).
func (s *Supervisor) mountMadeLayer(cfg *container.Config) error {
	if err := s.fs.MakeLayer(cfg); err != nil {
		return err
	}
	dir, _, err := s.fs.MountLayer(cfg)
	if err != nil {
		return err
	}
	if want, _, _ := s.fs.LayerRoot(cfg); dir != want {
		return errors.Join(fmt.Errorf("container %s: the image store mounted its layer at %s, not at %s", cfg.Name, dir, want), s.fs.Release(cfg))
	}
	return nil
}

// syncMadeLayer flushes a layer made after its container's record, and
// then says it is made.
func (s *Supervisor) syncMadeLayer(cfg *container.Config) error {
	if err := s.fs.Sync(cfg); err != nil {
		return err
	}
	return s.store.ClearLayerPending(cfg.Name)
}

// ensureLayer makes the layer of a container whose run -d did not (it
// was killed first) before a start mounts it. Only a layer never made is
// made here: one lost after the container wrote to it stays an error.
func (s *Supervisor) ensureLayer(cfg *container.Config) error {
	if cfg.LayerID == "" || !s.store.LayerPending(cfg.Name) {
		return nil
	}
	if err := s.fs.MakeLayer(cfg); err != nil {
		return err
	}
	return s.syncMadeLayer(cfg)
}

// ranAndEnded tells a start job that failed because the container's own
// process ended with an error before the job was done (it ran: its exit is
// recorded, and run -d reports it started, as podman's does) from one
// where the container never ran. Only a process named the unit's main
// one during this start has a start time later than launched.
func ranAndEnded(ctx context.Context, systemd Systemd, unit string, launched time.Time, err error) bool {
	if !errors.Is(err, sdbus.ErrJobFailed) {
		return false
	}
	st, serr := systemd.Status(ctx, unit)
	return serr == nil && st.StartedAt.After(launched)
}

// startFailed explains a start job that did not succeed. A container
// whose process could not be started fails with the runtime's message
// and podman's exit code for it (a *unitstep.RuntimeError), which the
// unit's stop step records.
func (s *Supervisor) startFailed(ctx context.Context, systemd Systemd, name, unit string, err error) error {
	ex := s.awaitExit(ctx, systemd, name, unit)
	switch {
	case ex != nil && ex.Error != "":
		return &unitstep.RuntimeError{Container: name, ExitCode: ex.ExitCode, Msg: ex.Error}
	case ex != nil:
		return fmt.Errorf("container %s failed to start (exit code %d); see journalctl -u %s: %w", name, ex.ExitCode, unit, err)
	}
	return fmt.Errorf("container %s failed to start; see journalctl -u %s: %w", name, unit, err)
}

// exitWait bounds how long a failed start waits for the unit's stop step.
const exitWait = 5 * time.Second

// awaitExit waits for the exit record of a unit whose start job failed:
// systemd ends the job as the unit leaves its start, before the stop
// step that writes the record has run. nil if none comes, or once the
// unit has stopped (or waits to be restarted) without one.
func (s *Supervisor) awaitExit(ctx context.Context, systemd Systemd, name, unit string) *container.Exit {
	deadline := time.Now().Add(exitWait)
	for {
		if ex, _ := s.store.Exit(name); ex != nil {
			return ex
		}
		states, err := systemd.ActiveStates(ctx, []string{unit})
		if st, loaded := states[unit]; err != nil || !loaded || st.ActiveState == "inactive" || st.ActiveState == "failed" || st.SubState == "auto-restart" || time.Now().After(deadline) {
			ex, _ := s.store.Exit(name)
			return ex
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// consoleFor tells the start step where the terminal of cfg's container
// goes, or refuses a start that has nowhere to send it.
func (s *Supervisor) consoleFor(cfg *container.Config, socket string) error {
	file := s.dirs.ConsoleSocketFile(cfg.Name)
	_ = os.Remove(file)
	if !cfg.Terminal {
		return nil
	}
	if socket == "" {
		return fmt.Errorf("%w: container %s has a terminal (-t), which only an attached run holds: start it with run -it (ctr-unit rm %s first), or create it without -t", ErrNoTerminal, cfg.Name, cfg.Name)
	}
	return os.WriteFile(file, []byte(socket), 0o600)
}

// ErrNoTerminal means a container with a terminal was started with
// nothing to hold it.
var ErrNoTerminal = errors.New("no terminal to hold")

// RunTerminal is Run for a container with a terminal: the terminal runc
// makes comes over a console socket and is connected to the caller's
// (session). It returns the container's exit code.
func (s *Supervisor) RunTerminal(ctx context.Context, name string, stdio [3]int, session func(master *os.File) error) (int, error) {
	sock, err := tty.Listen(s.dirs.RuntimeDir)
	if err != nil {
		return -1, err
	}
	defer sock.Close()
	recvCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan *os.File, 1)
	go func() {
		m, err := sock.Receive(recvCtx)
		if err != nil {
			m = nil
		}
		got <- m
	}()
	if err := s.Start(ctx, name, StartOptions{Stdio: &stdio, ConsoleSocket: sock.Path}); err != nil {
		return -1, err
	}
	var master *os.File
	select {
	case master = <-got:
	case <-time.After(10 * time.Second):
	}
	if master == nil {
		return -1, fmt.Errorf("container %s: runc handed over no terminal", name)
	}
	serr := session(master)
	master.Close()
	code, err := s.waitExit(ctx, name)
	if err == nil && serr != nil {
		err = serr
	}
	return code, err
}

// Run starts a container attached to stdio and waits until it exits,
// returning its exit code. Signals sent to the caller meanwhile are passed
// to the container (see Kill).
func (s *Supervisor) Run(ctx context.Context, name string, stdio [3]int) (int, error) {
	if err := s.Start(ctx, name, StartOptions{Stdio: &stdio}); err != nil {
		return -1, err
	}
	return s.waitExit(ctx, name)
}

// waitExit waits for a container's unit to stop for good and returns the
// container's exit code.
func (s *Supervisor) waitExit(ctx context.Context, name string) (int, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return -1, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return -1, err
	}
	if err := systemd.WaitInactive(ctx, cfg.Unit); err != nil {
		return -1, err
	}
	ex, err := s.store.Exit(name)
	if err != nil {
		return -1, err
	}
	if ex == nil {
		return -1, fmt.Errorf("container %s stopped but left no exit status; see journalctl -u %s", name, cfg.Unit)
	}
	return ex.ExitCode, nil
}
