package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// writeBundle writes the OCI bundle a start of cfg's container runs, from
// its record, at every start: what the record names on the host (devices,
// a seccomp profile file) is read now, so a start uses what is there now.
// The spec carries the OCI hooks that apply to it (oci-hooks(5), as podman
// selects them), after podman's precreate hooks had their say. poststop
// hooks are kept apart for the unit's stop step, which runs them however
// the container ended. A malformed hook file is reported and left out: it
// must not keep containers from starting.
func (s *Supervisor) writeBundle(ctx context.Context, cfg *container.Config) error {
	bundle := s.dirs.Bundle(cfg.Name)
	// The plan of what the start step sets up for the network and /etc
	// files, which the spec's namespace path and mounts refer to.
	if err := unitstep.WriteNetworkPlan(bundle, container.NetworkPlan(cfg, s.netDir)); err != nil {
		return fmt.Errorf("container %s: write its network plan: %w", cfg.Name, err)
	}
	spec, err := s.spec(cfg)
	if err != nil {
		return err
	}
	// An image container's root is its layer's mount, made here so that
	// the unit's start step needs no image store; where the layer is not
	// mounted when it runs (systemd restarted the unit after its stop
	// step unmounted it), it hands over to ctr-unit's, which mounts it.
	root, mounted, err := s.fs.MountLayer(cfg)
	if err != nil {
		return err
	}
	if root != "" {
		spec.Root.Path = root
	}
	if err := unitstep.WriteLayerRoot(bundle, root, mounted, s.steps.Argv(unitstep.Start, false, cfg.Name)); err != nil {
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	dirs := cfg.HooksDirs
	if len(dirs) == 0 {
		dirs = s.hookDirs
	}
	hooks, problems := ociruntime.ReadHooks(dirs)
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "ctr-unit: warning: container %s: %v; the hook is left out\n", cfg.Name, p)
	}
	selected := ociruntime.Select(hooks, spec)
	if pre := selected[ociruntime.StagePrecreate]; len(pre) > 0 {
		if spec, err = ociruntime.RunPrecreate(ctx, pre, spec); err != nil {
			return fmt.Errorf("container %s: %w", cfg.Name, err)
		}
	}
	selected.ApplyHooks(spec)
	if err := ociruntime.WriteBundle(bundle, spec); err != nil {
		return err
	}
	if err := ociruntime.WriteStageHooks(bundle, selected); err != nil {
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	return nil
}

// spec is a container's OCI spec, host devices and seccomp filter
// included.
func (s *Supervisor) spec(cfg *container.Config) (*specs.Spec, error) {
	sc := container.BuildSpec(cfg, os.Environ())
	container.NetworkSpec(&sc, cfg, s.dirs)
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

// event records what happened to a container in the journal (package
// events). An event that cannot be written is lost, not the command.
func (s *Supervisor) event(cfg *container.Config, status string, extra ...func(*events.Event)) {
	if s.eventSocket == "" {
		return
	}
	ev := events.Event{Status: status, Name: cfg.Name, Unit: cfg.Unit, Image: cfg.Image}
	for _, f := range extra {
		f(&ev)
	}
	_ = events.Write(s.eventSocket, ev)
}
