package unitstep

import (
	"testing"
	"time"
)

func TestExitFromEnv(t *testing.T) {
	now := time.Unix(100, 0)
	cases := []struct {
		env  map[string]string
		code int
	}{
		{map[string]string{"EXIT_CODE": "exited", "EXIT_STATUS": "0", "SERVICE_RESULT": "success"}, 0},
		{map[string]string{"EXIT_CODE": "exited", "EXIT_STATUS": "3", "SERVICE_RESULT": "exit-code"}, 3},
		{map[string]string{"EXIT_CODE": "killed", "EXIT_STATUS": "TERM", "SERVICE_RESULT": "signal"}, 143},
		{map[string]string{"EXIT_CODE": "killed", "EXIT_STATUS": "KILL", "SERVICE_RESULT": "timeout"}, 137},
		{map[string]string{"EXIT_CODE": "dumped", "EXIT_STATUS": "SEGV", "SERVICE_RESULT": "core-dump"}, 139},
		{map[string]string{"SERVICE_RESULT": "resources"}, ExitRuntimeError},
	}
	for _, c := range cases {
		ex := ExitFromEnv(func(k string) string { return c.env[k] }, now)
		if ex.ExitCode != c.code || !ex.FinishedAt.Equal(now) || ex.Result != c.env["SERVICE_RESULT"] {
			t.Errorf("%v: got %+v, want exit code %d", c.env, ex, c.code)
		}
	}
}
