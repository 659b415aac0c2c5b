package sdbus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What the kernel says of PID 1, laid out as /proc and /sys/fs/cgroup
// would have it, and what the probe makes of it.
func TestManagerState(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string // "" for none; else a part of the error
	}{
		{"running, v2", map[string]string{
			"proc/1/stat":                 "1 (systemd) S 0 1 1 0",
			"proc/1/cgroup":               "0::/init.scope\n",
			"cg/init.scope/cgroup.events": "populated 1\nfrozen 0\n",
			"cg/init.scope/cgroup.freeze": "0\n",
		}, ""},
		{"a name with a parenthesis", map[string]string{
			"proc/1/stat": "1 (a) T) S 0 1 1 0",
		}, ""},
		{"stopped", map[string]string{
			"proc/1/stat": "1 (systemd) T 0 1 1 0",
		}, "kill -CONT 1"},
		{"frozen, v2", map[string]string{
			"proc/1/stat":                 "1 (systemd) S 0 1 1 0",
			"proc/1/cgroup":               "0::/init.scope\n",
			"cg/init.scope/cgroup.events": "populated 1\nfrozen 1\n",
			"cg/init.scope/cgroup.freeze": "1\n",
		}, "echo 0 > CG/init.scope/cgroup.freeze"},
		{"frozen through an ancestor", map[string]string{
			"proc/1/stat":                     "1 (systemd) S 0 1 1 0",
			"proc/1/cgroup":                   "0::/box/init.scope\n",
			"cg/box/init.scope/cgroup.events": "populated 1\nfrozen 1\n",
			"cg/box/init.scope/cgroup.freeze": "0\n",
			"cg/box/cgroup.freeze":            "1\n",
		}, "echo 0 > CG/box/cgroup.freeze"},
		{"frozen, hybrid", map[string]string{
			"proc/1/stat":                         "1 (systemd) S 0 1 1 0",
			"proc/1/cgroup":                       "12:freezer:/\n1:name=systemd:/init.scope\n0::/init.scope\n",
			"cg/freezer/freezer.state":            "THAWED\n",
			"cg/unified/init.scope/cgroup.events": "populated 1\nfrozen 1\n",
			"cg/unified/init.scope/cgroup.freeze": "1\n",
		}, "echo 0 > CG/unified/init.scope/cgroup.freeze"},
		{"frozen by v1's freezer", map[string]string{
			"proc/1/stat":                         "1 (systemd) S 0 1 1 0",
			"proc/1/cgroup":                       "12:freezer:/cold\n0::/init.scope\n",
			"cg/freezer/cold/freezer.state":       "FROZEN\n",
			"cg/unified/init.scope/cgroup.events": "populated 1\nfrozen 0\n",
		}, "echo THAWED > CG/freezer/cold/freezer.state"},
		{"nothing readable", map[string]string{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for p, data := range c.files {
				p = filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cg := filepath.Join(root, "cg")
			err := readManagerState(filepath.Join(root, "proc"), cg).stuck()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("stuck: %v; want none", err)
			case c.want != "" && (!errors.Is(err, ErrSystemdStuck) || !strings.Contains(err.Error(), strings.ReplaceAll(c.want, "CG", cg))):
				t.Errorf("stuck: %v; want ErrSystemdStuck saying %q", err, c.want)
			}
		})
	}
}

// What each connection pays for the probe (make bench shows it whole).
func BenchmarkSystemdStuck(b *testing.B) {
	for b.Loop() {
		_ = systemdStuck()
	}
}
