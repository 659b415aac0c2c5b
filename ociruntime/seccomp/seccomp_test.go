package seccomp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/ociruntime"
)

func specWith(caps ...string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
}

// allowed reports whether f lets name through unconditionally.
func allowed(f *specs.LinuxSeccomp, name string) bool {
	for _, r := range f.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 && slices.Contains(r.Names, name) {
			return true
		}
	}
	return false
}

// The calls podman and docker refuse a container with the default
// capabilities fail with EPERM; ordinary ones pass.
func TestDefaultProfile(t *testing.T) {
	var p Profiles
	f, err := p.For(Default, ociruntime.Spec(ociruntime.SpecConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if f.DefaultAction != specs.ActErrno || f.DefaultErrnoRet == nil || *f.DefaultErrnoRet != 1 {
		t.Errorf("default action %s, errno %v; want EPERM", f.DefaultAction, f.DefaultErrnoRet)
	}
	if len(f.Architectures) == 0 {
		t.Error("no architectures: the filter would not match this machine's calls")
	}
	for _, name := range []string{"keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load", "mount", "unshare", "init_module", "reboot"} {
		if allowed(f, name) {
			t.Errorf("%s is allowed by the default profile", name)
		}
	}
	for _, name := range []string{"read", "write", "openat", "execve", "futex", "epoll_wait", "chown", "kill"} {
		if !allowed(f, name) {
			t.Errorf("%s is not allowed by the default profile", name)
		}
	}
	// clone3 fails with ENOSYS, so that C libraries fall back to clone,
	// whose namespace flags the filter can see.
	if !slices.ContainsFunc(f.Syscalls, func(r specs.LinuxSyscall) bool {
		return slices.Contains(r.Names, "clone3") && r.Action == specs.ActErrno && r.ErrnoRet != nil && *r.ErrnoRet == 38
	}) {
		t.Error("clone3 does not fail with ENOSYS")
	}
	// CAP_SYS_ADMIN (--cap-add) lets its calls through, as in podman.
	admin, err := p.For(Default, ociruntime.Spec(ociruntime.SpecConfig{CapAdd: []string{"CAP_SYS_ADMIN"}}))
	if err != nil {
		t.Fatal(err)
	}
	if !allowed(admin, "mount") || !allowed(admin, "unshare") {
		t.Error("mount or unshare refused despite CAP_SYS_ADMIN")
	}
}

// One conversion per profile and capability set, shared by every spec of
// a command.
func TestProfilesConvertOnce(t *testing.T) {
	var p Profiles
	a, _ := p.For(Default, specWith("CAP_CHOWN"))
	b, _ := p.For(Default, specWith("CAP_CHOWN"))
	c, _ := p.For(Default, specWith("CAP_CHOWN", "CAP_SYS_PTRACE"))
	if a != b || a == c {
		t.Errorf("same caps %p %p, other caps %p", a, b, c)
	}
	if f, err := p.For(Unconfined, specWith()); f != nil || err != nil {
		t.Errorf("unconfined: %v, %v", f, err)
	}
}

func TestProfileFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.json")
	prof := map[string]any{
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls":      []map[string]any{{"names": []string{"mkdir", "mkdirat"}, "action": "SCMP_ACT_ERRNO"}},
	}
	data, _ := json.Marshal(prof)
	os.WriteFile(good, data, 0o600)
	var p Profiles
	f, err := p.For(good, specWith())
	if err != nil {
		t.Fatal(err)
	}
	if f.DefaultAction != specs.ActAllow || len(f.Syscalls) != 1 || !slices.Contains(f.Syscalls[0].Names, "mkdirat") {
		t.Errorf("profile %+v", f)
	}
	for name, text := range map[string]string{"garbled.json": "{not json", "empty.json": "{}"} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(text), 0o600)
		if _, err := p.For(path, specWith()); !errors.Is(err, ErrProfile) {
			t.Errorf("%s: %v, want ErrProfile", name, err)
		}
	}
	if _, err := p.For(filepath.Join(dir, "missing.json"), specWith()); !errors.Is(err, ErrProfile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// What the default filter costs the spec a start writes: its conversion
// (once per command and capability set) and its encoding (every spec).
func BenchmarkDefaultProfile(b *testing.B) {
	spec := ociruntime.Spec(ociruntime.SpecConfig{Args: []string{"sh"}})
	b.Run("convert", func(b *testing.B) {
		for b.Loop() {
			var p Profiles
			if _, err := p.For(Default, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-without", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(spec)
		}
	})
	var p Profiles
	with := *spec
	linux := *spec.Linux
	linux.Seccomp, _ = p.For(Default, spec)
	with.Linux = &linux
	data, _ := json.Marshal(&with)
	b.Run("encode-with", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(&with)
		}
	})
	b.ReportMetric(float64(len(data)), "spec-bytes")
}

// BenchmarkDefaultFilter is what a command pays once to turn the default
// profile into a spec's filter (the rest of a start's seccomp cost is
// runc's, compiling it to BPF).
func BenchmarkDefaultFilter(b *testing.B) {
	spec := specWith(ociruntime.Capabilities...)
	for b.Loop() {
		var p Profiles
		if _, err := p.For(Default, spec); err != nil {
			b.Fatal(err)
		}
	}
}
