package units

import (
	"strings"
	"time"
)

// Status is what ctr-unit reads back from a container's service.
type Status struct {
	Unit         string
	LoadState    string // "loaded", "not-found", ...
	ActiveState  string // "active", "inactive", "failed", "activating", "deactivating"
	SubState     string // "running", "auto-restart", "dead", ...
	Result       string // "success", "exit-code", "signal", "start-limit-hit", ...
	FreezerState string
	MainPID      uint32
	NRestarts    uint32
	ControlGroup string
	StatusText   string
	// FragmentPath is the unit's file; empty for a transient unit.
	FragmentPath string
	// ExecMainStartTimestamp and ExecMainExitTimestamp.
	StartedAt, ExitedAt time.Time
}

// Loaded reports whether systemd knows the unit at all.
func (s Status) Loaded() bool { return s.LoadState == "loaded" }

// HasUnitFile reports whether systemd loaded the unit from a unit file
// (a template instance, or a file a user installed) rather than from
// transient properties, which live in /run/systemd/transient.
func (s Status) HasUnitFile() bool {
	return s.FragmentPath != "" && !strings.HasPrefix(s.FragmentPath, "/run/systemd/transient/")
}
