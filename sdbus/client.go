// Package sdbus is ctr-unit's client of systemd's manager over D-Bus: jobs
// that start, stop and kill units, their state, unit files and reloads. It
// sends the properties package units describes.
package sdbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/ctr-unit/ctr-unit/units"
)

// CallTimeout bounds every D-Bus call that has no deadline of its own.
const CallTimeout = 30 * time.Second

var (
	// ErrNoSystemd means systemd's private socket could not be reached.
	ErrNoSystemd = errors.New("cannot reach systemd")
	// ErrNoSuchUnit means systemd has no unit of that name loaded.
	ErrNoSuchUnit = errors.New("no such unit")
	// ErrUnitExists means a transient unit of that name is loaded already.
	ErrUnitExists = errors.New("unit exists")
	// ErrJobFailed means a start or stop job did not end in "done".
	ErrJobFailed = errors.New("systemd job failed")
	// errJobCanceled means another job replaced ours before it ran.
	errJobCanceled = fmt.Errorf("%w: canceled", ErrJobFailed)
)

// Client talks to systemd's manager over D-Bus.
type Client struct {
	// life is the context Connect was given: a connection made again
	// after systemd dropped the first (a daemon-reexec) lives as long.
	life context.Context
	// mu guards conn and bus, which redial replaces.
	mu   sync.Mutex
	conn *sd.Conn
	// bus is conn's connection, for calls go-systemd does not make
	// (Details pipelines its calls).
	bus *dbus.Conn
}

// Connect opens a connection to systemd: through the system bus when its
// daemon runs, else over systemd's private socket, which needs none. The
// bus is the cheaper to connect to, and every command pays for it: 0.5 ms
// against 1.5 ms on the private socket, where systemd sets up each peer
// as a bus of its own. The connection lives as long as ctx: godbus closes
// it when ctx ends.
func Connect(ctx context.Context) (*Client, error) {
	if os.Geteuid() != 0 {
		// The bus would let a user connect and then refuse each call.
		return nil, fmt.Errorf("%w: ctr-unit manages system services and must run as root", ErrNoSystemd)
	}
	// A systemd that cannot answer fails the command before anything is
	// asked of it: a request sent would be carried out once it answers
	// again, after the command had reported failure.
	if err := systemdStuck(); err != nil {
		return nil, err
	}
	bus, err := connectBus(ctx)
	if err != nil {
		var perr error
		if bus, perr = dialOwn(ctx); perr != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoSystemd, errors.Join(err, perr))
		}
	}
	conn, err := systemdConn(bus)
	if err != nil {
		bus.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoSystemd, err)
	}
	return &Client{life: ctx, conn: conn, bus: bus}, nil
}

// busConnectTimeout bounds connecting through the bus daemon, which
// takes under a millisecond: one that does not answer must not hang every
// command when systemd's own socket is there.
const busConnectTimeout = 2 * time.Second

// connectBus connects through the system bus ($DBUS_SYSTEM_BUS_ADDRESS or
// its well-known socket).
func connectBus(ctx context.Context) (*dbus.Conn, error) {
	bus, err := dbus.SystemBusPrivate(dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// Closing the connection ends a wait for the daemon's answer.
	timer := time.AfterFunc(busConnectTimeout, func() { bus.Close() })
	err = bus.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))})
	if err == nil {
		err = bus.Hello()
	}
	if !timer.Stop() {
		err = fmt.Errorf("the bus daemon did not answer within %v", busConnectTimeout)
	}
	if err != nil {
		bus.Close()
		return nil, err
	}
	return bus, nil
}

// systemdConn is go-systemd's client on one connection. go-systemd asks
// for two, one for calls and one for signals; one serves both, at half the
// cost. On the bus, go-systemd's match rule brings it the JobRemoved
// signals of the jobs it queues (systemd sends those to a job's client
// without a Subscribe); on the private socket systemd sends every signal
// to each peer anyway.
func systemdConn(bus *dbus.Conn) (*sd.Conn, error) {
	return sd.NewConnection(func() (*dbus.Conn, error) { return bus, nil })
}

// dialPrivate connects to systemd's private socket, which needs no bus
// daemon (and no Hello). The connection lives as long as life; bound
// ends the wait for systemd to answer, as a systemd that re-executes
// answers only once it is back.
func dialPrivate(life, bound context.Context) (*dbus.Conn, error) {
	conn, err := dbus.Dial("unix:path=/run/systemd/private", dbus.WithContext(life))
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(bound, func() { conn.Close() })
	err = conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))})
	if !stop() && err == nil {
		err = bound.Err()
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// dialOwn is dialPrivate for a connection that lives as long as ctx,
// waiting for systemd's answer as a call does (bounded).
func dialOwn(ctx context.Context) (*dbus.Conn, error) {
	bound, cancel := bounded(ctx)
	defer cancel()
	conn, err := dialPrivate(ctx, bound)
	return conn, stuckCause(bound, err)
}

// Close closes the connection.
func (c *Client) Close() {
	conn, _ := c.current()
	conn.Close()
}

// current is the connection in use.
func (c *Client) current() (*sd.Conn, *dbus.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn, c.bus
}

// redial replaces stale, a connection systemd dropped, with one over its
// private socket: systemd keeps that socket listening across a
// daemon-reexec, so the new connection is answered once systemd is back,
// where the bus would refuse calls until systemd has joined it again.
// Calls that failed on the same connection meanwhile share the new one.
func (c *Client) redial(ctx context.Context, stale *sd.Conn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != stale {
		return nil
	}
	bus, err := dialPrivate(c.life, ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSystemd, err)
	}
	conn, err := systemdConn(bus)
	if err != nil {
		bus.Close()
		return fmt.Errorf("%w: %w", ErrNoSystemd, err)
	}
	stale.Close()
	c.conn, c.bus = conn, bus
	return nil
}

// callKind tells retryAfter what running a call twice would do.
type callKind int

const (
	// readCall reads state, or asks for one (start, stop, restart,
	// freeze, reset-failed, reload): running it again after the first
	// landed ends in the same state.
	readCall callKind = iota
	// createCall creates a transient unit: run again after the first
	// landed, systemd answers that the unit exists, which StartTransient
	// takes for its own first call.
	createCall
	// onceCall is made once only: a second signal would be delivered
	// too, a second transient unit refused for a reason its caller reads.
	onceCall
)

// retryAfter decides whether a call that failed with err is made again
// on a new connection: only when systemd went away without
// answering (it re-executes, or was restarted) and a second call cannot
// do what the first did twice.
func retryAfter(err error, kind callKind) bool {
	return disconnected(err) && kind != onceCall
}

// disconnected reports whether err means systemd dropped the connection
// or left the bus, rather than answering: godbus's errors for a closed
// connection, and the bus daemon's for a call whose recipient left.
// A timeout is not one: systemd may still be working on the call.
func disconnected(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, dbus.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var derr dbus.Error
	if !errors.As(err, &derr) {
		return false
	}
	switch derr.Name {
	case "org.freedesktop.DBus.Error.NoReply":
		// Also the bus daemon's timeout, which says "Did not receive a
		// reply"; the recipient leaving says "disconnected".
		return strings.Contains(errorText(derr), "disconnected")
	case "org.freedesktop.DBus.Error.Disconnected",
		"org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NameHasNoOwner":
		return true
	}
	return false
}

// call runs fn on the connection in use and, while retryAfter says so,
// again on a new one, for as long as ctx (from bounded) lasts: each new
// connection is answered only once systemd is back, and a job waited for
// can span as many reexecs as come while it runs, so no count of
// attempts would be the right one. fn's error comes back as D-Bus gave
// it, or as ErrSystemdStuck if ctx ended because systemd cannot answer.
func (c *Client) call(ctx context.Context, kind callKind, fn func(conn *sd.Conn, bus *dbus.Conn) error) error {
	conn, bus := c.current()
	err := fn(conn, bus)
	for retryAfter(err, kind) && ctx.Err() == nil {
		if rerr := c.redial(ctx, conn); rerr != nil {
			return stuckCause(ctx, fmt.Errorf("%w (connecting again: %w)", err, rerr))
		}
		conn, bus = c.current()
		err = fn(conn, bus)
	}
	return stuckCause(ctx, err)
}

// job runs a start, stop or restart job that start queues and waits for
// its result; a connection systemd dropped meanwhile is made again and
// the job queued once more (call).
func (c *Client) job(ctx context.Context, what string, kind callKind, start func(conn *sd.Conn, ch chan<- string) (int, error)) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	err := c.call(ctx, kind, func(conn *sd.Conn, bus *dbus.Conn) error {
		return waitJob(ctx, bus, func(ch chan<- string) (int, error) { return start(conn, ch) })
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, mapError(err))
	}
	return nil
}

// waitJob waits for the result of a job started by start on bus. A
// connection that closes meanwhile ends the wait: its result would never
// come.
func waitJob(ctx context.Context, bus *dbus.Conn, start func(chan<- string) (int, error)) error {
	// Buffered: go-systemd delivers the result while holding its lock.
	done := make(chan string, 1)
	if _, err := start(done); err != nil {
		return err
	}
	select {
	case result := <-done:
		switch result {
		case "done":
		case "canceled":
			return errJobCanceled
		default:
			return fmt.Errorf("%w: %s", ErrJobFailed, result)
		}
		return nil
	case <-bus.Context().Done():
		return fmt.Errorf("waiting for systemd: %w", dbus.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("waiting for systemd: %w", ctx.Err())
	}
}

// StartTransient creates unit with the given properties, plus auxiliary
// units started with it, and waits until its start job is done.
//
// Made again after systemd dropped the connection, the call may find the
// unit created by the first one: the caller holds the container's lock,
// so a unit of its name is that first call's, and its start is waited
// for as Start does.
func (c *Client) StartTransient(ctx context.Context, unit string, props []units.Prop, aux ...units.Aux) error {
	again := false
	return c.job(ctx, "start "+unit, createCall, func(conn *sd.Conn, ch chan<- string) (int, error) {
		id, err := conn.StartTransientUnitAux(ctx, unit, "fail", properties(props), collections(aux), ch)
		if again && errors.Is(mapError(err), ErrUnitExists) {
			return conn.StartUnitContext(ctx, unit, "replace", ch)
		}
		again = true
		return id, err
	})
}

// Start starts a unit from its unit file and waits for the job.
func (c *Client) Start(ctx context.Context, unit string) error {
	return c.job(ctx, "start "+unit, readCall, func(conn *sd.Conn, ch chan<- string) (int, error) {
		return conn.StartUnitContext(ctx, unit, "replace", ch)
	})
}

// Stop stops unit and waits until the stop job is done, which includes
// the unit's ExecStopPost commands.
//
// A stop job that another job replaced (a restart systemd or a health
// action queued meanwhile) is tried again: the user asked for the unit to
// be stopped, and a stop is what must win.
func (c *Client) Stop(ctx context.Context, unit string) error {
	var err error
	for range 5 {
		err = c.job(ctx, "stop "+unit, readCall, func(conn *sd.Conn, ch chan<- string) (int, error) {
			return conn.StopUnitContext(ctx, unit, "replace", ch)
		})
		if !errors.Is(err, errJobCanceled) {
			break
		}
	}
	if errors.Is(err, ErrNoSuchUnit) {
		return nil
	}
	return err
}

// Restart restarts unit (a user restart: systemd does not count it in
// NRestarts) and waits for the job.
func (c *Client) Restart(ctx context.Context, unit string) error {
	return c.job(ctx, "restart "+unit, readCall, func(conn *sd.Conn, ch chan<- string) (int, error) {
		return conn.RestartUnitContext(ctx, unit, "replace", ch)
	})
}

// Whom to signal in Kill.
type Whom = sd.Who

// Kill signals the unit's main process or all of its processes.
func (c *Client) Kill(ctx context.Context, unit string, whom Whom, sig syscall.Signal) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, onceCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		return conn.KillUnitWithTarget(ctx, unit, whom, int32(sig))
	}); err != nil {
		return fmt.Errorf("kill %s: %w", unit, mapError(err))
	}
	return nil
}

// ResetFailed forgets a failed unit so its name can be used again. A unit
// that is not loaded is not an error.
func (c *Client) ResetFailed(ctx context.Context, unit string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	err := mapError(c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		return conn.ResetFailedUnitContext(ctx, unit)
	}))
	if err != nil && !errors.Is(err, ErrNoSuchUnit) {
		return fmt.Errorf("reset-failed %s: %w", unit, err)
	}
	return nil
}

// Freeze freezes every process of unit (cgroup v2 only).
func (c *Client) Freeze(ctx context.Context, unit string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		return conn.FreezeUnit(ctx, unit)
	}); err != nil {
		return fmt.Errorf("freeze %s: %w", unit, mapError(err))
	}
	return nil
}

// Thaw thaws unit.
func (c *Client) Thaw(ctx context.Context, unit string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		return conn.ThawUnit(ctx, unit)
	}); err != nil {
		return fmt.Errorf("thaw %s: %w", unit, mapError(err))
	}
	return nil
}

// Status reads a unit's state. A unit systemd does not know yields a
// Status with LoadState "not-found" and no error.
func (c *Client) Status(ctx context.Context, unit string) (units.Status, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	st := units.Status{Unit: unit}
	var props map[string]any
	err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) (err error) {
		props, err = conn.GetAllPropertiesContext(ctx, unit)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("read state of %s: %w", unit, mapError(err))
	}
	st.LoadState, _ = props["LoadState"].(string)
	st.ActiveState, _ = props["ActiveState"].(string)
	st.SubState, _ = props["SubState"].(string)
	st.Result, _ = props["Result"].(string)
	st.FreezerState, _ = props["FreezerState"].(string)
	st.MainPID, _ = props["MainPID"].(uint32)
	st.NRestarts, _ = props["NRestarts"].(uint32)
	st.ControlGroup, _ = props["ControlGroup"].(string)
	st.StatusText, _ = props["StatusText"].(string)
	st.FragmentPath, _ = props["FragmentPath"].(string)
	st.StartedAt = usecTime(props["ExecMainStartTimestamp"])
	st.ExitedAt = usecTime(props["ExecMainExitTimestamp"])
	return st, nil
}

// NRestarts reads how often systemd restarted unit (0 if not loaded).
func (c *Client) NRestarts(ctx context.Context, unit string) (uint32, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var p *sd.Property
	err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) (err error) {
		p, err = conn.GetServicePropertyContext(ctx, unit, "NRestarts")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read restarts of %s: %w", unit, mapError(err))
	}
	n, _ := p.Value.Value().(uint32)
	return n, nil
}

// ActiveStates returns ActiveState and SubState for many units in one call;
// units systemd does not know are missing from the map.
func (c *Client) ActiveStates(ctx context.Context, unitNames []string) (map[string]units.Status, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var list []sd.UnitStatus
	err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) (err error) {
		list, err = conn.ListUnitsByNamesContext(ctx, unitNames)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list units: %w", mapError(err))
	}
	out := make(map[string]units.Status, len(list))
	for _, u := range list {
		if u.LoadState == "not-found" {
			continue
		}
		out[u.Name] = units.Status{Unit: u.Name, LoadState: u.LoadState, ActiveState: u.ActiveState, SubState: u.SubState}
	}
	return out, nil
}

// Details reads what ActiveStates does not return, for many units at
// once: the main process and its start time of the units in live, the
// restart count of those in restartable. systemd answers one property at
// a time; the requests are sent ahead of the answers (pipelined), so they
// cost about one round trip and systemd's own work rather than a round
// trip each (a GetAll of a service would return over a hundred
// properties, most of them unused).
func (c *Client) Details(ctx context.Context, live, restartable []string) (map[string]units.Status, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var out map[string]units.Status
	err := c.call(ctx, readCall, func(_ *sd.Conn, bus *dbus.Conn) (err error) {
		out, err = details(ctx, bus, live, restartable)
		return err
	})
	return out, err
}

func details(ctx context.Context, bus *dbus.Conn, live, restartable []string) (map[string]units.Status, error) {
	type query struct{ unit, prop string }
	var queries []query
	for _, u := range live {
		queries = append(queries, query{u, "MainPID"}, query{u, "ExecMainStartTimestamp"})
	}
	for _, u := range restartable {
		queries = append(queries, query{u, "NRestarts"})
	}
	out := make(map[string]units.Status, len(live)+len(restartable))
	// The bus daemon refuses a client more than 128 calls awaiting
	// answers: a window of them is kept in flight.
	const window = 64
	calls := make([]*dbus.Call, len(queries))
	send := func(i int) {
		q := queries[i]
		obj := bus.Object("org.freedesktop.systemd1", dbus.ObjectPath("/org/freedesktop/systemd1/unit/"+sd.PathBusEscape(q.unit)))
		calls[i] = obj.GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, nil, "org.freedesktop.systemd1.Service", q.prop)
	}
	for i := range min(window, len(queries)) {
		send(i)
	}
	for i, q := range queries {
		call := <-calls[i].Done
		if i+window < len(queries) {
			send(i + window)
		}
		if call.Err != nil {
			// Unmapped, for call to see a dropped connection; the
			// caller reads mapError's text through %w either way.
			return nil, fmt.Errorf("read %s of %s: %w", q.prop, q.unit, call.Err)
		}
		var v dbus.Variant
		if err := call.Store(&v); err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", q.prop, q.unit, err)
		}
		st := out[q.unit]
		st.Unit = q.unit
		switch q.prop {
		case "MainPID":
			st.MainPID, _ = v.Value().(uint32)
		case "ExecMainStartTimestamp":
			st.StartedAt = usecTime(v.Value())
		case "NRestarts":
			st.NRestarts, _ = v.Value().(uint32)
		}
		out[q.unit] = st
	}
	return out, nil
}

func usecTime(v any) time.Time {
	us, ok := v.(uint64)
	if !ok || us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(us))
}

// mapError turns systemd's D-Bus errors into this package's sentinels.
func mapError(err error) error {
	var derr dbus.Error
	if errors.As(err, &derr) {
		switch derr.Name {
		case "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed":
			return fmt.Errorf("%w: %s", ErrNoSuchUnit, errorText(derr))
		case "org.freedesktop.systemd1.UnitExists":
			return fmt.Errorf("%w: %s", ErrUnitExists, errorText(derr))
		}
		return fmt.Errorf("%s", errorText(derr))
	}
	return err
}

func errorText(e dbus.Error) string {
	parts := make([]string, 0, len(e.Body))
	for _, b := range e.Body {
		parts = append(parts, fmt.Sprint(b))
	}
	if len(parts) == 0 {
		return e.Name
	}
	return strings.Join(parts, ": ")
}

// properties turns the model's properties into go-systemd's.
func properties(props []units.Prop) []sd.Property {
	out := make([]sd.Property, len(props))
	for i, p := range props {
		v := p.Value
		if fd, ok := v.(units.FD); ok {
			v = dbus.UnixFD(fd)
		}
		out[i] = sd.Property{Name: p.Name, Value: dbus.MakeVariant(v)}
	}
	return out
}

func collections(aux []units.Aux) []sd.PropertyCollection {
	out := make([]sd.PropertyCollection, len(aux))
	for i, a := range aux {
		out[i] = sd.PropertyCollection{Name: a.Name, Properties: properties(a.Props)}
	}
	return out
}

// Reload makes systemd re-read unit files and drop-ins (daemon-reload),
// and rerun the generators.
func (c *Client) Reload(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		return conn.ReloadContext(ctx)
	}); err != nil {
		return fmt.Errorf("daemon-reload: %w", mapError(err))
	}
	return nil
}

// TemplateInstalled reports whether systemd finds units.Template on disk.
func (c *Client) TemplateInstalled(ctx context.Context) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var files []sd.UnitFile
	err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) (err error) {
		files, err = conn.ListUnitFilesByPatternsContext(ctx, nil, []string{units.Template})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", units.Template, mapError(err))
	}
	return len(files) > 0, nil
}

// Disable removes the enablement symlinks of unitNames, if any.
func (c *Client) Disable(ctx context.Context, unitNames ...string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		_, err := conn.DisableUnitFilesContext(ctx, unitNames, false)
		return err
	}); err != nil {
		return fmt.Errorf("disable %s: %w", strings.Join(unitNames, " "), mapError(err))
	}
	return nil
}

// DropInPaths lists the drop-ins systemd applied to unitName when it
// loaded it.
func (c *Client) DropInPaths(ctx context.Context, unitName string) ([]string, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var p *sd.Property
	err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) (err error) {
		p, err = conn.GetUnitPropertyContext(ctx, unitName, "DropInPaths")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read drop-ins of %s: %w", unitName, mapError(err))
	}
	paths, _ := p.Value.Value().([]string)
	return paths, nil
}
