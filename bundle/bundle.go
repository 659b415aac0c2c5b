// Package bundle writes the OCI bundle a container's start runs, from its
// record, at every start. ctr-unit writes it, and so does ctr-unit-step
// when it starts a template instance whose record is up to date, so the
// package links neither the image store nor the D-Bus client: an image
// container's layer is mounted by a function the caller passes.
package bundle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/ociruntime/seccomp"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Writer writes the bundles of the containers of one state directory.
type Writer struct {
	dirs     unitstep.Dirs
	netDir   string
	hookDirs []string
	steps    unitstep.Runner
	// profiles converts seccomp profiles once per process.
	profiles seccomp.Profiles
}

// NewWriter returns a Writer of the bundles in dirs. netDir holds the
// network definitions; hookDirs hold OCI hook files in rising precedence
// (ociruntime.DefaultHookDirs if nil), which a container's own replace;
// steps writes the start step an image container's unit hands over to.
func NewWriter(dirs unitstep.Dirs, netDir string, hookDirs []string, steps unitstep.Runner) *Writer {
	if hookDirs == nil {
		hookDirs = ociruntime.DefaultHookDirs
	}
	return &Writer{dirs: dirs, netDir: netDir, hookDirs: hookDirs, steps: steps}
}

// MountLayer mounts an image container's layer and returns where, and
// whether that is a mount of its own; "" for a container without one.
type MountLayer func(cfg *container.Config) (dir string, mounted bool, err error)

// Prepare readies a start of the container whose record is cfg, kept in
// store: its state says it started now, in this boot (from here on a
// refresh leaves its runtime files alone), its last exit is cleared, and
// its bundle is written.
func (w *Writer) Prepare(ctx context.Context, store container.Store, cfg *container.Config, mount MountLayer) error {
	name := cfg.Name
	st, err := store.State(name)
	if err != nil {
		return err
	}
	st.BootID, _ = unitstep.BootID()
	st.StartedAt = time.Now()
	if err := store.SaveState(name, st); err != nil {
		return err
	}
	if err := store.ClearExit(name); err != nil {
		return err
	}
	if info, err := os.Stat(cfg.Rootfs); cfg.Image == "" && (err != nil || !info.IsDir()) {
		return fmt.Errorf("%w: rootfs %s of container %s is not a directory", container.ErrInvalid, cfg.Rootfs, name)
	}
	return w.Write(ctx, cfg, mount)
}

// Write writes the OCI bundle a start of cfg's container runs, from
// its record, at every start: what the record names on the host (devices,
// a seccomp profile file) is read now, so a start uses what is there now.
// The spec carries the OCI hooks that apply to it (oci-hooks(5), as podman
// selects them), after podman's precreate hooks had their say. poststop
// hooks are kept apart for the unit's stop step, which runs them however
// the container ended. A malformed hook file is reported and left out: it
// must not keep containers from starting.
func (w *Writer) Write(ctx context.Context, cfg *container.Config, mount MountLayer) error {
	bundle := w.dirs.Bundle(cfg.Name)
	// The plan of what the start step sets up for the network and /etc
	// files, which the spec's namespace path and mounts refer to.
	if err := unitstep.WriteNetworkPlan(bundle, container.NetworkPlan(cfg, w.netDir)); err != nil {
		return fmt.Errorf("container %s: write its network plan: %w", cfg.Name, err)
	}
	spec, err := w.Spec(cfg)
	if err != nil {
		return err
	}
	// An image container's root is its layer's mount, made here so that
	// the unit's start step needs no image store; where the layer is not
	// mounted when it runs (systemd restarted the unit after its stop
	// step unmounted it), it hands over to ctr-unit's, which mounts it.
	root, mounted, err := mount(cfg)
	if err != nil {
		return err
	}
	if root != "" {
		spec.Root.Path = root
	}
	if err := unitstep.WriteLayerRoot(bundle, root, mounted, w.steps.Argv(unitstep.Start, false, cfg.Name)); err != nil {
		return fmt.Errorf("container %s: %w", cfg.Name, err)
	}
	dirs := cfg.HooksDirs
	if len(dirs) == 0 {
		dirs = w.hookDirs
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

// Spec is a container's OCI spec, host devices and seccomp filter
// included.
func (w *Writer) Spec(cfg *container.Config) (*specs.Spec, error) {
	sc := container.BuildSpec(cfg, os.Environ())
	container.NetworkSpec(&sc, cfg, w.dirs)
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
	if spec.Linux.Seccomp, err = w.profiles.For(cfg.Seccomp(), spec); err != nil {
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

// StepPrepares reports whether ctr-unit-step may prepare a start of the
// container whose record is rec (nil: it has none) and start it, rather
// than hand it to ctr-unit: the record must be the one its definition
// file, if any (at path, stamped stamp), makes now, and the container must
// need nothing only ctr-unit has: an image layer to mount, or checks to
// schedule over D-Bus once it runs. A first start of a definition, or one
// after its file changed, is ctr-unit's: it reads the file.
func StepPrepares(rec *container.Config, defined bool, path, stamp string) bool {
	if rec == nil || defined && !definition.Fresh(rec, path, stamp) {
		return false
	}
	return rec.LeanPrepare()
}
