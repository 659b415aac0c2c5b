package container

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
		Env:           o.Env,
		WorkDir:       o.WorkDir,
		Hostname:      o.Hostname,
		Network:       o.Network,
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
		User:          o.User,
		ShmSize:       o.ShmSize,
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
	}
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
	if cfg.Network == "" {
		cfg.Network = NetworkHost
	}
	if o.Image == "" {
		// No image config: the entrypoint just goes first (ApplyImage
		// composed an image container's command).
		cfg.Command = CommandLine(o.Entrypoint, o.Command, nil, nil)
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
	{"command", checkCommand},
	{"requires", checkRequires},
	{"network", checkNetwork},
	{"environment", checkEnv},
	{"working directory", checkWorkDir},
	{"mounts", checkMounts},
	{"sysctls", checkSysctls},
	{"devices", checkDevices},
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
	}
	return nil
}

func checkCommand(cfg *Config) Problems {
	if len(cfg.Command) > 0 || cfg.Image != "" && cfg.ImageID == "" {
		return nil
	}
	if cfg.Image != "" {
		return Problems{{Msg: fmt.Sprintf("container %s: image %s has no command; give {Exec}", cfg.Name, cfg.Image)}}
	}
	return Problems{{Msg: fmt.Sprintf("container %s has no command; give {Exec}", cfg.Name)}}
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

func checkNetwork(cfg *Config) Problems {
	if _, err := ParseNetwork(cfg.Network); err != nil {
		return Problems{{Setting: "network", Value: cfg.Network, Msg: err.Error()}}
	}
	return nil
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
