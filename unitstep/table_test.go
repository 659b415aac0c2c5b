package unitstep

import (
	"errors"
	"slices"
	"testing"
)

// Every step's command line, as either binary gets it, reads back as the
// same call; units of older versions read as they meant.
func TestStepCommandLinesRoundTrip(t *testing.T) {
	g := Globals{Dirs: Dirs{StateDir: "/var/lib/x", RuntimeDir: "/run/x"}, Runtime: "/opt/runc"}
	r := Runner{Globals: g, Full: "/usr/bin/ctr-unit", Lean: "/usr/libexec/ctr-unit/ctr-unit-step"}
	for _, st := range Table {
		if st.Command != nil {
			continue
		}
		var args []string
		switch st.Args {
		case ArgsContainer:
			args = []string{"web"}
		case ArgsContainerUnit:
			args = []string{"web", "ctr-web.service"}
		case ArgsDirs:
			args = []string{"/run/systemd/generator", "/run/systemd/generator.early", "/run/systemd/generator.late"}
		}
		for _, lean := range []bool{false, true} {
			argv := r.Argv(st.Name, lean, args...)
			if want := r.Full; lean && st.Lean {
				want = r.Lean
				if argv[0] != want {
					t.Errorf("%s lean: %v", st.Name, argv)
				}
			} else if argv[0] != want || !IsInternal(argv[1:]) {
				t.Errorf("%s by ctr-unit: %v", st.Name, argv)
			}
			c, err := Parse(argv[1:], DefaultGlobals())
			if err != nil || c.Step != st.Name || c.Globals != g {
				t.Errorf("%s: %v read back as %+v, %v", st.Name, argv, c, err)
			}
			got := append(append([]string{c.Container}, c.Unit), c.OutputDirs...)
			got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
			if !slices.Equal(got, args) {
				t.Errorf("%s: arguments %q read back as %q", st.Name, args, got)
			}
		}
	}
	// The health check is a command of ctr-unit's own.
	if argv := r.Argv(HealthCheck, true, "web"); !slices.Equal(argv[len(argv)-4:], []string{"healthcheck", "run", "--scheduled", "web"}) || argv[0] != r.Full {
		t.Errorf("health check: %v", argv)
	}
}

func TestParseReadsOlderUnitsAndRefusesOthers(t *testing.T) {
	c, err := Parse([]string{"--state-dir", "/s", "--runtime-dir=/r", "stop-post", "--unit", "ctr-web.service", "web"}, DefaultGlobals())
	if err != nil || c.Step != StopPost || c.Container != "web" || c.Unit != "ctr-web.service" || c.StateDir != "/s" || c.RuntimeDir != "/r" {
		t.Errorf("ctr-unit-step's old stop-post: %+v, %v", c, err)
	}
	c, err = Parse([]string{"internal", "stop-post", "web"}, DefaultGlobals())
	if err != nil || c.Container != "web" || c.Unit != "" || c.StateDir != DefaultStateDir {
		t.Errorf("ctr-unit's old stop-post: %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"internal", "no-such-step", "web"},
		{"internal", "healthcheck", "web"},
	} {
		if _, err := Parse(bad, DefaultGlobals()); !errors.Is(err, ErrUnknownStep) {
			t.Errorf("%q: %v, want ErrUnknownStep", bad, err)
		}
	}
	for _, bad := range [][]string{
		{"internal"}, {"--state-dir"}, {"start"}, {"start", "a", "b"}, {"stop-post"}, {"generator"}, {"start-at-boot", "x"}, {"start", "--force"},
	} {
		if _, err := Parse(bad, DefaultGlobals()); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want ErrUsage", bad, err)
		}
	}
	if IsInternal([]string{"run", "-d", "internal"}) || !IsInternal([]string{"--runtime", "x", "internal", "start", "a"}) {
		t.Error("IsInternal")
	}
}
