package sdbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestRetryAfter(t *testing.T) {
	recipientLeft := dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply",
		Body: []any{"Message recipient disconnected from message bus without replying"}}
	busTimeout := dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply",
		Body: []any{"Did not receive a reply. Possible causes include: the remote application did not send a reply"}}
	for _, tc := range []struct {
		name string
		err  error
		kind callKind
		want bool
	}{
		{"no error", nil, readCall, false},
		{"recipient left the bus", recipientLeft, readCall, true},
		{"recipient left, wrapped", fmt.Errorf("read MainPID of x: %w", recipientLeft), readCall, true},
		{"bus timeout: systemd may still work on it", busTimeout, readCall, false},
		{"systemd off the bus", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, readCall, true},
		{"private socket closed under the call", io.EOF, readCall, true},
		{"private socket reset", fmt.Errorf("read: %w", syscall.ECONNRESET), readCall, true},
		{"call on a closed connection", dbus.ErrClosed, readCall, true},
		{"wait ended by a closed connection", fmt.Errorf("waiting for systemd: %w", dbus.ErrClosed), readCall, true},
		{"transient unit: StartTransient takes its own", dbus.ErrClosed, createCall, true},
		{"signal: a second would be delivered", dbus.ErrClosed, onceCall, false},
		{"systemd's answer", dbus.Error{Name: "org.freedesktop.systemd1.NoSuchUnit", Body: []any{"Unit x not loaded."}}, readCall, false},
		{"unit exists", dbus.Error{Name: "org.freedesktop.systemd1.UnitExists"}, createCall, false},
		{"job failed", fmt.Errorf("%w: failed", ErrJobFailed), readCall, false},
		{"our deadline", context.DeadlineExceeded, readCall, false},
		{"our cancel", fmt.Errorf("waiting for systemd: %w", context.Canceled), readCall, false},
		{"other error", errors.New("permission denied"), readCall, false},
	} {
		if got := retryAfter(tc.err, tc.kind); got != tc.want {
			t.Errorf("%s: retryAfter(%v, %d) = %v, want %v", tc.name, tc.err, tc.kind, got, tc.want)
		}
	}
}
