package units

import (
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
)

// Restart values of a service's Restart= setting that ctr-unit uses.
const (
	RestartNo        = "no"
	RestartOnFailure = "on-failure"
	RestartAlways    = "always"
	// RestartOnWatchdog restarts only after a watchdog failure, which a
	// WATCHDOG=trigger notification causes (see WatchdogSignal).
	RestartOnWatchdog = "on-watchdog"
)

// CollectInactiveOrFailed is the CollectMode= that unloads a unit once it
// stops, failed or not.
const CollectInactiveOrFailed = "inactive-or-failed"

// Unlimited marks a limit or interval as "infinity" in systemd's terms.
const Unlimited = ^uint64(0)

// Service describes the systemd service that carries one container. It is
// pure data: Properties turns it into transient-unit properties and
// UnitFile (unitfile.go) into a unit file, so both paths configure
// systemd identically.
type Service struct {
	Description string
	Slice       string

	// ExecStart creates the container, names the container's init as
	// the main process (sd_notify MAINPID, hence NotifyAccess=all),
	// starts it and exits (Type=forking).
	ExecStart    []string
	ExecStartPre [][]string
	ExecStopPost [][]string

	// Restart is one of the Restart* constants. StartLimitBurst > 0 caps
	// the number of starts; with StartLimitInterval == 0 it counts over the
	// unit's lifetime, which is how on-failure:N is carried out.
	Restart            string
	RestartSec         time.Duration
	StartLimitBurst    uint32
	StartLimitInterval time.Duration
	NoStartLimit       bool

	KillSignal  syscall.Signal
	TimeoutStop time.Duration

	SyslogIdentifier string
	Environment      []string
	// UnsetEnvironment withholds variables systemd would pass on.
	UnsetEnvironment []string

	// Limits enforced by systemd; zero means unset.
	MemoryMax    uint64
	CPUQuotaUSec uint64 // CPU time per second of wall time
	TasksMax     uint64

	Requires []string
	After    []string
	// Wants pulls units in without depending on them (network-online.target).
	Wants []string

	// Type is the service type: "" means forking; "notify" when the
	// container is ready only once healthy (the start step then names the
	// main process and a check sends READY=1).
	Type string
	// WatchdogSignal (if set) is what systemd kills the main process with
	// on a WATCHDOG=trigger notification; the unit's result is then
	// "watchdog", which Restart=on-watchdog (and on-failure, always)
	// restarts and NRestarts counts. A healthcheck's restart action
	// works so: a user's kill, of whatever signal, has result "signal".
	WatchdogSignal syscall.Signal
	// Extra are further unit-file settings passed through as written (from
	// a definition file); they have no transient form.
	Extra []*unit.UnitOption

	// CollectMode is "" (systemd's default: a failed unit stays loaded
	// until reset) or CollectInactiveOrFailed.
	CollectMode string

	// StdioFDs hands the caller's descriptors to the service, as
	// systemd-run --pipe does, for attached runs.
	StdioFDs *[3]int
}

func (s Service) serviceType() string {
	if s.Type == "" {
		return "forking"
	}
	return s.Type
}

func usec(d time.Duration) uint64 {
	if d < 0 {
		return Unlimited
	}
	return uint64(d / time.Microsecond)
}

// Properties returns the transient-unit properties for s.
func (s Service) Properties() []Prop {
	prop := P
	p := []Prop{
		prop("Description", s.Description),
		prop("Type", s.serviceType()),
		prop("NotifyAccess", "all"),
		// The container's init is in a child cgroup, where guessing never
		// finds it; the start step names it.
		prop("GuessMainPID", false),
		Exec("ExecStart", s.ExecStart),
		// The container gets the whole subtree: runc creates its cgroup
		// below the unit's own, so every container process stays in the
		// unit and systemd's stop and kill reach all of them.
		prop("Delegate", true),
		// The stop signal goes to the container's init only; after
		// TimeoutStopSec whatever is left in the cgroup gets SIGKILL.
		prop("KillMode", "mixed"),
		prop("KillSignal", int32(s.KillSignal)),
		prop("TimeoutStopUSec", usec(s.TimeoutStop)),
		prop("Restart", s.Restart),
		prop("RestartUSec", usec(s.RestartSec)),
		prop("SyslogIdentifier", s.SyslogIdentifier),
	}
	if len(s.ExecStartPre) > 0 {
		p = append(p, Exec("ExecStartPre", s.ExecStartPre...))
	}
	if len(s.ExecStopPost) > 0 {
		p = append(p, Exec("ExecStopPost", s.ExecStopPost...))
	}
	if s.Slice != "" {
		p = append(p, prop("Slice", s.Slice))
	}
	switch {
	case s.NoStartLimit:
		p = append(p, prop("StartLimitIntervalUSec", uint64(0)))
	case s.StartLimitBurst > 0:
		interval := Unlimited
		if s.StartLimitInterval > 0 {
			interval = usec(s.StartLimitInterval)
		}
		p = append(p, prop("StartLimitBurst", s.StartLimitBurst), prop("StartLimitIntervalUSec", interval))
	}
	if len(s.UnsetEnvironment) > 0 {
		p = append(p, prop("UnsetEnvironment", s.UnsetEnvironment))
	}
	if len(s.Environment) > 0 {
		p = append(p, prop("Environment", s.Environment))
	}
	if s.MemoryMax > 0 {
		p = append(p, prop("MemoryMax", s.MemoryMax))
	}
	if s.CPUQuotaUSec > 0 {
		p = append(p, prop("CPUQuotaPerSecUSec", s.CPUQuotaUSec))
	}
	if s.TasksMax > 0 {
		p = append(p, prop("TasksMax", s.TasksMax))
	}
	if len(s.Requires) > 0 {
		p = append(p, prop("Requires", s.Requires))
	}
	if len(s.After) > 0 {
		p = append(p, prop("After", s.After))
	}
	if len(s.Wants) > 0 {
		p = append(p, prop("Wants", s.Wants))
	}
	if s.WatchdogSignal != 0 {
		p = append(p, prop("WatchdogSignal", int32(s.WatchdogSignal)))
	}
	if s.CollectMode != "" {
		p = append(p, prop("CollectMode", s.CollectMode))
	}
	if s.StdioFDs != nil {
		p = append(p,
			prop("StandardInputFileDescriptor", FD(s.StdioFDs[0])),
			prop("StandardOutputFileDescriptor", FD(s.StdioFDs[1])),
			prop("StandardErrorFileDescriptor", FD(s.StdioFDs[2])),
		)
	}
	return p
}
