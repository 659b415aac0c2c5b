//go:build integration

package definition

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
)

// These tests ask the real systemd what it makes of the texts of the
// tables in systemd_test.go and dropins_test.go; they run inside the
// systemd that hack/sysbox boots:
//
//	hack/sysbox run v2 -- go test -tags integration -run Systemd ./definition/

func connect(t *testing.T) (context.Context, *sd.Conn) {
	t.Helper()
	if os.Getenv("SYSBOX_LAYOUT") == "" {
		t.Skip("not inside hack/sysbox (SYSBOX_LAYOUT unset)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	conn, err := sd.NewSystemdConnectionContext(ctx)
	if err != nil {
		t.Fatalf("connect to systemd: %v", err)
	}
	t.Cleanup(conn.Close)
	return ctx, conn
}

// install writes files (path: text, or /dev/null for a symlink to it),
// reloads systemd, and removes them and reloads again when the test ends.
func install(t *testing.T, ctx context.Context, conn *sd.Conn, files map[string]string) {
	t.Helper()
	var made []string
	t.Cleanup(func() {
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.ReloadContext(ctx); err != nil {
			t.Errorf("reload after removing the test's units: %v", err)
		}
	})
	for p, text := range files {
		var missing []string
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if _, err := os.Stat(d); err == nil {
				break
			}
			missing = append(missing, d)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			made = append(made, missing[i]) // removed after what is in it
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if text == os.DevNull {
			err = os.Symlink(os.DevNull, p)
		} else {
			err = os.WriteFile(p, []byte(text), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, p)
	}
	if err := conn.ReloadContext(ctx); err != nil {
		t.Fatalf("daemon-reload: %v", err)
	}
}

// property reads one property of unit: Description, or a Service
// property (Environment, ExecStart's last command's argv), as strings.
func property(ctx context.Context, conn *sd.Conn, unit, name string) ([]string, error) {
	if name == "Description" || name == "LoadState" || name == "DropInPaths" {
		p, err := conn.GetUnitPropertyContext(ctx, unit, name)
		if err != nil {
			return nil, err
		}
		switch v := p.Value.Value().(type) {
		case string:
			return []string{v}, nil
		case []string:
			return v, nil
		}
		return nil, fmt.Errorf("%s of %s is %T", name, unit, p.Value.Value())
	}
	p, err := conn.GetServicePropertyContext(ctx, unit, name)
	if err != nil {
		return nil, err
	}
	switch v := p.Value.Value().(type) {
	case []string:
		if len(v) == 0 {
			return nil, nil
		}
		return v, nil
	case [][]any:
		if len(v) == 0 {
			return nil, nil
		}
		argv, ok := v[len(v)-1][1].([]string)
		if !ok {
			return nil, fmt.Errorf("ExecStart of %s: argv is %T", unit, v[len(v)-1][1])
		}
		return argv, nil
	}
	return nil, fmt.Errorf("%s of %s is %T", name, unit, p.Value.Value())
}

func TestSystemdAgreesWithTheTable(t *testing.T) {
	ctx, conn := connect(t)
	cases := systemdCases()
	files := map[string]string{}
	for _, c := range cases {
		files[unitDir+c.fragmentName()] = c.unit
	}
	host := "[Unit]\nDescription=%H %l %q %m %b %v %a %o %w %W %B %M %A %s\n" + svc
	files[unitDir+"def-syn-host.service"] = host
	install(t, ctx, conn, files)

	for _, c := range cases {
		unit := c.unitFileName()
		load, err := property(ctx, conn, unit, "LoadState")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if load[0] != c.load {
			t.Errorf("%s: systemd's LoadState is %s, the table says %s", c.name, load[0], c.load)
			continue
		}
		if c.load != "loaded" {
			continue
		}
		got, err := property(ctx, conn, unit, c.prop)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.got) {
			t.Errorf("%s: systemd's %s is %q, the table says %q", c.name, c.prop, got, c.got)
		}
	}

	// The host's specifiers, as ReadHost reads the system.
	got, err := property(ctx, conn, "def-syn-host.service", "Description")
	if err != nil {
		t.Fatal(err)
	}
	sp := &Specifiers{Unit: "def-syn-host.service", Host: ReadHost()}
	want, err := sp.Expand("%H %l %q %m %b %v %a %o %w %W %B %M %A %s")
	if err != nil || got[0] != want {
		t.Errorf("host specifiers: systemd %q, reader %q (%v)", got[0], want, err)
	}
}

func TestSystemdAgreesOnDropIns(t *testing.T) {
	ctx, conn := connect(t)
	dirs := []string{"/etc/systemd/system", unitDir}
	layout := dropInLayout()
	files := map[string]string{
		filepath.Join(dirs[1], "foo-bar.service"): "[Service]\nExecStart=/bin/true\nEnvironment=M=main\n",
	}
	for _, d := range layout.files {
		p := filepath.Join(d.where(dirs, "service"), d.name)
		files[p] = os.DevNull
		if d.text != "" {
			files[p] = d.content("Service", "Environment")
		}
	}
	install(t, ctx, conn, files)

	env, err := property(ctx, conn, "foo-bar.service", "Environment")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env, layout.want) {
		t.Errorf("systemd's Environment is %q, the table says %q", env, layout.want)
	}
	listed, err := property(ctx, conn, "foo-bar.service", "DropInPaths")
	if err != nil {
		t.Fatal(err)
	}
	// systemd lists the /dev/null that hides a name, too.
	var used []string
	for _, p := range listed {
		if !isDevNull(p) {
			used = append(used, p)
		}
	}
	var want []string
	for _, i := range layout.used {
		d := layout.files[i]
		want = append(want, filepath.Join(d.where(dirs, "service"), d.name))
	}
	if !reflect.DeepEqual(used, want) {
		t.Errorf("systemd used\n%s\nthe table says\n%s", strings.Join(used, "\n"), strings.Join(want, "\n"))
	}
}
