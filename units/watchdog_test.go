package units

import (
	"strings"
	"syscall"
	"testing"
)

// A healthcheck's restart goes through the watchdog; both ways of
// configuring the unit must carry its signal and restart setting.
func TestWatchdogSignalInPropertiesAndDropIn(t *testing.T) {
	s := Service{ExecStart: []string{"/bin/true"}, Restart: RestartOnWatchdog, WatchdogSignal: syscall.SIGKILL, NoStartLimit: true}
	got := map[string]any{}
	for _, p := range s.Properties() {
		got[p.Name] = p.Value
	}
	if got["WatchdogSignal"] != int32(9) || got["Restart"] != "on-watchdog" {
		t.Errorf("properties WatchdogSignal=%v Restart=%v; want 9, on-watchdog", got["WatchdogSignal"], got["Restart"])
	}
	if _, ok := got["RestartForceExitStatus"]; ok {
		t.Errorf("RestartForceExitStatus set: a user's SIGKILL would force a restart")
	}
	text := string(s.DropIn())
	for _, want := range []string{"WatchdogSignal=SIGKILL\n", "Restart=on-watchdog\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("drop-in lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(string(Service{ExecStart: []string{"/bin/true"}}.DropIn()), "WatchdogSignal") {
		t.Errorf("WatchdogSignal written for a service without one")
	}
}
