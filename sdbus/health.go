package sdbus

import (
	"context"
	"fmt"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/ctr-unit/ctr-unit/units"
)

// AttachProcesses moves pids into unit's control group, below subcgroup
// ("/health") of a delegated unit; the subcgroup must exist. systemd then
// counts the processes as the unit's, notifications included.
func (c *Client) AttachProcesses(ctx context.Context, unit, subcgroup string, pids ...uint32) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		return conn.AttachProcessesToUnit(ctx, unit, subcgroup, pids)
	}); err != nil {
		return fmt.Errorf("attach to %s: %w", unit, mapError(err))
	}
	return nil
}

// StopNoWait queues a stop job for unit and returns without waiting for
// it: for a caller that the stop itself may end.
func (c *Client) StopNoWait(ctx context.Context, unit string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		_, err := conn.StopUnitContext(ctx, unit, "replace", nil)
		return err
	}); err != nil {
		return fmt.Errorf("stop %s: %w", unit, mapError(err))
	}
	return nil
}

// StartTransientNoWait creates unit (and aux units, created but not
// started) and queues its start without waiting for it: for a caller the
// start job is ordered after.
func (c *Client) StartTransientNoWait(ctx context.Context, unit string, props []units.Prop, aux ...units.Aux) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	// Not made again after a dropped connection (onceCall): the unit
	// may exist then, and its caller tells its own from a stale one.
	err := c.call(ctx, onceCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		_, err := conn.StartTransientUnitAux(ctx, unit, "replace", properties(props), collections(aux), nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", unit, mapError(err))
	}
	return nil
}

// StartNoWait queues a start job for unit without waiting for it.
func (c *Client) StartNoWait(ctx context.Context, unit string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := c.call(ctx, readCall, func(conn *sd.Conn, _ *dbus.Conn) error {
		_, err := conn.StartUnitContext(ctx, unit, "replace", nil)
		return err
	}); err != nil {
		return fmt.Errorf("start %s: %w", unit, mapError(err))
	}
	return nil
}
