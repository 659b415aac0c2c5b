package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/unitstep"
)

// systemd execs ctr-unit-step at every start and stop of a container, so
// what it links is paid for in each: none of image storage, the D-Bus
// client, containerd's cgroup2 package with its protobuf, ebpf and logrus,
// the CLI or the supervisor. It writes bundles (package container, the
// seccomp profiles), which link none of these.
func TestStepBinaryStaysLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"go.podman.io/storage", "go.podman.io/image", "github.com/cilium/ebpf", "google.golang.org/protobuf",
		"github.com/sirupsen/logrus", "github.com/godbus/dbus", "github.com/coreos/go-systemd/v22/dbus",
		"github.com/containerd/cgroups/v3/cgroup1", "github.com/containerd/cgroups/v3/cgroup2",
		"github.com/spf13/cobra", "github.com/ctr-unit/ctr-unit/sdbus", "github.com/ctr-unit/ctr-unit/supervisor",
		"github.com/ctr-unit/ctr-unit/rootfs", "github.com/ctr-unit/ctr-unit/imagestore",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("ctr-unit-step links %s", pkg)
			}
		}
	}
}

// Every step the table says ctr-unit-step can run, it runs; the others it
// refuses by name.
func TestStepBinaryRunsTheLeanSteps(t *testing.T) {
	for _, st := range unitstep.Table {
		if st.Command != nil {
			continue
		}
		args := []string{"--state-dir", t.TempDir(), "--runtime-dir", t.TempDir(), "--runtime", "/bin/false", string(st.Name)}
		switch st.Args {
		case unitstep.ArgsContainer:
			args = append(args, "x")
		case unitstep.ArgsContainerUnit:
			args = append(args, "x", "ctr-unitstep-test-none.service")
		case unitstep.ArgsDirs:
			args = append(args, t.TempDir())
		}
		err := run(args)
		refused := err != nil && strings.Contains(err.Error(), "ctr-unit's to run")
		if refused == st.Lean {
			t.Errorf("step %s (lean %v): %v", st.Name, st.Lean, err)
		}
	}
}
