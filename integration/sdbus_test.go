//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/ctr-unit/ctr-unit/sdbus"
)

// ps reads the details of every container's unit in one pipelined batch.
// The bus daemon refuses a client that has more than 128 calls waiting for
// answers; hundreds of units must still be read, over the bus and over
// systemd's private socket alike.
func TestDetailsOfHundredsOfUnits(t *testing.T) {
	if binary == "" {
		t.Skip("not inside hack/sysbox")
	}
	for _, bus := range []string{"", "unix:path=/nonexistent/bus"} {
		t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus)
		c, err := sdbus.Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for i := range 300 {
			names = append(names, fmt.Sprintf("ctr-unit-test-none-%d.service", i))
		}
		// Units that run: the box's own journald among them.
		live := append([]string{"systemd-journald.service"}, names[:150]...)
		got, err := c.Details(context.Background(), live, names)
		c.Close()
		if err != nil {
			t.Fatalf("bus %q: %v", bus, err)
		}
		if len(got) != 301 || got["systemd-journald.service"].MainPID == 0 || got[names[299]].MainPID != 0 {
			t.Errorf("bus %q: %d units read, journald's main pid %d", bus, len(got), got["systemd-journald.service"].MainPID)
		}
	}
}
