package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/supervisor"
)

// parseCreate runs create's flag parsing (not the command) on args.
func parseCreate(t *testing.T, use string, args []string) supervisor.CreateRequest {
	t.Helper()
	var r supervisor.CreateRequest
	root := newRootCommand(&app{})
	cmd := &cobra.Command{Use: use}
	root.AddCommand(cmd)
	createFlags(cmd, &r)
	if use == "run" {
		cmd.Flags().BoolP("detach", "d", false, "")
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}

	createOptions(cmd, &r, cmd.Flags().Args())
	return r
}

// The recorded command line creates the same container again: what
// generate systemd --new puts in its unit.
func TestCreateCommandLineRecreatesTheContainer(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.Mkdir("rootfs", 0o755)
	for _, c := range []struct {
		use  string
		args []string
	}{
		{"create", []string{"--state-dir", "/var/lib/other", "--name", "web", "--rootfs", "rootfs", "-e", "A=1", "-e", "B=two words", "--restart", "on-failure:3",
			"--stop-timeout", "5", "--memory", "64m", "--cpus", "1.5", "--health-cmd", "test -e /tmp/ok", "--health-interval", "1s",
			"--no-network-wait", "--", "sh", "-c", "echo hi; sleep 1000"}},
		{"run", []string{"-d", "--rm", "--name", "img", "-v", "data:/data", "--tmpfs", "/tmp:size=1m", "-u", "0:0", "app:1", "sh", "-c", "exit 3"}},
	} {
		o := parseCreate(t, c.use, c.args)
		for _, w := range o.CreateCommand {
			if strings.HasPrefix(w, "--state-dir") {
				t.Errorf("%s: the line keeps the global %s: the unit gives its own", c.use, w)
			}
		}
		again := parseCreate(t, "create", o.CreateCommand)
		if o.Rootfs != "" && again.Rootfs != filepath.Join(dir, "rootfs") {
			t.Errorf("%s: rootfs %q, want it absolute", c.use, again.Rootfs)
		}
		o.Rootfs, again.Rootfs = "", ""
		// A --new unit removes its container itself; funcs never compare.
		o.AutoRemove, o.Environ, again.Environ = false, nil, nil
		if !reflect.DeepEqual(again.CreateCommand, o.CreateCommand) {
			t.Errorf("%s: the line changed: %q then %q", c.use, o.CreateCommand, again.CreateCommand)
		}
		if !reflect.DeepEqual(again, o) {
			t.Errorf("%s: options differ\n got  %+v\n want %+v", c.use, again, o)
		}
	}
}
