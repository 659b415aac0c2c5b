package ociruntime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func namespaces(s *specs.Spec) []specs.LinuxNamespaceType {
	var out []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		out = append(out, n.Type)
	}
	return out
}

func TestSpecKeepsTheContainerInTheUnitsCgroup(t *testing.T) {
	s := Spec(SpecConfig{Rootfs: "/r", Args: []string{"sh"}, CgroupsPath: "/system.slice/ctr-web.service/ctr"})
	if s.Linux.CgroupsPath != "/system.slice/ctr-web.service/ctr" {
		t.Errorf("cgroupsPath %q", s.Linux.CgroupsPath)
	}
	if s.Root.Path != "/r" || s.Process.Args[0] != "sh" || s.Process.Cwd != "/" {
		t.Errorf("root %q args %v cwd %q", s.Root.Path, s.Process.Args, s.Process.Cwd)
	}
	if s.Process.Terminal {
		t.Error("a service container must not get a terminal: its output goes to the journal")
	}
}

func TestSpecEnvironmentDefaults(t *testing.T) {
	s := Spec(SpecConfig{Args: []string{"x"}, Hostname: "web", Env: []string{"A=1"}})
	env := s.Process.Env
	if env[0] != DefaultPath || !slices.Contains(env, "A=1") || !slices.Contains(env, "container=ctr-unit") || !slices.Contains(env, "HOSTNAME=web") {
		t.Errorf("env %v", env)
	}
	s = Spec(SpecConfig{Args: []string{"x"}, Env: []string{"PATH=/opt/bin"}})
	if slices.Contains(s.Process.Env, DefaultPath) || s.Process.Env[0] != "PATH=/opt/bin" {
		t.Errorf("the container's own PATH was overridden: %v", s.Process.Env)
	}
}

func TestSpecNetworkNamespace(t *testing.T) {
	host := namespaces(Spec(SpecConfig{Args: []string{"x"}, HostNetwork: true}))
	own := namespaces(Spec(SpecConfig{Args: []string{"x"}}))
	if slices.Contains(host, specs.NetworkNamespace) || !slices.Contains(own, specs.NetworkNamespace) {
		t.Errorf("host network %v, own network %v", host, own)
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		if !slices.Contains(host, ns) {
			t.Errorf("namespace %s missing", ns)
		}
	}
}

func TestWriteBundleIsValidJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	if err := WriteBundle(dir, Spec(SpecConfig{Args: []string{"x"}})); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back specs.Spec
	if err := json.Unmarshal(data, &back); err != nil || back.Process.Args[0] != "x" {
		t.Fatalf("config.json: %v, %+v", err, back.Process)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("bundle holds %d files, want config.json only (no temporary files)", len(entries))
	}
}
