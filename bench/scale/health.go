package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctr-unit/ctr-unit/bench/measure"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/units"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// healthFigures: containers with a check every 30 s, watched for a while,
// and single probes timed against a bare runc exec.
type healthFigures struct {
	Kind       string
	Containers int
	Window     time.Duration
	// Checks run in the window, and the CPU the whole box used in it
	// (systemd starting each check's unit, and the check), less what
	// it uses idle.
	Checks     int
	BoxCPU     time.Duration
	PID1CPU    time.Duration
	IdleCPU    time.Duration
	PerHourCPU time.Duration
	// Probe: one check's process tree run by hand, medians of CPU and
	// wall time, by how it is run; "runc exec" is the floor.
	Probe map[string]measure.Run
}

const healthInterval = 30 * time.Second

func (c *config) healthRun(kind string) (*healthFigures, error) {
	persist := filepath.Join(c.work, "health-"+kind)
	if err := os.MkdirAll(persist, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(persist)
	b := c.newBox("h"+kind[:3], persist)
	if err := b.up(); err != nil {
		return nil, err
	}
	defer b.downOrSay()
	h := &healthFigures{}
	err := b.innerJSON(h, "health", "-kind", kind, "-n", strconv.Itoa(c.health), "-persist", persist,
		"-reps", strconv.Itoa(max(c.reps, 15)), "-window", c.window.String())
	return h, err
}

// boxCPU is the CPU time of everything in the box: its cgroup is the root
// of the box's cgroup namespace (cgroup v2 counts it whether or not the
// cpu controller is on).
func boxCPU() time.Duration {
	data, _ := os.ReadFile("/sys/fs/cgroup/cpu.stat")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return time.Duration(n) * time.Microsecond
		}
	}
	return 0
}

func pid1CPU() time.Duration {
	data, _ := os.ReadFile("/proc/1/stat")
	s := string(data)
	s = s[strings.LastIndexByte(s, ')')+2:]
	f := strings.Fields(s)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}

func (e *inBox) health() (*healthFigures, error) {
	h := &healthFigures{Kind: e.kind, Containers: e.n, Window: e.window, Probe: map[string]measure.Run{}}
	if e.kind == kindPodman {
		// podman's check timers run podman without this process's
		// environment: its configuration goes where podman looks by
		// default, in the box's private /etc.
		if err := e.podmanEtc(); err != nil {
			return nil, err
		}
	}
	// What the box uses idle, to take away.
	const idle = 5 * time.Second
	c0 := boxCPU()
	time.Sleep(idle)
	idleRate := float64(boxCPU()-c0) / float64(idle)

	names := make([]string, e.n)
	argvs := make([][]string, e.n)
	for i := range e.n {
		name := fmt.Sprintf("h%d", i)
		check := []string{"--health-cmd", "true", "--health-interval", healthInterval.String()}
		if e.kind == kindPodman {
			argvs[i] = append(append([]string{"podman", "run", "-d"}, check...), (&config{work: e.work}).podmanCreate(name)...)
		} else {
			argvs[i] = e.ctr(e.kind, append(append([]string{"run", "-d", "--name", name, "--network", "host", "--stop-signal", "KILL"}, check...),
				append([]string{"--rootfs", e.rootfs()}, sleepArgs...)...)...)
		}
		names[i] = name
	}
	// Made two at a time, one per core: their making is not measured.
	if err := runAll(argvs, 2); err != nil {
		return nil, err
	}
	if e.kind == kindPodman {
		// The box's poweroff would send the containers' sleep (PID 1
		// of its namespace, so deaf to it) SIGTERM and wait out the
		// stop timeout: they go first, at once.
		defer exec.Command("systemctl", "kill", "--signal=SIGKILL", "machine.slice").Run()
	}
	// Every container has had its first check by then.
	time.Sleep(healthInterval + 5*time.Second)

	t0, b0, p0 := time.Now(), boxCPU(), pid1CPU()
	time.Sleep(e.window)
	t1, b1, p1 := time.Now(), boxCPU(), pid1CPU()
	h.BoxCPU, h.PID1CPU = b1-b0, p1-p0
	h.IdleCPU = time.Duration(idleRate * float64(t1.Sub(t0)))
	var err error
	if h.Checks, err = e.countChecks(names, t0, t1); err != nil {
		return nil, err
	}
	checksPerHour := float64(e.n) * float64(time.Hour/healthInterval)
	if h.Checks > 0 {
		perCheck := float64(h.BoxCPU-h.IdleCPU) / float64(h.Checks)
		h.PerHourCPU = time.Duration(perCheck * checksPerHour)
	}

	// One probe by hand, each way taking turns.
	ways := map[string][]string{}
	if e.kind == kindPodman {
		ways["podman healthcheck run"] = []string{"podman", "healthcheck", "run", names[0]}
		id, err := exec.Command("podman", "inspect", "--format", "{{.Id}}", names[0]).Output()
		if err != nil {
			return nil, fmt.Errorf("podman inspect: %w", err)
		}
		runc, _ := lookRunc()
		ways["runc exec"] = []string{runc, "--root", "/run/runc", "exec", strings.TrimSpace(string(id)), "true"}
	} else {
		dirs := unitstep.Dirs{StateDir: stateDir(e.persist), RuntimeDir: unitstep.DefaultRuntimeDir}
		runc, _ := lookRunc()
		ways["runc exec"] = []string{runc, "--root", filepath.Join(dirs.RuncRoot(), names[0]), "exec", names[0], "true"}
		ways["ctr-unit healthcheck run"] = e.ctr(e.kind, "healthcheck", "run", names[0])
		for _, k := range []string{e.kind, kindBase} {
			if k == kindBase {
				if _, err := os.Stat(e.bin(kindBase)); err != nil || e.kind == kindBase {
					continue
				}
			}
			// What the check's timer runs (its unit's ExecStart), by
			// hand: ctr-unit's or ctr-unit-step's.
			argv, err := checkArgv(names[0])
			if err != nil {
				return nil, err
			}
			if k == kindBase {
				argv = e.ctr(kindBase, "healthcheck", "run", names[0])
				ways["baseline: ctr-unit healthcheck run"] = argv
				continue
			}
			ways["the check unit's command"] = unscheduled(argv)
		}
	}
	runs := map[string][]measure.Run{}
	for range e.reps {
		for way, argv := range ways {
			r, err := measure.Command(argv...)
			if err != nil {
				return nil, err
			}
			runs[way] = append(runs[way], r)
		}
	}
	for way, rs := range runs {
		var w, c []time.Duration
		for _, r := range rs {
			w, c = append(w, r.Wall), append(c, r.CPU)
		}
		h.Probe[way] = measure.Run{Wall: measure.Median(w), CPU: measure.Median(c)}
	}
	return h, nil
}

// runAll runs the commands, workers at a time, and returns their errors.
func runAll(argvs [][]string, workers int) error {
	next := make(chan []string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for argv := range next {
				if _, err := measure.Command(argv...); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, argv := range argvs {
		next <- argv
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// checkArgv reads the command line of container name's check unit.
func checkArgv(name string) ([]string, error) {
	_, unit := healthcheck.Units(name, units.TransientService(name))
	out, err := exec.Command("systemctl", "show", "-p", "ExecStart", unit).Output()
	if err != nil {
		return nil, fmt.Errorf("systemctl show %s: %w", unit, err)
	}
	s := string(out)
	i := strings.Index(s, "argv[]=")
	if i < 0 {
		return nil, fmt.Errorf("no ExecStart in %s: %s", unit, s)
	}
	s = s[i+len("argv[]="):]
	s = s[:strings.Index(s, " ;")]
	return strings.Fields(s), nil
}

// unscheduled makes the timer's command run a check that is not due yet.
func unscheduled(argv []string) []string {
	var out []string
	for _, a := range argv {
		if a != "--scheduled" {
			out = append(out, a)
		}
	}
	return out
}

// countChecks counts the checks that started in [t0, t1], from the
// containers' health logs (docker's format, as both show it).
func (e *inBox) countChecks(names []string, t0, t1 time.Time) (int, error) {
	var argv []string
	if e.kind == kindPodman {
		argv = append([]string{"podman", "inspect"}, names...)
	} else {
		argv = e.ctr(e.kind, append([]string{"inspect"}, names...)...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return 0, fmt.Errorf("inspect: %w", err)
	}
	var list []struct {
		State struct {
			Health *struct{ Log []struct{ Start time.Time } }
			// podman 4.3 calls it Healthcheck.
			Healthcheck *struct{ Log []struct{ Start time.Time } }
		}
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, fmt.Errorf("inspect: %w", err)
	}
	n := 0
	for _, c := range list {
		h := c.State.Health
		if h == nil {
			h = c.State.Healthcheck
		}
		if h == nil {
			continue
		}
		for _, r := range h.Log {
			if !r.Start.Before(t0) && !r.Start.After(t1) {
				n++
			}
		}
	}
	return n, nil
}

func (e *inBox) podmanEtc() error {
	if err := os.MkdirAll("/etc/containers", 0o755); err != nil {
		return err
	}
	for _, f := range []string{"storage.conf", "containers.conf"} {
		if err := copyFile(filepath.Join((&config{work: e.work}).podmanDir(), f), filepath.Join("/etc/containers", f), 0o644); err != nil {
			return err
		}
	}
	return nil
}
