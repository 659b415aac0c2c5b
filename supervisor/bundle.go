package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/ociruntime"
)

// writeBundle writes a container's OCI bundle from its record, at every
// start: what the record names on the host (devices, a seccomp profile
// file) is read now, so a start uses what is there now.
func (s *Supervisor) writeBundle(cfg *container.Config) error {
	spec, err := s.spec(cfg)
	if err != nil {
		return err
	}
	return ociruntime.WriteBundle(s.dirs.Bundle(cfg.Name), spec)
}

// spec is a container's OCI spec, host devices and seccomp filter
// included.
func (s *Supervisor) spec(cfg *container.Config) (*specs.Spec, error) {
	sc := container.BuildSpec(cfg)
	devices, err := hostDevices(cfg)
	if err != nil {
		return nil, err
	}
	sc.Devices = devices
	if sc.Bounding, err = ociruntime.BoundingSet(); err != nil {
		return nil, err
	}
	for _, c := range cfg.CapAdd {
		if c != ociruntime.AllCapabilities && !slices.Contains(sc.Bounding, c) {
			return nil, fmt.Errorf("%w: container %s: capability %s cannot be given: ctr-unit does not have it here (its bounding set)", container.ErrInvalid, cfg.Name, c)
		}
	}
	spec := ociruntime.Spec(sc)
	if spec.Linux.Seccomp, err = s.profiles.For(cfg.Seccomp(), spec); err != nil {
		return nil, fmt.Errorf("%w: container %s: %w (give another with --security-opt seccomp=PROFILE.json, or seccomp=unconfined)", container.ErrInvalid, cfg.Name, err)
	}
	return spec, nil
}

// hostDevices are the device nodes a container is given: all the host's
// for a privileged one, as podman does, and those it names.
func hostDevices(cfg *container.Config) ([]ociruntime.Device, error) {
	var out []ociruntime.Device
	if cfg.Privileged {
		all, err := ociruntime.HostDevices()
		if err != nil {
			return nil, fmt.Errorf("container %s: list the host's devices: %w", cfg.Name, err)
		}
		out = all
	}
	for _, d := range cfg.Devices {
		dev, err := ociruntime.DeviceAt(d.Path, d.CtrPath, d.Perms)
		if d.Optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: container %s: device %s: %w", container.ErrInvalid, cfg.Name, d.Path, err)
		}
		// One the container names replaces a privileged one's default.
		for i, o := range out {
			if o.Path == dev.Path {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
		out = append(out, dev)
	}
	return out, nil
}
