package sdbus

import (
	"context"
	"fmt"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// WaitInactive returns once unit has stopped for good: inactive, failed,
// or gone. A unit waiting to be restarted by systemd is not stopped.
func (c *Client) WaitInactive(ctx context.Context, unit string) error {
	// A connection of our own, so its signal channel sees the unit's
	// PropertiesChanged. systemd sends every signal to each private-socket
	// peer, so no match rule or Subscribe is needed.
	conn, err := dialOwn(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSystemd, err)
	}
	defer conn.Close()
	signals := make(chan *dbus.Signal, 64)
	conn.Signal(signals)
	path := dbus.ObjectPath("/org/freedesktop/systemd1/unit/" + sd.PathBusEscape(unit))

	for {
		states, err := c.ActiveStates(ctx, []string{unit})
		if err != nil {
			return err
		}
		st, loaded := states[unit]
		if !loaded || st.ActiveState == "inactive" || st.ActiveState == "failed" {
			return nil
		}
	wait:
		for {
			select {
			case sig := <-signals:
				if sig.Path == path {
					break wait
				}
			// Belt and braces against a signal lost between the check
			// and the wait.
			case <-time.After(2 * time.Second):
				break wait
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s to stop: %w", unit, ctx.Err())
			}
		}
	}
}
