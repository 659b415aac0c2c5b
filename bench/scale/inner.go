package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/bench/measure"
	"github.com/ctr-unit/ctr-unit/ociruntime"
)

// inBox is what "scale inner" knows: it runs inside a box.
type inBox struct {
	work, kind, persist string
	n, reps             int
	window              time.Duration
}

// inner runs one measurement inside a box and prints its figures as JSON.
func inner(args []string) error {
	if len(args) == 0 {
		return errors.New("missing measurement")
	}
	what := args[0]
	e := &inBox{}
	fs := flag.NewFlagSet("inner "+what, flag.ContinueOnError)
	fs.StringVar(&e.work, "work", "", "work directory")
	fs.StringVar(&e.kind, "kind", kindCtr, "kind")
	fs.StringVar(&e.persist, "persist", "", "the box's persisted directory")
	fs.IntVar(&e.n, "n", 0, "containers")
	fs.IntVar(&e.reps, "reps", 7, "repetitions")
	fs.DurationVar(&e.window, "window", time.Minute, "healthcheck window")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if e.kind == kindPodman {
		for _, kv := range (&config{work: e.work}).podmanEnv() {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	}
	var v any
	var err error
	switch what {
	case "machine":
		v, err = e.machine()
	case "boot":
		v, err = e.boot()
	case "memory":
		v, err = e.memory()
	case "commands":
		v, err = e.commands()
	case "reload":
		v, err = e.reload()
	case "stopall":
		v, err = e.stopAll()
	case "health":
		v, err = e.health()
	default:
		return fmt.Errorf("unknown measurement %q", what)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(v)
}

func (e *inBox) names() []string {
	out := make([]string, e.n)
	for i := range out {
		out[i] = containerName(i)
	}
	return out
}

func (e *inBox) units() []string {
	out := make([]string, e.n)
	for i, name := range e.names() {
		out[i] = unitOf(e.kind, name)
	}
	return out
}

func (e *inBox) bin(kind string) string { return (&config{work: e.work}).binDir(kind) }

// ctr is a ctr-unit command line with this box's state directory.
func (e *inBox) ctr(kind string, args ...string) []string {
	return append([]string{filepath.Join(e.bin(kind), "ctr-unit"), "--state-dir", stateDir(e.persist)}, args...)
}

func (e *inBox) rootfs() string { return filepath.Join(e.work, "rootfs") }

type machineFigures struct {
	CPUModel string
	Startup  []string
}

func (e *inBox) machine() (machineFigures, error) {
	var m machineFigures
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	bin := e.bin(kindCtr)
	var err error
	m.Startup, err = measure.StartupCosts(e.work, 50, [][2]string{
		{"ctr-unit --version", filepath.Join(bin, "ctr-unit") + " --version"},
		{"ctr-unit-step --version", filepath.Join(bin, "ctr-unit-step") + " --version"},
	})
	return m, err
}

// show reads properties of units (or of the manager, with none) with one
// systemctl show.
func show(props []string, units ...string) ([]map[string]string, error) {
	args := append([]string{"show", "-p", strings.Join(props, ",")}, units...)
	out, err := exec.Command("systemctl", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("systemctl show: %w", err)
	}
	var all []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(cur) > 0 {
				all = append(all, cur)
			}
			cur = map[string]string{}
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		cur[k] = v
	}
	if len(cur) > 0 {
		all = append(all, cur)
	}
	return all, nil
}

func usec(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * time.Microsecond
}

// restartWait bounds the wait for units still starting, or waiting to
// be restarted, once the boot is over.
const restartWait = 5 * time.Minute

func (e *inBox) boot() (bootTimes, error) {
	var t bootTimes
	t.CPU, t.PID1CPU = boxCPU(), pid1CPU()
	mgr, err := show([]string{"UserspaceTimestampMonotonic", "GeneratorsStartTimestampMonotonic", "GeneratorsFinishTimestampMonotonic", "UnitsLoadFinishTimestampMonotonic"})
	if err != nil || len(mgr) != 1 {
		return t, fmt.Errorf("manager timestamps: %v", err)
	}
	m := mgr[0]
	var last time.Duration
	// A unit waiting to be restarted after a failure at boot (podman's
	// units restart on failure) is not done yet: the figure waits for
	// its restart, still read from systemd's timestamps, and the restarts
	// are counted. A unit that failed for good is a finding.
	for deadline := time.Now().Add(restartWait); ; time.Sleep(time.Second) {
		props, err := show([]string{"Id", "ActiveState", "SubState", "ActiveEnterTimestampMonotonic", "NRestarts"}, e.units()...)
		if err != nil {
			return t, err
		}
		last, t.Active, t.Restarts = 0, 0, 0
		var failed, pending []string
		for _, p := range props {
			n, _ := strconv.Atoi(p["NRestarts"])
			t.Restarts += n
			switch {
			case p["ActiveState"] == "active":
				t.Active++
				last = max(last, usec(p["ActiveEnterTimestampMonotonic"]))
			case p["ActiveState"] == "activating":
				pending = append(pending, p["Id"]+" "+p["ActiveState"]+" ("+p["SubState"]+")")
			default:
				failed = append(failed, p["Id"]+" "+p["ActiveState"])
			}
		}
		if len(pending) > 0 && time.Now().Before(deadline) {
			continue
		}
		if failed = append(failed, pending...); len(failed) > 0 {
			return t, fmt.Errorf("%d of %d containers not active after boot: %s", len(failed), e.n, strings.Join(failed[:min(5, len(failed))], ", "))
		}
		break
	}
	t.ToRunning = last - usec(m["UserspaceTimestampMonotonic"])
	t.Generators = usec(m["GeneratorsFinishTimestampMonotonic"]) - usec(m["GeneratorsStartTimestampMonotonic"])
	t.LoadedToRunning = last - usec(m["UnitsLoadFinishTimestampMonotonic"])
	return t, nil
}

// memory reads PID 1's resident set and the proportional set size of
// every process of the containers (their units' cgroups, and podman's
// scopes in machine.slice, where podman puts the containers themselves).
func (e *inBox) memory() (memFigures, error) {
	m := memFigures{Others: map[string]int{}}
	m.PID1RSSKiB = statusKiB(1, "VmRSS")
	var dirs []string
	for _, u := range e.units() {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup/system.slice", u))
	}
	if e.kind == kindPodman {
		scopes, _ := filepath.Glob("/sys/fs/cgroup/machine.slice/libpod-*.scope")
		dirs = append(dirs, scopes...)
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(path string, de os.DirEntry, err error) error {
			if err != nil || de.Name() != "cgroup.procs" {
				return nil
			}
			data, _ := os.ReadFile(path)
			for _, f := range strings.Fields(string(data)) {
				pid, _ := strconv.Atoi(f)
				m.Procs++
				m.PSSKiB += measure.PSS(pid)
				if comm := measure.Comm(pid); comm != "sleep" {
					m.Others[comm]++
				}
			}
			return nil
		})
	}
	return m, nil
}

func statusKiB(pid int, field string) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// command is one timed command line and what undoes it afterwards,
// untimed; floorOnly marks a figure only the floor's tools give.
type command struct {
	name  string
	argv  func(i int) []string
	after func(i int) []string
}

// commands lists the commands timed for e's kind; nil argv: none.
func (e *inBox) commandsOf(kind string) []command {
	pick := func(i int) string { return containerName((i * 7919) % e.n) }
	extra := func(i int) string { return fmt.Sprintf("x%d", i) }
	switch kind {
	case kindPodman:
		p := func(args ...string) []string { return append([]string{"podman"}, args...) }
		return []command{
			{"ps -a", func(int) []string { return p("ps", "-a") }, nil},
			{"ps --format json", func(int) []string { return p("ps", "--format", "json") }, nil},
			{"inspect NAME", func(i int) []string { return p("inspect", pick(i)) }, nil},
			{"stats --no-stream", func(int) []string { return p("stats", "--no-stream") }, nil},
			{"run -d", func(i int) []string {
				return p(append([]string{"run", "-d"}, (&config{work: e.work}).podmanCreate(extra(i))...)...)
			}, func(i int) []string { return p("rm", "-f", extra(i)) }},
			{"stop", func(i int) []string { return []string{"systemctl", "stop", unitOf(kind, pick(i))} },
				func(i int) []string { return []string{"systemctl", "start", unitOf(kind, pick(i))} }},
		}
	case kindFloor:
		runc, _ := lookRunc()
		return []command{
			{"ps -a", func(int) []string {
				return []string{"systemctl", "list-units", "--all", "--no-pager", "--no-legend", "floor-*"}
			}, nil},
			{"ps --format json", func(int) []string {
				return []string{"systemctl", "show", "-p", "Id,MainPID,ActiveState,SubState,ExecMainStartTimestamp,NRestarts", "floor-*"}
			}, nil},
			{"inspect NAME", func(i int) []string { return []string{"systemctl", "show", unitOf(kind, pick(i))} }, nil},
			{"stats --no-stream", nil, nil},
			{"run -d", func(i int) []string {
				id := extra(i)
				bundle := filepath.Join(e.work, "floor", "c0")
				return []string{"systemd-run", "--quiet", "--unit", "floor-" + id + ".service", "-p", "Type=forking",
					"-p", "PIDFile=/run/floor-" + id + ".pid", "-p", "Delegate=yes", "-p", "KillMode=mixed", "-p", "KillSignal=SIGKILL",
					"-p", "ExecStopPost=" + runc + " --root /run/floor-runc delete --force " + id,
					"--", runc, "--root", "/run/floor-runc", "run", "--detach", "--pid-file", "/run/floor-" + id + ".pid", "--bundle", bundle, id}
			}, func(i int) []string {
				return []string{"sh", "-c", "systemctl stop floor-" + extra(i) + ".service; systemctl reset-failed floor-" + extra(i) + ".service 2>/dev/null; true"}
			}},
			{"stop", func(i int) []string { return []string{"systemctl", "stop", unitOf(kind, pick(i))} },
				func(i int) []string { return []string{"systemctl", "start", unitOf(kind, pick(i))} }},
		}
	}
	c := func(args ...string) []string { return e.ctr(kind, args...) }
	return []command{
		{"ps -a", func(int) []string { return c("ps", "-a") }, nil},
		{"ps --format json", func(int) []string { return c("ps", "--format", "json") }, nil},
		{"inspect NAME", func(i int) []string { return c("inspect", pick(i)) }, nil},
		{"stats --no-stream", func(int) []string { return c("stats", "--no-stream") }, nil},
		{"run -d", func(i int) []string {
			return c(append([]string{"run", "-d", "--name", extra(i), "--network", "host", "--stop-signal", "KILL", "--rootfs", e.rootfs()}, sleepArgs...)...)
		}, func(i int) []string { return c("rm", "-f", extra(i)) }},
		{"stop", func(i int) []string { return c("stop", pick(i)) }, func(i int) []string { return c("start", pick(i)) }},
	}
}

// commands times each command (medians of e.reps). In a ctr-unit box with
// a baseline built, the baseline's binary takes turns with this one on
// the same containers, by blocks: a record's stamp names the binary that
// made it from its definition file, so the first listing by one binary
// after the other makes every record again. Each block starts with one
// listing that is not timed.
func (e *inBox) commands() (map[string]cmdFigure, error) {
	own := e.commandsOf(e.kind)
	var base []command
	if _, err := os.Stat(e.bin(kindBase)); err == nil && e.kind == kindCtr {
		base = e.commandsOf(kindBase)
	}
	block := func(kind string, cmd command, parity int) ([]time.Duration, error) {
		if kind == kindCtr || kind == kindBase {
			if _, err := measure.Command(e.ctr(kind, "ps", "-a")...); err != nil {
				return nil, withJournal(err)
			}
		}
		var walls []time.Duration
		for i := range e.reps {
			w, err := timeOne(cmd, 2*i+parity)
			if err != nil {
				return nil, err
			}
			walls = append(walls, w)
		}
		return walls, nil
	}
	out := map[string]cmdFigure{}
	for ci, cmd := range own {
		if cmd.argv == nil {
			continue
		}
		walls, err := block(e.kind, cmd, 0)
		if err != nil {
			return nil, err
		}
		var bases []time.Duration
		if base != nil {
			if bases, err = block(kindBase, base[ci], 1); err != nil {
				return nil, err
			}
		}
		out[cmd.name] = cmdFigure{Wall: measure.Median(walls), Base: measure.Median(bases)}
	}
	return out, nil
}

func timeOne(cmd command, i int) (time.Duration, error) {
	r, err := measure.Command(cmd.argv(i)...)
	if err != nil {
		return 0, withJournal(err)
	}
	if cmd.after != nil {
		if _, err := measure.Command(cmd.after(i)...); err != nil {
			return 0, withJournal(err)
		}
	}
	return r.Wall, nil
}

// withJournal adds the journal's last lines to a command's error.
func withJournal(err error) error {
	out, _ := exec.Command("journalctl", "-n", "40", "--no-pager").CombinedOutput()
	return fmt.Errorf("%w\njournal:\n%s", err, out)
}

type reloadFigures struct {
	Reload, Generator, GeneratorBase time.Duration
}

// reload times systemctl daemon-reload with the N containers defined,
// and ctr-unit's generator alone.
func (e *inBox) reload() (reloadFigures, error) {
	var f reloadFigures
	r, err := measure.Repeat(e.reps, nil, "systemctl", "daemon-reload")
	if err != nil {
		return f, err
	}
	f.Reload = r.Wall
	if e.kind != kindCtr && e.kind != kindBase {
		return f, nil
	}
	gen := func(kind string) (time.Duration, error) {
		var walls []time.Duration
		for range e.reps {
			out, err := os.MkdirTemp("", "generator-")
			if err != nil {
				return 0, err
			}
			cmd := exec.Command(filepath.Join(e.bin(kind), "ctr-unit"), "internal", "generator", out)
			cmd.Env = append(os.Environ(), "CTR_UNIT_STATE_DIR="+stateDir(e.persist))
			t0 := time.Now()
			msg, err := cmd.CombinedOutput()
			walls = append(walls, time.Since(t0))
			os.RemoveAll(out)
			if err != nil {
				return 0, fmt.Errorf("generator: %v: %s", err, msg)
			}
		}
		return measure.Median(walls), nil
	}
	if f.Generator, err = gen(e.kind); err != nil {
		return f, err
	}
	if _, err := os.Stat(e.bin(kindBase)); err == nil && e.kind == kindCtr {
		if f.GeneratorBase, err = gen(kindBase); err != nil {
			return f, err
		}
	}
	return f, nil
}

func monotonic() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// stopAll stops the target all containers are part of and reads from
// systemd's timestamps when the last of them became inactive.
func (e *inBox) stopAll() (stopFigures, error) {
	var f stopFigures
	t0, c0 := monotonic(), boxCPU()
	r, err := measure.Command("systemctl", "stop", target)
	if err != nil {
		return f, err
	}
	f.Return = r.Wall
	deadline := time.Now().Add(5 * time.Minute)
	for {
		props, err := show([]string{"Id", "ActiveState", "InactiveEnterTimestampMonotonic"}, e.units()...)
		if err != nil {
			return f, err
		}
		var last time.Duration
		live := 0
		for _, p := range props {
			if st := p["ActiveState"]; st != "inactive" && st != "failed" {
				live++
			}
			last = max(last, usec(p["InactiveEnterTimestampMonotonic"]))
		}
		if live == 0 {
			f.All, f.CPU = last-t0, boxCPU()-c0
			return f, nil
		}
		if time.Now().After(deadline) {
			return f, fmt.Errorf("%d containers still live 5 minutes after the stop", live)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runcExec is a bare runc exec of true in a ctr-unit container.
func (e *inBox) runcExec(name string) []string {
	runc, _ := lookRunc()
	r := ociruntime.Runc{Path: runc, Root: filepath.Join("/run/ctr-unit", "runc")}
	return []string{runc, "--root", r.StateRoot(name), "exec", name, "true"}
}
