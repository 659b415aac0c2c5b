package units

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	"golang.org/x/sys/unix"
)

// Template is the unit file every file-backed container is an instance of.
const Template = "ctr@.service"

// DropInFile is the drop-in ctr-unit writes for a template instance, in
// the instance's ".service.d" directory. 50 leaves room for an admin's own
// drop-ins before (overridden by ours) and after (overriding ours).
const DropInFile = "50-ctr-unit.conf"

// IsTemplateInstance reports whether unitName is an instance of Template,
// which systemd loads from files rather than from transient properties.
func IsTemplateInstance(unitName string) bool {
	return strings.HasPrefix(unitName, "ctr@") && strings.HasSuffix(unitName, ".service") && unitName != Template
}

// DropInDir is the directory below a unit directory that holds the
// instance's drop-ins.
func DropInDir(unitName string) string { return unitName + ".d" }

// UnitOptions renders s as unit-file options, setting by setting what
// Properties gives a transient unit. StdioFDs has no unit-file form (an
// attached run is always transient); Extra is appended as given.
func (s Service) UnitOptions() []*unit.UnitOption {
	var o []*unit.UnitOption
	u := func(name, value string) { o = append(o, unit.NewUnitOption("Unit", name, value)) }
	sv := func(name, value string) { o = append(o, unit.NewUnitOption("Service", name, value)) }

	u("Description", s.Description)
	for _, r := range s.Wants {
		u("Wants", r)
	}
	for _, r := range s.Requires {
		u("Requires", r)
	}
	for _, a := range s.After {
		u("After", a)
	}
	if s.CollectMode != "" {
		u("CollectMode", s.CollectMode)
	}
	switch {
	case s.NoStartLimit:
		u("StartLimitIntervalSec", "0")
	case s.StartLimitBurst > 0:
		interval := "infinity"
		if s.StartLimitInterval > 0 {
			interval = unitDuration(s.StartLimitInterval)
		}
		u("StartLimitBurst", strconv.FormatUint(uint64(s.StartLimitBurst), 10))
		u("StartLimitIntervalSec", interval)
	}

	sv("Type", s.serviceType())
	sv("NotifyAccess", "all")
	sv("GuessMainPID", "no")
	if s.Slice != "" {
		sv("Slice", s.Slice)
	}
	sv("Delegate", "yes")
	sv("KillMode", "mixed")
	if s.KillSignal != 0 {
		sv("KillSignal", unix.SignalName(s.KillSignal))
	}
	sv("TimeoutStopSec", unitDuration(s.TimeoutStop))
	if s.Restart != "" {
		sv("Restart", s.Restart)
	}
	sv("RestartSec", unitDuration(s.RestartSec))
	if s.WatchdogSignal != 0 {
		sv("WatchdogSignal", unix.SignalName(s.WatchdogSignal))
	}
	if s.SyslogIdentifier != "" {
		sv("SyslogIdentifier", s.SyslogIdentifier)
	}
	for _, e := range s.UnsetEnvironment {
		sv("UnsetEnvironment", e)
	}
	for _, e := range s.Environment {
		sv("Environment", quoteWord(e))
	}
	if s.MemoryMax > 0 {
		sv("MemoryMax", strconv.FormatUint(s.MemoryMax, 10))
	}
	if s.CPUQuotaUSec > 0 {
		sv("CPUQuota", cpuQuota(s.CPUQuotaUSec))
	}
	if s.TasksMax > 0 {
		sv("TasksMax", strconv.FormatUint(s.TasksMax, 10))
	}
	for _, c := range s.ExecStartPre {
		sv("ExecStartPre", ExecLine(c))
	}
	sv("ExecStart", ExecLine(s.ExecStart))
	for _, c := range s.ExecStopPost {
		sv("ExecStopPost", ExecLine(c))
	}
	return append(o, s.Extra...)
}

// UnitFile renders s as a standalone unit file, header being comment lines
// (without "# ") put first.
func (s Service) UnitFile(header ...string) []byte {
	return render(header, s.UnitOptions())
}

// listSettings are the settings a drop-in must reset before setting them:
// each line adds to the list, and the template (or an earlier drop-in)
// may have set some already.
var listSettings = map[string]bool{
	"ExecStartPre": true, "ExecStart": true, "ExecStopPost": true,
}

// DropIn renders s as a drop-in for an instance of Template. It carries
// every setting, not only those that differ from the template, so the
// instance is configured exactly as the transient unit would be.
func (s Service) DropIn(header ...string) []byte {
	var o []*unit.UnitOption
	reset := map[string]bool{}
	for _, opt := range s.UnitOptions() {
		if opt.Section == "Service" && listSettings[opt.Name] && !reset[opt.Name] {
			reset[opt.Name] = true
			o = append(o, unit.NewUnitOption("Service", opt.Name, ""))
		}
		o = append(o, opt)
	}
	return render(header, o)
}

func render(header []string, opts []*unit.UnitOption) []byte {
	var b bytes.Buffer
	for _, h := range header {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	if len(header) > 0 {
		b.WriteString("\n")
	}
	io.Copy(&b, unit.Serialize(opts))
	return b.Bytes()
}

// unitDuration writes d as systemd's time span syntax.
func unitDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "infinity"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
}

// cpuQuota turns CPU µs per second into CPUQuota='s percentage, which
// systemd reads with up to two decimals.
func cpuQuota(usec uint64) string {
	if usec%10_000 == 0 {
		return strconv.FormatUint(usec/10_000, 10) + "%"
	}
	return strconv.FormatFloat(float64(usec)/10_000, 'f', 2, 64) + "%"
}

// ExecLine writes argv as the value of an Exec*= setting: specifiers (%)
// and variable references ($) escaped, words quoted where needed.
func ExecLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = quoteWord(a)
	}
	return strings.Join(words, " ")
}

// UnitNameArg stands for the unit's own name in an Exec*= command of a
// unit file: it is written as systemd's %n, which systemd expands to the
// name the file is installed under.
const UnitNameArg = "\x00unit-name"

// quoteWord quotes one word of a unit-file setting so systemd reads it back
// as exactly w.
func quoteWord(w string) string {
	if w == UnitNameArg {
		return "%n"
	}
	w = strings.ReplaceAll(w, "%", "%%")
	w = strings.ReplaceAll(w, "$", "$$")
	if w != "" && !strings.ContainsAny(w, " \t\n\"'\\;") {
		return w
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(w) + `"`
}
