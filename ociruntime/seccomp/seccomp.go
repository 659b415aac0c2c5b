// Package seccomp gives a container its seccomp filter: by default the
// profile podman and docker apply (github.com/moby/profiles/seccomp, kept
// up to date there), or one from a file, turned into the runtime spec's
// LinuxSeccomp for this machine's architecture and the container's
// capabilities. It is apart from package ociruntime so that the units'
// lean step binary, which never writes a spec, does not link it.
package seccomp

import (
	"errors"
	"fmt"
	"os"
	"strings"

	moby "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Profile names besides a file's path (as container.SeccompDefault and
// container.SeccompUnconfined).
const (
	Default    = ""
	Unconfined = "unconfined"
)

// ErrProfile marks a profile file that cannot be used.
var ErrProfile = errors.New("unusable seccomp profile")

// Profiles turns profiles into filters, each profile and capability set
// once per Profiles: a command that writes many specs (a start of many
// containers, the boot's) converts the default profile once for every
// set of capabilities.
type Profiles struct {
	done map[string]*specs.LinuxSeccomp
}

// For returns the filter of profile (Default, Unconfined or a file) for
// a container whose spec, capabilities included, is otherwise complete;
// nil for Unconfined. The result is shared: callers must not change it.
func (p *Profiles) For(profile string, spec *specs.Spec) (*specs.LinuxSeccomp, error) {
	if profile == Unconfined {
		return nil, nil
	}
	var caps []string
	if spec.Process != nil && spec.Process.Capabilities != nil {
		caps = spec.Process.Capabilities.Bounding
	}
	key := profile + "\x00" + strings.Join(caps, ",")
	if f, ok := p.done[key]; ok {
		return f, nil
	}
	f, err := build(profile, spec)
	if err != nil {
		return nil, err
	}
	if p.done == nil {
		p.done = map[string]*specs.LinuxSeccomp{}
	}
	p.done[key] = f
	return f, nil
}

func build(profile string, spec *specs.Spec) (*specs.LinuxSeccomp, error) {
	if profile == Default {
		f, err := moby.GetDefaultProfile(spec)
		if err != nil {
			return nil, fmt.Errorf("default seccomp profile: %w", err)
		}
		return f, nil
	}
	data, err := os.ReadFile(profile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	return Load(profile, data, spec)
}

// Load reads a profile file's content (docker's and podman's JSON
// format), named path in errors.
func Load(path string, data []byte, spec *specs.Spec) (*specs.LinuxSeccomp, error) {
	f, err := moby.LoadProfile(string(data), spec)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrProfile, path, err)
	}
	if f == nil {
		return nil, fmt.Errorf("%w %s: it has no defaultAction and no syscalls; to run without a filter, use seccomp=unconfined", ErrProfile, path)
	}
	return f, nil
}
