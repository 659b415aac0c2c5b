package healthcheck

import (
	"fmt"
	"time"
)

// Health statuses, as docker names them.
const (
	Starting  = "starting"
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// Log limits, as in docker.
const (
	MaxLogEntries = 5
	MaxOutputLen  = 4096
)

// ExitTimeout is the exit code recorded for a check that ran out of time,
// as in docker.
const ExitTimeout = -1

// Result is one check's outcome.
type Result struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// TimeoutResult is the result of a check killed after timeout.
func TimeoutResult(start, end time.Time, timeout time.Duration) Result {
	return Result{Start: start, End: end, ExitCode: ExitTimeout, Output: fmt.Sprintf("Health check exceeded timeout (%v)", timeout)}
}

// State is a container's health during one run of its init: it starts
// afresh whenever the container (re)starts.
type State struct {
	Status        string   `json:"Status"`
	FailingStreak int      `json:"FailingStreak"`
	Log           []Result `json:"Log"`

	// Pid is the init of the run this state belongs to; a different init
	// means the container restarted and the state begins again.
	Pid       int       `json:"Pid"`
	StartedAt time.Time `json:"StartedAt"`

	StartupPassed    bool `json:"StartupPassed,omitempty"`
	StartupSuccesses int  `json:"StartupSuccesses,omitempty"`
	StartupFailures  int  `json:"StartupFailures,omitempty"`

	// Reported is the status last shown to systemd, which is told only
	// of changes.
	Reported string `json:"Reported,omitempty"`
}

// Fresh is the state of a run that just began.
func Fresh(pid int, startedAt time.Time) State {
	return State{Status: Starting, Pid: pid, StartedAt: startedAt, Log: []Result{}}
}

// ForRun returns st if it belongs to the run of init pid, else a fresh
// state for that run.
func ForRun(st State, pid int, startedAt time.Time) State {
	if st.Pid != pid || st.Status == "" {
		return Fresh(pid, startedAt)
	}
	return st
}

// InStartup reports whether the next check is the startup probe.
func (c *Config) InStartup(st State) bool { return c.Startup != nil && !st.StartupPassed }

// ProbeFor is the probe the next check runs.
func (c *Config) ProbeFor(st State) Probe {
	if c.InStartup(st) {
		return c.Startup.Probe
	}
	return c.Probe
}

// Due reports whether a scheduled check should run at now. The timer
// fires every Period; when the startup probe is faster than the regular
// one, regular checks skip the firings that come too early.
func (c *Config) Due(st State, now time.Time) bool {
	p := c.ProbeFor(st)
	if p.Interval <= c.Period() || len(st.Log) == 0 {
		return true
	}
	last := st.Log[len(st.Log)-1].End
	return !now.Before(last.Add(p.Interval - c.Period()/2))
}

// Outcome is what a recorded result asks the caller to do.
type Outcome struct {
	// Changed: the status differs from what systemd was last told.
	Changed bool
	// Act: the container just turned unhealthy (or failed its startup
	// probe too often); carry out this action.
	Act Action
}

// Record applies one result with docker's rules and returns the new
// state. startup says the result is the startup probe's.
//
// Regular checks: a pass makes the container healthy and ends the
// failing streak. A failure lengthens the streak, and a streak of Retries
// makes it unhealthy; but while the container is still starting and
// within its start period, failures do not count.
//
// Startup probe: the status stays starting; Successes passes in a row end
// the probe, and Retries failures in a row (if Retries > 0) restart the
// container.
func (c *Config) Record(st State, r Result, startup bool) (State, Outcome) {
	if len(r.Output) > MaxOutputLen {
		r.Output = r.Output[:MaxOutputLen]
	}
	st.Log = append(append([]Result{}, st.Log...), r)
	if n := len(st.Log); n > MaxLogEntries {
		st.Log = st.Log[n-MaxLogEntries:]
	}
	before := st.Status
	var out Outcome
	switch {
	case startup && r.ExitCode == 0:
		st.StartupSuccesses++
		st.StartupFailures = 0
		if st.StartupSuccesses >= max(c.Startup.Successes, 1) {
			st.StartupPassed = true
		}
	case startup:
		st.StartupFailures++
		st.StartupSuccesses = 0
		if c.Startup.Retries > 0 && st.StartupFailures >= c.Startup.Retries {
			out.Act = ActionRestart
		}
	case r.ExitCode == 0:
		st.FailingStreak = 0
		st.Status = Healthy
	default:
		if st.Status == Starting && r.Start.Sub(st.StartedAt) < c.StartPeriod {
			break
		}
		st.FailingStreak++
		if st.FailingStreak >= c.Retries {
			st.Status = Unhealthy
		}
	}
	if st.Status == Unhealthy && before != Unhealthy && c.OnFailure != ActionNone {
		out.Act = c.OnFailure
	}
	out.Changed = st.Status != st.Reported
	return st, out
}
