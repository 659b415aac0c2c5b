package sdbus

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Change is one signal of systemd's about a unit: its properties changed
// (Interface names whose: org.freedesktop.systemd1.Unit or .Service), or
// it was loaded (New) or unloaded (Removed).
type Change struct {
	Unit      string
	Interface string
	Changed   map[string]dbus.Variant
	New       bool
	Removed   bool
}

const unitPathPrefix = "/org/freedesktop/systemd1/unit/"

// Watch sends the changes of the units match accepts as systemd signals
// them, until ctx ends (the channel is then closed). It reads systemd's
// signals on a connection of its own to the private socket: systemd
// counts a direct connection as subscribed and sends it every signal,
// with no match rule. Nothing is polled.
// The channel has room for bursts; the caller must keep reading.
func (c *Client) Watch(ctx context.Context, match func(unit string) bool) (<-chan Change, error) {
	conn, err := dialOwn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSystemd, err)
	}
	signals := make(chan *dbus.Signal, 256)
	conn.Signal(signals)
	out := make(chan Change, 256)
	go func() {
		defer close(out)
		defer conn.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case sig, ok := <-signals:
				if !ok {
					return
				}
				ch, ok := changeOf(sig)
				if !ok || !match(ch.Unit) {
					continue
				}
				select {
				case out <- ch:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// changeOf reads a signal of systemd's about a unit.
func changeOf(sig *dbus.Signal) (Change, bool) {
	switch sig.Name {
	case "org.freedesktop.DBus.Properties.PropertiesChanged":
		path := string(sig.Path)
		if !strings.HasPrefix(path, unitPathPrefix) || len(sig.Body) < 2 {
			return Change{}, false
		}
		iface, _ := sig.Body[0].(string)
		changed, _ := sig.Body[1].(map[string]dbus.Variant)
		return Change{Unit: unescapePath(strings.TrimPrefix(path, unitPathPrefix)), Interface: iface, Changed: changed}, true
	case "org.freedesktop.systemd1.Manager.UnitNew", "org.freedesktop.systemd1.Manager.UnitRemoved":
		if len(sig.Body) < 1 {
			return Change{}, false
		}
		unit, _ := sig.Body[0].(string)
		return Change{Unit: unit, New: strings.HasSuffix(sig.Name, "New"), Removed: strings.HasSuffix(sig.Name, "Removed")}, true
	}
	return Change{}, false
}

// unescapePath undoes systemd's escaping of a unit name in an object
// path (each byte not [A-Za-z0-9] as _XX).
func unescapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
