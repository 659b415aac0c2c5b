package supervisor

import (
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
)

// Defaults as in podman.
const (
	DefaultStopTimeout = 10 * time.Second
	DefaultStopSignal  = syscall.SIGTERM
	// restartDelay is systemd's own default RestartSec.
	restartDelay = 100 * time.Millisecond
	// serviceSlice holds every container service; naming it lets the
	// container's cgroup path be known before the unit exists.
	serviceSlice = "system.slice"
)

// Paths are where ctr-unit keeps records (StateDir, persistent) and
// runtime data (RuntimeDir, under /run, gone after a reboot).
type Paths struct {
	StateDir   string
	RuntimeDir string
}

func (p Paths) bundle(name string) string  { return filepath.Join(p.RuntimeDir, "containers", name) }
func (p Paths) pidFile(name string) string { return filepath.Join(p.bundle(name), "pid") }
func (p Paths) runcRoot() string           { return filepath.Join(p.RuntimeDir, "runc") }

// containerCgroup is where runc puts the container: a child of the unit's
// own cgroup, so the unit holds every container process in both cgroup
// layouts.
func containerCgroup(unit string) string {
	return unitCgroup(unit) + "/ctr"
}

// unitCgroup is the control group systemd gives a container's unit.
func unitCgroup(unit string) string {
	return units.ControlGroup(serviceSlice, unit)
}

// steps is how a unit calls ctr-unit back: the binary and the global
// flags of the supervisor that made the unit, so that the unit's steps use
// the same records, runtime data and runc.
type steps []string

func newSteps(self string, p Paths, runc string) steps {
	s := steps{self, "--state-dir", p.StateDir, "--runtime-dir", p.RuntimeDir}
	if runc != "" {
		s = append(s, "--runtime", runc)
	}
	return s
}

// command is a ctr-unit command line with those flags.
func (s steps) command(args ...string) []string {
	return append(slices.Clone([]string(s)), args...)
}

// argv is the command line of the unit step step of container name.
func (s steps) argv(step, name string) []string {
	return s.command("internal", step, name)
}

// buildService maps a container to the systemd service that carries it.
func buildService(cfg *Config, st steps) units.Service {
	s := units.Service{
		Description:  "ctr-unit container " + cfg.Name,
		Slice:        serviceSlice,
		ExecStartPre: mountRootfsStep(cfg, st),
		ExecStart:    st.argv("start", cfg.Name),
		// runc seeing NOTIFY_SOCKET would wire it into the container and
		// make runc start wait for a READY=1 that never comes; ctr-unit's
		// steps use the manager's socket directly (units.Notify).
		UnsetEnvironment: []string{"NOTIFY_SOCKET"},
		ExecStopPost:     [][]string{st.argv("stop-post", cfg.Name)},
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
