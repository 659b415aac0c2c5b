package supervisor

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/definition"
)

func TestFindCycle(t *testing.T) {
	chain := map[string][]string{"a": {"b"}, "b": {"c"}, "c": nil}
	if c := findCycle(chain, "a"); c != nil {
		t.Errorf("chain a -> b -> c: cycle %v", c)
	}
	diamond := map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": nil}
	if c := findCycle(diamond, "a"); c != nil {
		t.Errorf("diamond: cycle %v", c)
	}
	loop := map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}}
	if c := findCycle(loop, "a"); !reflect.DeepEqual(c, []string{"a", "b", "c", "a"}) {
		t.Errorf("loop: %v, want a b c a", c)
	}
	// A cycle further down is found and named from where it closes.
	tail := map[string][]string{"x": {"a"}, "a": {"b"}, "b": {"a"}}
	if c := findCycle(tail, "x"); !reflect.DeepEqual(c, []string{"a", "b", "a"}) {
		t.Errorf("tail: %v, want a b a", c)
	}
	if c := findCycle(map[string][]string{}, "ghost"); c != nil {
		t.Errorf("unknown start: %v", c)
	}
}

func parse(t *testing.T, text string) *definition.File {
	t.Helper()
	f, err := definition.Parse("/etc/ctr-unit/web.container", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConfigFromFile(t *testing.T) {
	f := parse(t, `[Unit]
Description=my web
[Container]
Rootfs=/srv/web
Exec=sh -c "echo hi; sleep 1000"
Environment=A=1 B=2
Restart=on-failure:3
StopSignal=INT
StopTimeout=30s
Memory=64M
CPUs=0.5
PidsLimit=50
Requires=db cache
WaitNetwork=no
[Service]
Environment=X=y
[Install]
WantedBy=multi-user.target
`)
	cfg, err := configFromFile(f, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Unit != "ctr@web.service" || cfg.Source != f.Path {
		t.Errorf("unit %q source %q", cfg.Unit, cfg.Source)
	}
	if !reflect.DeepEqual(cfg.Command, []string{"sh", "-c", "echo hi; sleep 1000"}) {
		t.Errorf("command %q", cfg.Command)
	}
	if cfg.Restart.String() != "on-failure:3" || cfg.StopSignal != 2 || cfg.StopTimeout != 30 {
		t.Errorf("restart %v signal %v timeout %v", cfg.Restart, cfg.StopSignal, cfg.StopTimeout)
	}
	if cfg.MemoryMax != 64<<20 || cfg.CPUQuotaUSec != 500_000 || cfg.PidsLimit != 50 {
		t.Errorf("limits %d %d %d", cfg.MemoryMax, cfg.CPUQuotaUSec, cfg.PidsLimit)
	}
	if !reflect.DeepEqual(cfg.Requires, []string{"db", "cache"}) || !cfg.NoNetworkWait {
		t.Errorf("requires %v no-network-wait %v", cfg.Requires, cfg.NoNetworkWait)
	}
	// [Unit] and [Service] go to the unit; [Install] is the generator's.
	if len(cfg.Extra) != 2 || cfg.Extra[1] != (UnitSetting{"Service", "Environment", "X=y"}) {
		t.Errorf("extra %v", cfg.Extra)
	}
}

func TestConfigFromFileReportsEveryProblem(t *testing.T) {
	f := parse(t, `[Container]
Rootfs=relative
Exec=sh -c "unterminated
Restart=sometimes
StopSignal=NOPE
Memory=lots
Colour=blue
Requires=web
[Service]
ExecStart=/bin/evil
`)
	_, err := configFromFile(f, false, nil)
	probs, ok := err.(definition.Problems)
	if !ok {
		t.Fatalf("err = %v, want Problems", err)
	}
	lines := map[int]bool{}
	for _, p := range probs {
		lines[p.Line] = true
	}
	for _, l := range []int{2, 3, 4, 5, 6, 7, 8, 10} {
		if !lines[l] {
			t.Errorf("no problem reported for line %d:\n%v", l, err)
		}
	}
}
