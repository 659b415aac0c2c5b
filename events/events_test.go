package events

import (
	"testing"
)

func TestParseReadsOursAndSystemdsAndNothingElse(t *testing.T) {
	nameOf := func(u string) string {
		if u == "ctr-web.service" {
			return "web"
		}
		return ""
	}
	for _, tc := range []struct {
		entry map[string]any
		want  string
	}{
		{map[string]any{"MESSAGE_ID": MessageID, "_UID": "0", "CTR_UNIT_EVENT": "died", "CTR_UNIT_NAME": "web", "CTR_UNIT_EXIT_CODE": "137"}, "died web 137"},
		{map[string]any{"MESSAGE_ID": MessageID, "_UID": "1000", "CTR_UNIT_EVENT": "died", "CTR_UNIT_NAME": "web"}, ""},
		{map[string]any{"MESSAGE_ID": systemdUnitStarted, "_PID": "1", "UNIT": "ctr-web.service"}, "start web"},
		{map[string]any{"MESSAGE_ID": systemdUnitStopping, "_PID": "1", "UNIT": "ctr-web.service"}, "stop web"},
		{map[string]any{"MESSAGE_ID": systemdUnitRestartSchedule, "_PID": "1", "UNIT": "ctr-web.service"}, "restart web"},
		{map[string]any{"MESSAGE_ID": systemdUnitStopping, "_PID": "1", "UNIT": "sshd.service"}, ""},
		{map[string]any{"MESSAGE_ID": systemdUnitStarted, "_PID": "42", "UNIT": "ctr-web.service"}, ""},
		{map[string]any{"MESSAGE": "container output", "_SYSTEMD_UNIT": "ctr-web.service"}, ""},
	} {
		ev, ok := Parse(tc.entry, nameOf)
		got := ""
		if ok {
			got = ev.Status + " " + ev.Name
			if ev.ContainerExitCode != nil {
				got += " 137"
			}
		}
		if got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.entry, got, tc.want)
		}
	}
}
