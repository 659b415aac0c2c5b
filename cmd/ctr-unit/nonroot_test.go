package main

import (
	"strings"
	"testing"
)

// A user other than root is refused before a command touches anything;
// what reads nothing stored runs for anyone.
func TestRefuseNonRoot(t *testing.T) {
	root := newRootCommand(&app{})
	for _, args := range [][]string{
		{"run", "-d", "--name", "web", "--rootfs", "/r", "--", "sh"},
		{"ps", "-a"},
		{"rm", "-f", "web"},
		{"image", "ls"},
		{"volume", "create", "data"},
	} {
		err := refuseNonRoot(root, args, 1000)
		if err == nil || !strings.Contains(err.Error(), "must run as root") || !strings.Contains(err.Error(), "sudo") {
			t.Errorf("%q as user 1000: %v, want a refusal that says to run it as root", args, err)
		}
		if err := refuseNonRoot(root, args, 0); err != nil {
			t.Errorf("%q as root: %v", args, err)
		}
	}
	for _, args := range [][]string{{}, {"--version"}, {"--help"}, {"run", "--help"}, {"help", "run"}, {"completion", "bash"}, {"validate", "/etc/ctr-unit/web.container"}} {
		if err := refuseNonRoot(root, args, 1000); err != nil {
			t.Errorf("%q as user 1000: %v, want it to run", args, err)
		}
	}
}
