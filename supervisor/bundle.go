package supervisor

import (
	"context"
	"fmt"
	"os"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// writeBundle writes the OCI bundle a start of cfg's container runs: its
// spec, with the OCI hooks that apply to it (oci-hooks(5), as podman
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
	sc := container.BuildSpec(cfg, os.Environ())
	container.NetworkSpec(&sc, cfg, s.dirs)
	spec := ociruntime.Spec(sc)
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
		var err error
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
