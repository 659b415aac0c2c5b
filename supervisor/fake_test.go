package supervisor

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/recordstore"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/sdbus"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// fakeSystemd stands in for systemd's manager in unit tests of the
// supervisor's decisions: it keeps units as systemd reports them and logs
// every call, in order. What systemd really does with a container's unit
// is the integration tests' to show.
type fakeSystemd struct {
	units map[string]*fakeUnit
	calls []string
	// template: ctr@.service is installed.
	template bool
	// frozen are cgroups frozen by Freeze, read back by fakeCgroups.
	frozen map[string]bool
	// reloaded: a daemon-reload loaded the drop-ins on disk.
	reloaded bool
}

type fakeUnit struct {
	st    units.Status
	props []units.Prop
}

func newFakeSystemd() *fakeSystemd {
	return &fakeSystemd{units: map[string]*fakeUnit{}, frozen: map[string]bool{}}
}

func (f *fakeSystemd) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// called returns the calls logged since the last one, and forgets them.
func (f *fakeSystemd) called() string {
	out := strings.Join(f.calls, "; ")
	f.calls = nil
	return out
}

// run makes unit a running unit of systemd's, as a start job leaves it.
func (f *fakeSystemd) run(unit, fragment string, props []units.Prop) {
	f.units[unit] = &fakeUnit{st: units.Status{Unit: unit, LoadState: "loaded", ActiveState: "active", SubState: "running", MainPID: 4242, FragmentPath: fragment}, props: props}
}

func (f *fakeSystemd) StartTransient(_ context.Context, unit string, props []units.Prop, aux ...units.Aux) error {
	f.log("StartTransient %s", unit)
	if _, ok := f.units[unit]; ok {
		return fmt.Errorf("start %s: %w", unit, sdbus.ErrUnitExists)
	}
	f.run(unit, "/run/systemd/transient/"+unit, props)
	return nil
}

func (f *fakeSystemd) Start(_ context.Context, unit string) error {
	f.log("Start %s", unit)
	f.run(unit, "/etc/systemd/system/"+units.Template, nil)
	return nil
}

func (f *fakeSystemd) Stop(_ context.Context, unit string) error {
	f.log("Stop %s", unit)
	if u, ok := f.units[unit]; ok {
		if f.frozen[unitstep.ContainerCgroup(unit)] {
			return fmt.Errorf("stop %s: the unit is frozen: its stop would wait out the stop timeout", unit)
		}
		u.st.ActiveState, u.st.SubState, u.st.MainPID = "inactive", "dead", 0
		if !u.st.HasUnitFile() {
			delete(f.units, unit) // a transient unit is collected
		}
	}
	return nil
}

func (f *fakeSystemd) Restart(ctx context.Context, unit string) error {
	f.log("Restart %s", unit)
	if u, ok := f.units[unit]; ok {
		u.st.ActiveState, u.st.SubState = "active", "running"
	}
	return nil
}

func (f *fakeSystemd) StartTransientNoWait(ctx context.Context, unit string, props []units.Prop, aux ...units.Aux) error {
	return f.StartTransient(ctx, unit, props, aux...)
}
func (f *fakeSystemd) StartNoWait(ctx context.Context, unit string) error { return f.Start(ctx, unit) }
func (f *fakeSystemd) StopNoWait(ctx context.Context, unit string) error  { return f.Stop(ctx, unit) }

func (f *fakeSystemd) Status(_ context.Context, unit string) (units.Status, error) {
	if u, ok := f.units[unit]; ok {
		return u.st, nil
	}
	return units.Status{Unit: unit, LoadState: "not-found", ActiveState: "inactive"}, nil
}

func (f *fakeSystemd) ActiveStates(_ context.Context, names []string) (map[string]units.Status, error) {
	out := map[string]units.Status{}
	for _, n := range names {
		if u, ok := f.units[n]; ok {
			out[n] = units.Status{Unit: n, LoadState: u.st.LoadState, ActiveState: u.st.ActiveState, SubState: u.st.SubState}
		}
	}
	return out, nil
}

func (f *fakeSystemd) NRestarts(_ context.Context, unit string) (uint32, error) {
	if u, ok := f.units[unit]; ok {
		return u.st.NRestarts, nil
	}
	return 0, nil
}

func (f *fakeSystemd) Details(_ context.Context, live, restartable []string) (map[string]units.Status, error) {
	out := map[string]units.Status{}
	for _, n := range live {
		if u, ok := f.units[n]; ok {
			out[n] = units.Status{Unit: n, MainPID: u.st.MainPID, StartedAt: u.st.StartedAt}
		}
	}
	for _, n := range restartable {
		if u, ok := f.units[n]; ok {
			st := out[n]
			st.Unit, st.NRestarts = n, u.st.NRestarts
			out[n] = st
		}
	}
	return out, nil
}

func (f *fakeSystemd) WaitInactive(context.Context, string) error { return nil }

// Watch sends no changes: the unit tests decide on states they set.
func (f *fakeSystemd) Watch(ctx context.Context, _ func(string) bool) (<-chan sdbus.Change, error) {
	ch := make(chan sdbus.Change)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch, nil
}

func (f *fakeSystemd) Kill(_ context.Context, unit string, whom sdbus.Whom, sig syscall.Signal) error {
	f.log("Kill %s %s %d", unit, whom, sig)
	return nil
}

func (f *fakeSystemd) ResetFailed(_ context.Context, unit string) error {
	f.log("ResetFailed %s", unit)
	if u, ok := f.units[unit]; ok && u.st.ActiveState == "failed" {
		delete(f.units, unit)
	}
	return nil
}

func (f *fakeSystemd) Freeze(_ context.Context, unit string) error {
	f.log("Freeze %s", unit)
	f.frozen[unitstep.ContainerCgroup(unit)] = true
	return nil
}

func (f *fakeSystemd) Thaw(_ context.Context, unit string) error {
	f.log("Thaw %s", unit)
	delete(f.frozen, unitstep.ContainerCgroup(unit))
	return nil
}

func (f *fakeSystemd) AttachProcesses(_ context.Context, unit, sub string, _ ...uint32) error {
	f.log("AttachProcesses %s %s", unit, sub)
	return nil
}

func (f *fakeSystemd) Reload(context.Context) error {
	f.log("Reload")
	f.reloaded = true
	return nil
}

func (f *fakeSystemd) Disable(_ context.Context, names ...string) error {
	f.log("Disable %s", strings.Join(names, " "))
	return nil
}

func (f *fakeSystemd) DropInPaths(_ context.Context, unit string) ([]string, error) {
	if !f.reloaded {
		return nil, nil
	}
	return []string{"/etc/systemd/system/" + units.DropInDir(unit) + "/" + units.DropInFile}, nil
}

func (f *fakeSystemd) TemplateInstalled(context.Context) (bool, error) { return f.template, nil }

// fakeCgroups is a host in one cgroup layout, whose freezer the fake
// systemd (v2) or the supervisor itself (v1) works.
type fakeCgroups struct {
	mode   cgroupmgr.Mode
	frozen map[string]bool
	log    func(format string, args ...any)
}

func (c *fakeCgroups) Mode() cgroupmgr.Mode                  { return c.mode }
func (c *fakeCgroups) Available(ctrl string) bool            { return true }
func (c *fakeCgroups) SystemdRoots() []string                { return nil }
func (c *fakeCgroups) Stats(string) (cgroupmgr.Stats, error) { return cgroupmgr.Stats{}, nil }
func (c *fakeCgroups) Processes(string) ([]int, error)       { return nil, nil }

func (c *fakeCgroups) Freeze(_ context.Context, path string) error {
	c.log("cgroup Freeze %s", path)
	c.frozen[path] = true
	return nil
}

func (c *fakeCgroups) Thaw(_ context.Context, path string) error {
	c.log("cgroup Thaw %s", path)
	delete(c.frozen, path)
	return nil
}

func (c *fakeCgroups) Frozen(path string) (bool, error) { return c.frozen[path], nil }

// testSupervisor is a supervisor over the fake systemd, with its records
// and runtime files in temporary directories, in the given cgroup layout.
func testSupervisor(t testing.TB, mode cgroupmgr.Mode) (*Supervisor, *fakeSystemd) {
	t.Helper()
	sd := newFakeSystemd()
	dirs := unitstep.Dirs{StateDir: t.TempDir(), RuntimeDir: t.TempDir()}
	sv := New(Options{
		Dirs:           dirs,
		Store:          recordstore.Open(dirs),
		FS:             rootfs.New(dirs, "vfs"),
		Connect:        func(context.Context) (Systemd, error) { return sd, nil },
		Cgroups:        &fakeCgroups{mode: mode, frozen: sd.frozen, log: sd.log},
		Steps:          unitstep.Runner{Globals: unitstep.Globals{Dirs: dirs, Runtime: "/bin/true"}, Full: "/usr/bin/ctr-unit", Lean: "/usr/libexec/ctr-unit/ctr-unit-step"},
		UnitDir:        t.TempDir(),
		DefinitionDirs: []string{t.TempDir()},
	})
	return sv, sd
}
