package container

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
)

// Defaults as in podman.
const (
	DefaultStopTimeout = 10 * time.Second
	DefaultStopSignal  = Signal(15) // SIGTERM
)

// Build turns the user's settings into a container's definition: the one
// gate every container passes, whether made with create or run or defined
// in a file. It fills the defaults, combines what goes together, and ends
// with Validate. An image container's options must have had ApplyImage
// already, unless its image cannot be read yet (no ImageID: the command is
// then left for later).
func Build(o Options, now time.Time) (*Config, error) {
	cfg := &Config{
		Name:          o.Name,
		Unit:          o.Unit,
		Rootfs:        o.Rootfs,
		Command:       o.Command,
		Env:           append(slices.Clone(o.EnvFromFiles), o.Env...),
		WorkDir:       o.WorkDir,
		Hostname:      o.Hostname,
		Restart:       o.Restart,
		StopSignal:    o.StopSignal,
		StopTimeout:   Seconds(DefaultStopTimeout / time.Second),
		CreatedAt:     now,
		Requires:      o.Requires,
		NoNetworkWait: o.NoNetworkWait,
		MemoryMax:     o.MemoryMax,
		CPUQuotaUSec:  o.CPUQuotaUSec,
		PidsLimit:     o.PidsLimit,
		Image:         o.Image,
		ImageID:       o.ImageID,
		ImageName:     o.ImageName,
		Pull:          string(o.Pull),
		AuthFile:      o.AuthFile,
		User:          o.User,
		ShmSize:       o.ShmSize,
		Timezone:      o.Timezone,
		EnvHost:       o.EnvHost,
		CreateCommand: o.CreateCommand,
		CapAdd:        o.CapAdd,
		CapDrop:       o.CapDrop,
		Privileged:    o.Privileged,
		ReadOnly:      o.ReadOnly,
		// As podman's, tmpfs on a read-only root unless refused.
		ReadOnlyTmpfs:   o.ReadOnly && (o.ReadOnlyTmpfs == nil || *o.ReadOnlyTmpfs),
		NoNewPrivileges: o.NoNewPrivileges,
		SeccompProfile:  o.SeccompProfile,
		Devices:         o.Devices,
		Ulimits:         o.Ulimits,
		Sysctls:         o.Sysctls,
		AutoRemove:      o.AutoRemove,
		Labels:          mergeLabels(o.FileLabels, o.Labels),
		Init:            o.Init,
		Terminal:        o.Terminal,
		Interactive:     o.Interactive,
		InitPath:        o.InitPath,
		HooksDirs:       o.HooksDirs,
	}
	for _, a := range o.Annotations {
		k, v, _ := strings.Cut(a, "=")
		if cfg.Annotations == nil {
			cfg.Annotations = map[string]string{}
		}
		cfg.Annotations[k] = v
	}
	cfg.WorkDirMustExist = cfg.WorkDir != "" && !o.WorkDirFromImage
	if cfg.Unit == "" {
		cfg.Unit = units.TransientService(o.Name)
	}
	if cfg.Restart.Name == "" {
		cfg.Restart.Name = PolicyNo
	}
	if cfg.StopSignal == 0 {
		cfg.StopSignal = DefaultStopSignal
	}
	if o.StopTimeout != nil {
		cfg.StopTimeout = *o.StopTimeout
	}
	if o.Image == "" {
		// No image config: the entrypoint just goes first (ApplyImage
		// composed an image container's command).
		cfg.Command = CommandLine(o.Entrypoint, o.Command, nil, nil)
	}
	if len(cfg.Command) == 0 && (o.Image == "" || o.ImageID != "") {
		// No command at all runs "", which fails as it starts (127),
		// as in podman; an image not read yet has its command to come.
		cfg.Command = []string{""}
	}
	var probs Problems
	if o.Group != "" {
		switch {
		case o.User == "":
			probs = append(probs, Problem{Setting: KeyGroup, Value: o.Group, Msg: "needs {user}: give the user too (UID or NAME)"})
		case strings.Contains(o.User, ":"):
			probs = append(probs, Problem{Setting: KeyGroup, Value: o.Group, Msg: "{user} names a group already; give one of them"})
		default:
			cfg.User += ":" + o.Group
		}
	}
	if uid, gid, ok := NumericUser(cfg.User); ok {
		cfg.UID, cfg.GID = uid, gid
	}
	cfg.Mounts = append(append(cfg.Mounts, o.Volumes...), o.Tmpfs...)
	probs = append(probs, buildNetwork(o.Net, cfg)...)
	health, hprobs := buildHealth(o.Health)
	cfg.Health = health
	probs = append(probs, hprobs...)
	if len(probs) > 0 {
		return nil, probs
	}
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// check is one of Validate's named checks.
type check struct {
	name string
	run  func(*Config) Problems
}

// checks are what every container definition must satisfy, each on its
// own; Validate runs them all and reports every problem.
var checks = []check{
	{"name", checkName},
	{"root", checkRoot},
	{"requires", checkRequires},
	{"network", checkNetwork},
	{"environment", checkEnv},
	{"working directory", checkWorkDir},
	{"mounts", checkMounts},
	{"sysctls", checkSysctls},
	{"devices", checkDevices},
	{"removal", checkAutoRemove},
	{"terminal", checkTerminal},
}

// Validate checks a container's definition: the one gate, as runc's
// libcontainer/configs/validate is for its configs. Build ends with it;
// records read back are what it passed.
func Validate(cfg *Config) error {
	var probs Problems
	for _, c := range checks {
		probs = append(probs, c.run(cfg)...)
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}

func checkName(cfg *Config) Problems {
	if err := ValidateName(cfg.Name); err != nil {
		return Problems{{Setting: "name", Msg: err.Error()}}
	}
	return nil
}

func checkRoot(cfg *Config) Problems {
	switch {
	case cfg.Image != "" && cfg.Rootfs != "":
		return Problems{{Setting: "rootfs", Value: cfg.Rootfs, Msg: "give {Image} or {rootfs}, not both"}}
	case cfg.Image == "" && cfg.Rootfs == "":
		return Problems{{Msg: fmt.Sprintf("container %s needs {rootfs} or {Image}", cfg.Name)}}
	case cfg.Image == "" && cfg.Pull != "":
		return Problems{{Setting: "pull", Value: cfg.Pull, Msg: "{pull} is for an {Image}, not a {rootfs}"}}
	case cfg.Image == "" && cfg.AuthFile != "":
		return Problems{{Setting: "authfile", Value: cfg.AuthFile, Msg: "{authfile} is for an {Image}, not a {rootfs}"}}
	}
	return nil
}

func checkRequires(cfg *Config) Problems {
	var probs Problems
	for _, dep := range cfg.Requires {
		if err := ValidateName(dep); err != nil {
			probs = append(probs, Problem{Setting: "requires", Value: dep, Msg: err.Error()})
		} else if dep == cfg.Name {
			probs = append(probs, Problem{Setting: "requires", Value: dep, Msg: fmt.Sprintf("container %s cannot require itself", cfg.Name)})
		}
	}
	return probs
}

func checkEnv(cfg *Config) Problems {
	var probs Problems
	for _, e := range cfg.Env {
		if _, err := ParseEnv(e); err != nil {
			probs = append(probs, Problem{Setting: "env", Msg: err.Error()})
		}
	}
	return probs
}

func checkWorkDir(cfg *Config) Problems {
	if cfg.WorkDir == "" {
		return nil
	}
	if _, err := ParsePath(cfg.WorkDir); err != nil {
		return Problems{{Setting: "workdir", Msg: err.Error()}}
	}
	return nil
}

func checkMounts(cfg *Config) Problems {
	var probs Problems
	seen := map[string]bool{}
	if cfg.Timezone != "" {
		seen[localtime] = true
	}
	for _, m := range cfg.Mounts {
		if seen[m.Destination] {
			setting := "volume"
			if m.Type == MountTmpfs {
				setting = "tmpfs"
			}
			probs = append(probs, Problem{Setting: setting, Msg: fmt.Sprintf("two mounts on %s", m.Destination)})
		}
		seen[m.Destination] = true
	}
	return probs
}

func checkSysctls(cfg *Config) Problems {
	var probs Problems
	for _, name := range slices.Sorted(maps.Keys(cfg.Sysctls)) {
		if _, _, err := ParseSysctl(name + "=" + cfg.Sysctls[name]); err != nil {
			probs = append(probs, Problem{Setting: "sysctl", Value: name, Msg: err.Error()})
		} else if IsNetSysctl(name) && cfg.Network == NetworkHost {
			probs = append(probs, Problem{Setting: "sysctl", Value: name, Msg: fmt.Sprintf("sysctl %s would change the host's network: give the container a network of its own ({network} none)", name)})
		}
	}
	return probs
}

func checkDevices(cfg *Config) Problems {
	var probs Problems
	seen := map[string]bool{}
	for _, d := range cfg.Devices {
		if seen[d.CtrPath] {
			probs = append(probs, Problem{Setting: "device", Value: d.CtrPath, Msg: fmt.Sprintf("two devices at %s in the container", d.CtrPath)})
		}
		seen[d.CtrPath] = true
	}
	return probs
}

// checkAutoRemove refuses what would restart a container --rm removes as
// it stops (podman refuses --rm with a restart policy too).
func checkAutoRemove(cfg *Config) Problems {
	if !cfg.AutoRemove {
		return nil
	}
	if cfg.Restart.Name != "" && cfg.Restart.Name != PolicyNo {
		return Problems{{Setting: "rm", Msg: "{rm} conflicts with {restart} " + cfg.Restart.String() + ": the container is removed once it stops, so it cannot be restarted"}}
	}
	if h := cfg.Health; h != nil && (h.OnFailure == healthcheck.ActionRestart || h.Startup != nil && h.Startup.Retries > 0) {
		return Problems{{Setting: "rm", Msg: "{rm} conflicts with a healthcheck that restarts the container ({health-on-failure} restart, {health-startup-retries}): the container is removed once it stops"}}
	}
	return nil
}

// mergeLabels is the labels of a label file with --label's over them.
func mergeLabels(file, given map[string]string) map[string]string {
	if len(file)+len(given) == 0 {
		return nil
	}
	out := make(map[string]string, len(file)+len(given))
	maps.Copy(out, file)
	maps.Copy(out, given)
	return out
}

// checkTerminal refuses a terminal systemd would have to restart the
// container with: a restart has no attached run to hold the terminal.
func checkTerminal(cfg *Config) Problems {
	if cfg.Terminal && cfg.Restart.Name != PolicyNo {
		return Problems{{Setting: "tty", Msg: fmt.Sprintf("container %s: a terminal (-t) is held by the attached run, which a restart by systemd would not have; use --restart no", cfg.Name)}}
	}
	return nil
}
