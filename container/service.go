package container

import (
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// restartDelay is systemd's own default RestartSec.
const restartDelay = 100 * time.Millisecond

// NetworkOnline is what a container's unit waits for at boot, unless its
// container opts out.
const NetworkOnline = "network-online.target"

// PullsInUnit says whether the container's image is pulled by a unit of
// its own (units.PullUnit) before its unit starts: an image container
// defined in a file, unless its pull policy is never.
func (cfg *Config) PullsInUnit() bool {
	return cfg.Source != "" && cfg.Image != "" && cfg.Pull != "never"
}

// BuildService maps a container to the systemd service that carries it.
// steps writes the command lines of its steps; requires are the units of
// the containers it requires, in cfg.Requires' order.
func BuildService(cfg *Config, steps unitstep.Runner, requires []string) units.Service {
	name := cfg.Name
	s := units.Service{
		Description: "ctr-unit container " + name,
		Slice:       unitstep.Slice,
		// ctr-unit-step does the start unless checks are to be scheduled
		// once the container runs, which takes ctr-unit. An image
		// container's layer is mounted by whoever wrote the bundle (the
		// CLI, or a template instance's own start); when the unit
		// restarts after its stop step unmounted it, ctr-unit-step hands
		// over to ctr-unit's start, which mounts it
		// (unitstep.WriteLayerRoot).
		ExecStart: steps.Argv(unitstep.Start, !cfg.scheduledChecks(), name),
		// runc seeing NOTIFY_SOCKET would wire it into the container and
		// make runc start wait for a READY=1 that never comes; ctr-unit's
		// steps use the manager's socket directly (sdnotify).
		UnsetEnvironment: []string{"NOTIFY_SOCKET"},
		// ctr-unit-step cleans up unless there is an image layer to
		// unmount, which takes the image store.
		ExecStopPost:     [][]string{steps.Argv(unitstep.StopPost, !cfg.hasLayer(), name, cfg.Unit)},
		RestartSec:       restartDelay,
		KillSignal:       syscall.Signal(cfg.StopSignal),
		TimeoutStop:      cfg.StopTimeout.Duration(),
		SyslogIdentifier: name,
		MemoryMax:        cfg.MemoryMax,
		CPUQuotaUSec:     cfg.CPUQuotaUSec,
		TasksMax:         cfg.PidsLimit,
	}
	if cfg.AutoRemove {
		// Removed once it stops, whoever stopped it; its unit is
		// collected even when the container failed.
		s.ExecStopPost = append(s.ExecStopPost, steps.Argv(unitstep.Remove, false, name, cfg.Unit))
		s.CollectMode = units.CollectInactiveOrFailed
	}
	for _, u := range requires {
		s.Requires = append(s.Requires, u)
		s.After = append(s.After, u)
	}
	if cfg.PullsInUnit() {
		// The pull has a unit and a timeout of its own: a long pull
		// cannot eat the container's start timeout, and one that fails
		// fails the start.
		s.Requires = append(s.Requires, units.PullUnit(name))
		s.After = append(s.After, units.PullUnit(name))
	}
	cfg.Restart.apply(&s)
	applyHealth(&s, cfg, steps)
	if units.IsTemplateInstance(cfg.Unit) {
		if !cfg.NoNetworkWait {
			// Only units that can start at boot wait for the network; a
			// transient one starts when the system is up anyway.
			s.Wants = append(s.Wants, NetworkOnline)
			s.After = append(s.After, NetworkOnline)
		}
		// systemd may start the unit without ctr-unit (systemctl start,
		// at boot), and after a reboot /run is empty: the unit writes
		// the bundle from the record itself: in its start step, one
		// process per start as a bare runc unit has, unless that step
		// is the one that waits for health. ctr-unit-step does it where
		// it can, and hands a record its file must bring up to date to
		// ctr-unit (bundle.StepPrepares).
		if cfg.Health != nil && cfg.Health.ReadyWhenHealthy {
			s.ExecStartPre = append(s.ExecStartPre, steps.Argv(unitstep.Prepare, false, name))
		} else {
			s.ExecStart = steps.Argv(unitstep.PrepareStart, cfg.LeanPrepare(), name)
		}
	}
	for _, e := range cfg.Extra {
		s.Extra = append(s.Extra, unit.NewUnitOption(e.Section, e.Name, e.Value))
	}
	return s
}

// MayRestart reports whether systemd may restart the container's unit by
// itself (a restart policy, a healthcheck's restart, a Restart= of the
// definition file's [Service]): only then can its restart count be other
// than 0. BuildService's Restart is what decides; this says the same
// without building the service.
func (cfg *Config) MayRestart() bool {
	// The file's own setting comes after ctr-unit's in the unit: the
	// last one counts.
	extra, set := "", false
	for _, e := range cfg.Extra {
		if e.Section == "Service" && e.Name == "Restart" {
			extra, set = e.Value, true
		}
	}
	if set {
		return extra != "" && extra != units.RestartNo
	}
	if cfg.Restart.Name != "" && cfg.Restart.Name != PolicyNo {
		return true
	}
	h := cfg.Health
	return h != nil && (h.OnFailure == healthcheck.ActionRestart || (h.Startup != nil && h.Startup.Retries > 0))
}

// hasLayer reports whether the container runs from an image layer. A
// definition file's unit is generated before its layer exists: Image= is
// what tells.
func (cfg *Config) hasLayer() bool { return cfg.LayerID != "" || cfg.Image != "" }

func (cfg *Config) scheduledChecks() bool { return cfg.Health != nil && cfg.Health.Scheduled() }

// LeanPrepare reports whether ctr-unit-step can write the container's
// bundle and start it (a template instance's prepare-start): it has no
// image layer to mount and no checks to schedule once it runs, which take
// the image store and D-Bus.
func (cfg *Config) LeanPrepare() bool { return !cfg.hasLayer() && !cfg.scheduledChecks() }

// applyHealth adjusts a container's service for its healthcheck.
func applyHealth(svc *units.Service, cfg *Config, steps unitstep.Runner) {
	h := cfg.Health
	if h == nil {
		return
	}
	if h.OnFailure == healthcheck.ActionRestart || (h.Startup != nil && h.Startup.Retries > 0) {
		// The restart action sends WATCHDOG=trigger: systemd kills the
		// main process with SIGKILL and, the unit's result being
		// "watchdog", restarts it, counted in NRestarts. Only this has
		// that result, so a user's kill (SIGKILL included) still leaves
		// the decision to the policy: with "no", Restart=on-watchdog
		// restarts after nothing else. on-failure and always restart
		// after a watchdog failure anyway.
		svc.WatchdogSignal = syscall.SIGKILL
		if svc.Restart == units.RestartNo {
			svc.Restart = units.RestartOnWatchdog
			// As for always: a check may restart it often.
			svc.NoStartLimit = true
		}
	}
	if h.ReadyWhenHealthy {
		// One step creates and starts the container, names its init as
		// the main process and then checks until it is healthy, when it
		// sends READY=1. It runs in the unit, so systemd takes its word.
		svc.Type = "notify"
		svc.ExecStart = steps.Argv(unitstep.StartHealthy, false, cfg.Name)
	}
}

// BuildSpec maps a container to its OCI runtime spec. environ is the
// environment of the process that writes the bundle: bare names in the
// container's environment (a definition file's Environment=NAME) are
// taken from it, and a container with EnvHost gets it under its own. The
// unit's prepare step writes the bundle of a definition's container, so
// that is the unit's environment.
func BuildSpec(cfg *Config, environ []string) ociruntime.SpecConfig {
	mounts := specMounts(cfg.Mounts)
	if cfg.Timezone != "" {
		// The zone's file itself, however the host links to it.
		mounts = append(mounts, specs.Mount{Destination: localtime, Source: TimezoneSource(cfg.Timezone), Type: "bind", Options: []string{"rbind", "ro", "rprivate"}})
	}
	env := ResolveEnv(cfg.Env, environ)
	if cfg.EnvHost {
		env = underHostEnv(env, environ)
	}
	annotations := maps.Clone(cfg.Annotations)
	if cfg.WorkDirMustExist {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[unitstep.AnnotationWorkDirMustExist] = "true"
	}
	hostname := cfg.Hostname
	if hostname == "" {
		// As podman: the container's name, not the host's.
		hostname = cfg.Name
	}
	var initPath string
	if cfg.Init {
		initPath = cfg.InitPath
	}
	return ociruntime.SpecConfig{
		Rootfs:      cfg.Rootfs,
		Args:        cfg.Command,
		Env:         env,
		Annotations: annotations,
		Cwd:         cfg.WorkDir,
		Hostname:    hostname,
		InitPath:    initPath,
		Terminal:    cfg.Terminal,
		CgroupsPath: unitstep.ContainerCgroup(cfg.Unit),
		HostNetwork: cfg.Network == NetworkHost,
		UID:         cfg.UID,
		GID:         cfg.GID,
		Mounts:      mounts,
		ShmSize:     cfg.ShmSize,

		ReadOnly:        cfg.ReadOnly,
		ReadOnlyTmpfs:   cfg.ReadOnlyTmpfs,
		CapAdd:          cfg.CapAdd,
		CapDrop:         cfg.CapDrop,
		Privileged:      cfg.Privileged,
		NoNewPrivileges: cfg.NoNewPrivileges,
		Rlimits:         rlimits(cfg.Ulimits),
		Sysctl:          cfg.Sysctls,
	}
}

func rlimits(us []Ulimit) []specs.POSIXRlimit {
	var out []specs.POSIXRlimit
	for _, u := range us {
		out = append(out, specs.POSIXRlimit{Type: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	return out
}

// Seccomp is the seccomp profile the container runs with:
// SeccompDefault, SeccompUnconfined or a file's path. A privileged
// container has none, as in podman.
func (cfg *Config) Seccomp() string {
	if cfg.Privileged {
		return SeccompUnconfined
	}
	return cfg.SeccompProfile
}

// specMounts maps a container's mounts to the OCI spec's.
func specMounts(mounts []Mount) []specs.Mount {
	out := make([]specs.Mount, 0, len(mounts))
	for _, m := range mounts {
		sm := specs.Mount{Destination: m.Destination, Source: m.Source}
		switch m.Type {
		case MountTmpfs:
			sm.Type, sm.Options = "tmpfs", m.Options
		default:
			mode := "rw"
			if m.ReadOnly {
				mode = "ro"
			}
			sm.Type, sm.Options = "bind", []string{"rbind", mode, "rprivate"}
		}
		out = append(out, sm)
	}
	return out
}

// underHostEnv is env with the variables of host it does not set, as
// podman's --env-host puts the host's environment under the container's.
func underHostEnv(env, host []string) []string {
	set := map[string]bool{}
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		set[k] = true
	}
	out := slices.Clone(env)
	for _, e := range host {
		if k, _, ok := strings.Cut(e, "="); ok && k != "" && !set[k] {
			set[k] = true
			out = append(out, e)
		}
	}
	return out
}
