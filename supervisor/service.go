package supervisor

import (
	"path/filepath"
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

// hookArgv is the command line of one of ctr-unit's own unit steps.
func hookArgv(self string, p Paths, step, name string) []string {
	return []string{self, "--state-dir", p.StateDir, "--runtime-dir", p.RuntimeDir, "internal", step, name}
}

// buildService maps a container to the systemd service that carries it.
func buildService(cfg *Config, p Paths, self string) units.Service {
	s := units.Service{
		Description:  "ctr-unit container " + cfg.Name,
		Slice:        serviceSlice,
		ExecStartPre: mountRootfsStep(cfg, p, self),
		ExecStart:    hookArgv(self, p, "start", cfg.Name),
		// runc seeing NOTIFY_SOCKET would wire it into the container and
		// make runc start wait for a READY=1 that never comes; ctr-unit's
		// steps use the manager's socket directly (units.Notify).
		UnsetEnvironment: []string{"NOTIFY_SOCKET"},
		ExecStopPost:     [][]string{hookArgv(self, p, "stop-post", cfg.Name)},
		RestartSec:       restartDelay,
		KillSignal:       syscall.Signal(cfg.StopSignal),
		TimeoutStop:      cfg.StopTimeout.Duration(),
		SyslogIdentifier: cfg.Name,
	}
	cfg.Restart.apply(&s)
	applyHealth(&s, cfg, p, self)
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
