package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/network"
	"github.com/ctr-unit/ctr-unit/supervisor"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

func testInfo() *supervisor.Info {
	id := strings.Repeat("ab", 32)
	return &supervisor.Info{
		Config: &container.Config{
			ID: id, Name: "web", Unit: "ctr-web.service", Rootfs: "/r", Command: []string{"httpd", "-f", "-p", "8080", "-h", "/srv/www"},
			Labels: map[string]string{"app": "web", "tier": "front"}, CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
			StopSignal: 15, StopTimeout: 10,
			Health: &healthcheck.Config{Probe: healthcheck.Probe{Test: []string{"CMD-SHELL", "true"}, Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3}, OnFailure: healthcheck.ActionKill},
		},
		Unit:      units.Status{ActiveState: "active"},
		Status:    supervisor.StatusRunning,
		Pid:       42,
		StartedAt: time.Now().Add(-time.Minute),
		Health:    &healthcheck.State{Status: healthcheck.Healthy, Log: []healthcheck.Result{}},
	}
}

func render(t *testing.T, format string, infos ...*supervisor.Info) string {
	t.Helper()
	items := []any{}
	for _, i := range infos {
		items = append(items, psItem{psJSON: toPSJSON(i)})
	}
	var b bytes.Buffer
	if err := renderTemplate(&b, format, items, psHeaders()); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.String()
}

// Templates written for podman's ps work, and ctr-unit's names too.
func TestPSTemplateFields(t *testing.T) {
	i := testInfo()
	for format, want := range map[string]string{
		"{{.ID}}":                             "abababababab",
		"{{.Names}} {{.Name}}":                "web web",
		"{{.State}} {{.State.Status}}":        "running running",
		`{{if eq .State "running"}}up{{end}}`: "up",
		"{{.Status}}":                         "Up About a minute (healthy)",
		"{{.Command}}":                        "httpd -f -p 8080 ...",
		"{{.CreatedAt}}":                      "2025-01-02 03:04:05 +0000 UTC",
		"{{.Created.Year}}":                   "2025",
		"{{.Labels}}":                         "map[app:web tier:front]",
		"{{index .Labels \"app\"}}":           "web",
		"{{json .Labels}}":                    `{"app":"web","tier":"front"}`,
		"[{{.Ports}}] [{{.Image}}]":           "[] []",
		"{{.Unit}} {{.RestartCount}}":         "ctr-web.service 0",
		"{{.Names}}\\t{{.ID}}":                "web\tabababababab",
		"{{upper .Names}}":                    "WEB",
	} {
		if got := strings.TrimSuffix(render(t, format, i), "\n"); got != want {
			t.Errorf("%s: %q, want %q", format, got, want)
		}
	}
	i.Status = supervisor.StatusPaused
	i.Health = nil
	if got := render(t, "{{.Status}}", i); got != "Paused\n" {
		t.Errorf("paused: %q", got)
	}
}

func TestPSTableHasPodmansHeaders(t *testing.T) {
	got := render(t, "table {{.ID}} {{.Names}} {{.State.Status}}", testInfo())
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "CONTAINER ID NAMES STATUS" || strings.Join(strings.Fields(lines[1]), " ") != "abababababab web running" {
		t.Errorf("table:\n%s", got)
	}
	if strings.Index(lines[0], "NAMES") != strings.Index(lines[1], "web") {
		t.Errorf("columns not aligned:\n%s", got)
	}
}

func TestFormatIsJSON(t *testing.T) {
	for f, want := range map[string]bool{"json": true, "{{json .}}": true, " {{ json . }} ": true, "{{json .Labels}}": false, "{{.ID}}": false, "table": false} {
		if isJSON(f) != want {
			t.Errorf("isJSON(%q) = %v", f, !want)
		}
	}
	// The rule as a regular expression, which isJSON spells out.
	re := regexp.MustCompile(`^\s*(json|\{\{\s*json\s*\.?\s*\}\})\s*$`)
	for _, f := range []string{"", "json", " json\n", "jsonx", "{{json}}", "{{json.}}", "{{ json. }}", "{{json ..}}", "{{jsonx .}}", "{{json .}}x", "x{{json .}}", "{{}}", "{{ json . }", "{ json . }}", "{{\tjson\t.\t}}", "{{json .ID}}"} {
		if got, want := isJSON(f), re.MatchString(f); got != want {
			t.Errorf("isJSON(%q) = %v, the rule says %v", f, got, want)
		}
	}
}

// inspect's template fields are podman's, .Config.Healthcheck included.
func TestInspectTemplateFields(t *testing.T) {
	in := toInspectJSON(testInfo())
	var b bytes.Buffer
	format := inspectID().ReplaceAllString("{{.Id}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Test}} {{.Config.HealthcheckOnFailureAction}} {{.State.Health.Status}} {{.Config.Labels.app}} {{.HostConfig.AutoRemove}}", "{{.ID}}")
	if err := renderTemplate(&b, format, []any{in}, headers(reflect.TypeFor[inspectJSON](), nil)); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("ab", 32) + " 30s [CMD-SHELL true] kill healthy web false\n"; b.String() != want {
		t.Errorf("inspect: %q, want %q", b.String(), want)
	}
}

func TestSplitCamel(t *testing.T) {
	for in, want := range map[string]string{"ImageID": "Image ID", "CreatedAt": "Created At", "ID": "ID", "RestartCount": "Restart Count", "Names": "Names"} {
		if got := strings.Join(splitCamel(in), " "); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestPSFilter(t *testing.T) {
	web := testInfo()
	db := testInfo()
	db.Config = &container.Config{ID: "cd" + strings.Repeat("0", 62), Name: "db", Labels: map[string]string{"tier": "back", "io.containers.autoupdate": "registry"}}
	db.Status = supervisor.StatusExited
	for _, c := range []struct {
		filters []string
		want    string
	}{
		{nil, "web db"},
		{[]string{"name=^w"}, "web"},
		{[]string{"name=b"}, "web db"},
		{[]string{"id=cd00"}, "db"},
		{[]string{"label=app"}, "web"},
		{[]string{"label=tier=back"}, "db"},
		{[]string{"label=tier="}, "web db"},
		{[]string{"label=io.containers.*"}, "db"},
		{[]string{"label=tier", "label=app"}, "web"},
		{[]string{"status=exited"}, "db"},
		{[]string{"status=stopped"}, "db"},
		{[]string{"status=running", "status=exited"}, "web db"},
		{[]string{"status=running", "name=db"}, ""},
	} {
		f, err := parsePSFilters(c.filters)
		if err != nil {
			t.Fatalf("%v: %v", c.filters, err)
		}
		var got []string
		for _, i := range []*supervisor.Info{web, db} {
			if f.match(i) {
				got = append(got, i.Config.Name)
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%v: %v, want %s", c.filters, got, c.want)
		}
	}
	for _, bad := range []string{"bogus=1", "name", "status=sleeping", "name=("} {
		if _, err := parsePSFilters([]string{bad}); err == nil {
			t.Errorf("--filter %s accepted", bad)
		}
	}
}

// Exit statuses as podman's: a container's code, 126/127 for one that
// could not start, rm's own, 125 for the rest.
func TestExitStatus(t *testing.T) {
	var w bytes.Buffer
	for _, c := range []struct {
		err     error
		code    int
		printed bool
	}{
		{nil, 0, false},
		{exitCode(3), 3, false},
		{fmt.Errorf("start: %w", &unitstep.RuntimeError{Container: "web", ExitCode: 127, Msg: "not found"}), 127, true},
		{&unitstep.RuntimeError{Container: "web", ExitCode: 126, Msg: "denied", Printed: true}, 126, false},
		{&codedError{code: 1, err: container.ErrNoSuchContainer}, 1, true},
		{errors.New("boom"), 125, true},
	} {
		w.Reset()
		if got := exitStatus(c.err, &w); got != c.code || (w.Len() > 0) != c.printed {
			t.Errorf("%v: %d, printed %q; want %d, printed %v", c.err, got, w.String(), c.code, c.printed)
		}
	}
}

// rm, rmi and volume rm exit as podman's: 1 once something was missing,
// 2 if something was in use, 125 for other failures.
func TestRemoveCode(t *testing.T) {
	missing, busy, other := errors.New("missing"), errors.New("busy"), errors.New("other")
	for _, c := range []struct {
		errs []error
		want int
	}{
		{[]error{fmt.Errorf("x: %w", missing)}, 1},
		{[]error{busy}, 2},
		{[]error{other}, 125},
		{[]error{busy, missing}, 1},
		{[]error{missing, busy}, 1},
		{[]error{other, busy}, 2},
		{[]error{busy, other}, 2},
	} {
		code := 0
		for _, err := range c.errs {
			code = removeCode(code, err, missing, busy)
		}
		if code != c.want {
			t.Errorf("%v: %d, want %d", c.errs, code, c.want)
		}
	}
}

// ps shows published ports as podman's ps does.
func TestPortStrings(t *testing.T) {
	got := portStrings([]network.PortMapping{
		{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 9000, ContainerPort: 90, Range: 2, Protocol: "udp"},
		{HostIP: "::1", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"},
	})
	want := []string{"0.0.0.0:8080->80/tcp", "127.0.0.1:9000-9001->90-91/udp", "[::1]:8443->443/tcp"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("portStrings = %q; want %q", got, want)
	}
	if got := portStrings(nil); got == nil || len(got) != 0 {
		t.Errorf("no ports: %#v; want an empty list (JSON [])", got)
	}
}

// inspect's NetworkSettings carry podman's names: the ports by container
// port, and the addresses on each network, the only one's also on top.
func TestNetworkSettings(t *testing.T) {
	cfg := &container.Config{
		Name: "web", Network: container.NetworkBridge,
		Networks: []network.Attach{{Network: "front", Aliases: []string{"www"}}},
		Ports:    []network.PortMapping{{ContainerPort: 80, Range: 1, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Range: 1, Protocol: "udp"}},
	}
	// Not set up: only the ports whose host port is fixed, no addresses.
	ns := toNetworkSettings(cfg, nil)
	if !reflect.DeepEqual(ns.Ports, map[string][]portBindingJSON{"53/udp": {{HostPort: "5353"}}}) || ns.IPAddress != "" || ns.Networks != nil {
		t.Errorf("stopped: %+v", ns)
	}
	att := &network.Attachment{
		Container: "web", Netns: "/run/ctr-unit/netns/web",
		Networks: []network.AttachedNetwork{{
			Network: "front", MAC: "02:00:00:00:00:01",
			Addresses: []network.Prefix{{Prefix: netip.MustParsePrefix("10.89.0.5/24")}, {Prefix: netip.MustParsePrefix("fd00::5/64")}},
			Gateways:  []netip.Addr{netip.MustParseAddr("10.89.0.1"), netip.MustParseAddr("fd00::1")},
		}},
		Ports: []network.PortMapping{{HostPort: 40001, ContainerPort: 80, Range: 1, Protocol: "tcp"}, {HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Range: 1, Protocol: "udp"}},
	}
	ns = toNetworkSettings(cfg, att)
	ep := endpointJSON{Gateway: "10.89.0.1", IPAddress: "10.89.0.5", IPPrefixLen: 24, IPv6Gateway: "fd00::1", GlobalIPv6Address: "fd00::5", GlobalIPv6PrefixLen: 64, MacAddress: "02:00:00:00:00:01"}
	want := networkSettingsJSON{
		endpointJSON: ep,
		Ports:        map[string][]portBindingJSON{"80/tcp": {{HostPort: "40001"}}, "53/udp": {{HostIP: "127.0.0.1", HostPort: "5353"}}},
		SandboxKey:   "/run/ctr-unit/netns/web",
		Networks:     map[string]networkJSON{"front": {endpointJSON: ep, NetworkID: "front", Aliases: []string{"www"}}},
	}
	if !reflect.DeepEqual(ns, want) {
		t.Errorf("running:\n got %+v\nwant %+v", ns, want)
	}
	// On two networks the top-level fields stay empty, as in podman.
	att.Networks = append(att.Networks, network.AttachedNetwork{Network: "back", Addresses: []network.Prefix{{Prefix: netip.MustParsePrefix("10.90.0.5/24")}}})
	if ns = toNetworkSettings(cfg, att); ns.IPAddress != "" || ns.Networks["back"].IPAddress != "10.90.0.5" || ns.Networks["front"].IPAddress != "10.89.0.5" {
		t.Errorf("two networks: %+v", ns)
	}
}
