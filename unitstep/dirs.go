// Package unitstep holds what systemd runs in a container's unit: the
// start step (ExecStart) and the stop step (ExecStopPost), and the layout
// of the files they share with the supervisor.
//
// Every start and every stop of a container execs one of these steps, so
// the package and cmd/ctr-unit-step, the binary that runs them, stay lean:
// no image storage and no CLI framework, which would cost each exec about
// 1.5 ms of Go start-up (make bench).
package unitstep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctr-unit/ctr-unit/units"
)

// Dirs are where ctr-unit keeps containers' records (StateDir, persistent)
// and runtime data (RuntimeDir, under /run, gone after a reboot).
type Dirs struct {
	StateDir   string
	RuntimeDir string
}

// ExitFileName is the record of how a container's last run ended.
const ExitFileName = "exit.json"

// Records holds one directory of records per container.
func (d Dirs) Records() string { return filepath.Join(d.StateDir, "containers") }

// Record is container name's directory of records.
func (d Dirs) Record(name string) string { return filepath.Join(d.Records(), name) }

// ExitFile is where the stop step records the exit of container name.
func (d Dirs) ExitFile(name string) string { return filepath.Join(d.Record(name), ExitFileName) }

// Bundle is container name's OCI bundle.
func (d Dirs) Bundle(name string) string { return filepath.Join(d.RuntimeDir, "containers", name) }

// PIDFile is where runc create writes the pid of container name's init.
func (d Dirs) PIDFile(name string) string { return filepath.Join(d.Bundle(name), "pid") }

// StartErrorFile is where the start step records why the container's
// process could not be started, for the stop step (see RuntimeError).
func (d Dirs) StartErrorFile(name string) string {
	return filepath.Join(d.Bundle(name), "start-error.json")
}

// RuncLog is where runc create logs, in JSON, what went wrong.
func (d Dirs) RuncLog(name string) string { return filepath.Join(d.Bundle(name), "runc.log") }

// RemovalHold is the lock a command that reports on a --rm container's
// run holds meanwhile: the unit's remove step then leaves the removal to
// it.
func (d Dirs) RemovalHold(name string) string { return filepath.Join(d.Bundle(name), "removal.lock") }

// ConsoleSocketFile names the console socket an attached run -t holds,
// for the start step's runc create to hand the container's terminal to.
func (d Dirs) ConsoleSocketFile(name string) string {
	return filepath.Join(d.Bundle(name), "console-socket")
}

// RuncRoot holds runc's state of each container.
func (d Dirs) RuncRoot() string { return filepath.Join(d.RuntimeDir, "runc") }

// Slice holds every container service; naming it lets the container's
// cgroup be known before its unit exists.
const Slice = "system.slice"

// UnitCgroup is the control group systemd gives a container's unit.
func UnitCgroup(unit string) string { return units.ControlGroup(Slice, unit) }

// ContainerCgroup is where runc puts the container: a child of the unit's
// own cgroup, so the unit holds every container process in both cgroup
// layouts.
func ContainerCgroup(unit string) string { return UnitCgroup(unit) + "/ctr" }

// bootIDPath changes at every boot (and per sysbox boot).
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// BootID identifies the current boot: a record of a start with another
// is of an earlier boot.
func BootID() (string, error) {
	data, err := os.ReadFile(bootIDPath)
	if err != nil {
		return "", fmt.Errorf("read boot ID: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}
