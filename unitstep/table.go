package unitstep

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Name names a step that systemd (or the package's own units and
// scripts) runs.
type Name string

// The steps. Units written by older versions name them too: a step's name
// and arguments never change meaning, or a container started before an
// upgrade could not be stopped after it.
const (
	// Prepare writes a template instance's bundle from its record
	// (ExecStartPre): systemd may start it without ctr-unit.
	Prepare Name = "prepare"
	// PrepareStart is Prepare and Start in one process (a template
	// instance's ExecStart): one process fewer for systemd to spawn at
	// each start, which is what a boot of many containers waits on.
	PrepareStart Name = "prepare-start"
	// MountRootfs mounts an image container's layer (ExecStartPre).
	MountRootfs Name = "mount-rootfs"
	// Start creates the container, names its init the unit's main process
	// and lets it run (ExecStart).
	Start Name = "start"
	// StartHealthy is Start of a container that is ready once healthy.
	StartHealthy Name = "start-healthy"
	// StartPost is the ExecStartPost of units made before Start named the
	// init itself.
	StartPost Name = "start-post"
	// StopPost records the exit and cleans up (ExecStopPost).
	StopPost Name = "stop-post"
	// Remove deletes a generate systemd --new unit's container once it
	// stopped (the last ExecStopPost).
	Remove Name = "remove"
	// HealthCheck runs one scheduled check (the check timer's service).
	HealthCheck Name = "healthcheck"
	// Generator turns definition files into units (systemd runs it).
	Generator Name = "generator"
	// StartAtBoot starts the containers whose policy asks for it
	// (ctr-unit-restart.service).
	StartAtBoot Name = "start-at-boot"
	// PullImage pulls a definition's image (its pull unit's ExecStart).
	PullImage Name = "pull-image"
	// RefreshUnits rewrites create's drop-ins (the package's postinst).
	RefreshUnits Name = "refresh-units"
)

// Args says what a step takes after its name.
type Args int

const (
	// ArgsNone: nothing.
	ArgsNone Args = iota
	// ArgsContainer: the container's name.
	ArgsContainer
	// ArgsContainerUnit: the container's name and its unit's (which
	// units of older versions leave out).
	ArgsContainerUnit
	// ArgsDirs: the generator's output directories (one to three).
	ArgsDirs
)

// Step is one row of Table.
type Step struct {
	Name Name
	Args Args
	// Lean: ctr-unit-step can run it, for a container that needs nothing
	// only ctr-unit has (container.BuildService decides); ctr-unit runs
	// every step.
	Lean bool
	// Command: the step is a ctr-unit command of its own rather than an
	// internal one.
	Command []string
}

// Table is every step. Both binaries dispatch from it and every unit
// names its steps through it.
var Table = []Step{
	{Name: Prepare, Args: ArgsContainer},
	{Name: PrepareStart, Args: ArgsContainer, Lean: true},
	{Name: MountRootfs, Args: ArgsContainer},
	{Name: Start, Args: ArgsContainer, Lean: true},
	{Name: StartHealthy, Args: ArgsContainer},
	{Name: StartPost, Args: ArgsContainer},
	{Name: StopPost, Args: ArgsContainerUnit, Lean: true},
	{Name: Remove, Args: ArgsContainerUnit},
	{Name: HealthCheck, Args: ArgsContainer, Command: []string{"healthcheck", "run", "--scheduled"}},
	{Name: Generator, Args: ArgsDirs},
	{Name: StartAtBoot, Args: ArgsNone},
	{Name: RefreshUnits, Args: ArgsNone},
	{Name: PullImage, Args: ArgsContainer},
}

// Lookup finds a step of Table.
func Lookup(name Name) (Step, bool) {
	i := slices.IndexFunc(Table, func(s Step) bool { return s.Name == name })
	if i < 0 {
		return Step{}, false
	}
	return Table[i], true
}

// Defaults of the global flags, the same for both binaries.
const (
	DefaultStateDir   = "/var/lib/ctr-unit"
	DefaultRuntimeDir = "/run/ctr-unit"
)

// Globals are the settings of the ctr-unit that made a unit, which its
// steps get as flags, so that they use the same records, runtime data and
// runc.
type Globals struct {
	Dirs
	// Runtime is the runc binary ("" for runc in $PATH).
	Runtime string
}

// DefaultGlobals are the globals of a command line that gives none.
func DefaultGlobals() Globals {
	return Globals{Dirs: Dirs{StateDir: DefaultStateDir, RuntimeDir: DefaultRuntimeDir}}
}

// Flags writes g as the global flags.
func (g Globals) Flags() []string {
	f := []string{"--state-dir", g.StateDir, "--runtime-dir", g.RuntimeDir}
	if g.Runtime != "" {
		f = append(f, "--runtime", g.Runtime)
	}
	return f
}

// internalWord goes before a step's name on ctr-unit's command line.
const internalWord = "internal"

// Runner writes the command lines of a unit's steps: the binaries and the
// globals of the ctr-unit that makes the unit.
type Runner struct {
	Globals
	// Full is ctr-unit; Lean is ctr-unit-step, "" if it is not installed
	// (ctr-unit then runs every step).
	Full, Lean string
}

// WithoutLean is r with ctr-unit running every step: for units made to
// run on another machine, which need one binary there.
func (r Runner) WithoutLean() Runner {
	r.Lean = ""
	return r
}

// Command is a ctr-unit command line with r's globals.
func (r Runner) Command(args ...string) []string {
	return append(append([]string{r.Full}, r.Flags()...), args...)
}

// Argv is the command line of a step: ctr-unit-step's where lean is asked
// for and possible, ctr-unit's otherwise. args are the step's arguments
// (Step.Args).
func (r Runner) Argv(name Name, lean bool, args ...string) []string {
	st, ok := Lookup(name)
	if !ok {
		panic("unitstep: no step " + string(name))
	}
	if st.Command != nil {
		return append(r.Command(st.Command...), args...)
	}
	if lean && st.Lean && r.Lean != "" {
		return append(append(append([]string{r.Lean}, r.Flags()...), string(name)), args...)
	}
	return append(r.Command(internalWord, string(name)), args...)
}

// Call is one run of a step, read from its command line.
type Call struct {
	Globals
	Step       Name
	Container  string
	Unit       string
	OutputDirs []string
}

var (
	// ErrUsage marks a command line that is not a step's.
	ErrUsage = errors.New("not a unit step's command line")
	// ErrUnknownStep marks a step Table does not have.
	ErrUnknownStep = errors.New("unknown step")
)

// IsInternal reports whether ctr-unit's arguments name one of its
// internal steps (they begin, after the global flags, with "internal").
func IsInternal(args []string) bool {
	rest, err := parseGlobals(args, &Globals{})
	return err == nil && len(rest) > 0 && rest[0] == internalWord
}

// Parse reads a step's command line (the arguments after the binary's
// name): the global flags, "internal" on ctr-unit's, the step and its
// arguments. defaults are the globals it does not give. Units written by
// older versions are read too: ctr-unit-step's stop-post took its unit as
// --unit UNIT before the container.
func Parse(args []string, defaults Globals) (Call, error) {
	c := Call{Globals: defaults}
	rest, err := parseGlobals(args, &c.Globals)
	if err != nil {
		return c, err
	}
	if len(rest) > 0 && rest[0] == internalWord {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return c, fmt.Errorf("%w: missing step", ErrUsage)
	}
	c.Step = Name(rest[0])
	st, ok := Lookup(c.Step)
	if !ok || st.Command != nil {
		return c, fmt.Errorf("%w %q", ErrUnknownStep, rest[0])
	}
	rest = rest[1:]
	if st.Args == ArgsContainerUnit && len(rest) == 3 && rest[0] == "--unit" {
		rest = []string{rest[2], rest[1]}
	}
	want := map[Args]string{ArgsNone: "", ArgsContainer: " NAME", ArgsContainerUnit: " NAME UNIT", ArgsDirs: " DIR [DIR DIR]"}[st.Args]
	switch {
	case st.Args == ArgsNone && len(rest) == 0:
	case st.Args == ArgsContainer && len(rest) == 1:
		c.Container = rest[0]
	case st.Args == ArgsContainerUnit && len(rest) == 2:
		c.Container, c.Unit = rest[0], rest[1]
	case st.Args == ArgsContainerUnit && len(rest) == 1:
		// Older units named no unit: the record tells.
		c.Container = rest[0]
	case st.Args == ArgsDirs && len(rest) >= 1 && len(rest) <= 3:
		c.OutputDirs = rest
	default:
		return c, fmt.Errorf("%w: usage: %s%s", ErrUsage, st.Name, want)
	}
	if c.Container != "" && strings.HasPrefix(c.Container, "-") {
		return c, fmt.Errorf("%w: %s: unknown option %q", ErrUsage, st.Name, c.Container)
	}
	return c, nil
}

// parseGlobals reads the global flags at the start of args into g and
// returns the rest.
func parseGlobals(args []string, g *Globals) ([]string, error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		name, value, inline := strings.Cut(args[0], "=")
		var dst *string
		switch name {
		case "--state-dir":
			dst = &g.StateDir
		case "--runtime-dir":
			dst = &g.RuntimeDir
		case "--runtime":
			dst = &g.Runtime
		default:
			return args, nil
		}
		if !inline {
			if len(args) < 2 {
				return nil, fmt.Errorf("%w: %s needs a value", ErrUsage, name)
			}
			value, args = args[1], args[1:]
		}
		*dst, args = value, args[1:]
	}
	return args, nil
}
