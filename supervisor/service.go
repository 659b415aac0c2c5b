package supervisor

import (
	"slices"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// Defaults as in podman.
const (
	DefaultStopTimeout = 10 * time.Second
	DefaultStopSignal  = syscall.SIGTERM
	// restartDelay is systemd's own default RestartSec.
	restartDelay = 100 * time.Millisecond
	serviceSlice = unitstep.Slice
)

// Paths are where ctr-unit keeps records (StateDir, persistent) and
// runtime data (RuntimeDir, under /run, gone after a reboot), laid out as
// unitstep.Dirs says.
type Paths unitstep.Dirs

func (p Paths) bundle(name string) string  { return unitstep.Dirs(p).Bundle(name) }
func (p Paths) pidFile(name string) string { return unitstep.Dirs(p).PIDFile(name) }
func (p Paths) runcRoot() string           { return unitstep.Dirs(p).RuncRoot() }

func containerCgroup(unit string) string { return unitstep.ContainerCgroup(unit) }
func unitCgroup(unit string) string      { return unitstep.UnitCgroup(unit) }

// steps is how a unit calls ctr-unit back: the binaries and the global
// flags of the supervisor that made the unit, so that the unit's steps use
// the same records, runtime data and runc.
type steps struct {
	// ctrUnit is ctr-unit and those flags.
	ctrUnit []string
	// step is ctr-unit-step and the same flags, nil without it: the lean
	// binary for the steps every start and stop runs (see unitstep).
	step []string
}

func newSteps(self, step string, p Paths, runc string) steps {
	flags := []string{"--state-dir", p.StateDir, "--runtime-dir", p.RuntimeDir}
	if runc != "" {
		flags = append(flags, "--runtime", runc)
	}
	s := steps{ctrUnit: append([]string{self}, flags...)}
	if step != "" {
		s.step = append([]string{step}, flags...)
	}
	return s
}

// withoutStep is s with ctr-unit doing every step: for units made to run
// on another machine, which need one binary there.
func (s steps) withoutStep() steps { return steps{ctrUnit: s.ctrUnit} }

// command is a ctr-unit command line with those flags.
func (s steps) command(args ...string) []string {
	return append(slices.Clone(s.ctrUnit), args...)
}

// argv is the command line of ctr-unit's unit step step of container name.
func (s steps) argv(step, name string) []string {
	return s.command("internal", step, name)
}

// start is the unit's start step. ctr-unit-step does it unless checks are
// to be scheduled once the container runs.
func (s steps) start(cfg *Config) []string {
	if s.step == nil || cfg.Health != nil && cfg.Health.Scheduled() {
		return s.argv("start", cfg.Name)
	}
	return append(slices.Clone(s.step), "start", cfg.Name)
}

// stopPost is the unit's stop step. ctr-unit-step does it unless there is
// an image layer to unmount, which needs the image store.
func (s steps) stopPost(cfg *Config) []string {
	if s.step == nil || cfg.Image != "" || cfg.LayerID != "" {
		return s.argv("stop-post", cfg.Name)
	}
	return append(slices.Clone(s.step), "stop-post", "--unit", cfg.Unit, cfg.Name)
}

// buildService maps a container to the systemd service that carries it.
func buildService(cfg *Config, st steps) units.Service {
	s := units.Service{
		Description:  "ctr-unit container " + cfg.Name,
		Slice:        serviceSlice,
		ExecStartPre: mountRootfsStep(cfg, st),
		ExecStart:    st.start(cfg),
		// runc seeing NOTIFY_SOCKET would wire it into the container and
		// make runc start wait for a READY=1 that never comes; ctr-unit's
		// steps use the manager's socket directly (units.Notify).
		UnsetEnvironment: []string{"NOTIFY_SOCKET"},
		ExecStopPost:     [][]string{st.stopPost(cfg)},
		RestartSec:       restartDelay,
		KillSignal:       syscall.Signal(cfg.StopSignal),
		TimeoutStop:      cfg.StopTimeout.Duration(),
		SyslogIdentifier: cfg.Name,
	}
	cfg.Restart.apply(&s)
	applyHealth(&s, cfg, st)
	return s
}

// buildSpec maps a container to its OCI runtime spec.
func buildSpec(cfg *Config) ociruntime.SpecConfig {
	return ociruntime.SpecConfig{
		Rootfs:      cfg.Rootfs,
		Args:        cfg.Command,
		Env:         cfg.Env,
		Cwd:         cfg.WorkDir,
		Hostname:    cfg.Hostname,
		CgroupsPath: containerCgroup(cfg.Unit),
		HostNetwork: cfg.Network == NetworkHost,
		UID:         cfg.UID,
		GID:         cfg.GID,
		Mounts:      specMounts(cfg),
		ShmSize:     cfg.ShmSize,
	}
}
