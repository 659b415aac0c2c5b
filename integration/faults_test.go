//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/unitstep"
)

// The fault harness: each TestFault* injects one kind of fault many
// times, then checks the invariants (checkInvariants, checkNoLeaks).
// make test runs it bounded; make faults (CTR_UNIT_FAULTS=full) runs the
// full counts the README's table gives.

// faultScale picks the bounded or the full size of a scenario.
func faultScale[T any](bounded, full T) T {
	if os.Getenv("CTR_UNIT_FAULTS") == "full" {
		return full
	}
	return bounded
}

// unitsOf lists the units systemd has loaded for this test's containers
// (services, health timers and services), whatever their state.
func (e *env) unitsOf() []string {
	e.t.Helper()
	out, err := exec.Command("systemctl", "list-units", "--all", "--plain", "--no-legend", "*"+e.prefix+"*").Output()
	if err != nil {
		e.t.Fatalf("list units: %v", err)
	}
	var us []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[1] != "not-found" {
			us = append(us, f[0]+" "+f[2]+"/"+f[3])
		}
	}
	return us
}

func (e *env) dirs() unitstep.Dirs {
	return unitstep.Dirs{StateDir: e.stateDir, RuntimeDir: e.runtimeDir}
}

// checkInvariants is what must hold after any fault, with the containers
// still there: every stored container reads whole; one whose record says
// running has its unit active, one never started has no runc state; and
// every unit loaded for the test's names belongs to a stored container.
func (e *env) checkInvariants(what string) {
	e.t.Helper()
	names := strings.Fields(e.must("ps", "-a", "--format", "{{.Names}}"))
	stored := map[string]bool{}
	for _, n := range names {
		stored[n] = true
		r := e.ctr("inspect", n)
		if r.code != 0 {
			e.t.Errorf("%s: %s is listed but does not read: %s", what, n, r)
			continue
		}
		c := e.inspect(n)
		_, runcErr := os.Stat(filepath.Join(e.dirs().RuncRoot(), n))
		switch {
		case c.State.Running:
			if st := unitProperty(e.t, c.Unit, "ActiveState"); st != "active" && st != "activating" && st != "deactivating" {
				e.t.Errorf("%s: %s claims running, its unit %s is %s", what, n, c.Unit, st)
			}
		case c.State.Status == "created" && runcErr == nil:
			// A stopped container whose stop step was killed keeps
			// runc's state until its next start or rm, which clear it
			// (checkNoLeaks); one never started has none.
			e.t.Errorf("%s: %s was never started, yet runc keeps its state", what, n)
		}
	}
	for _, u := range e.unitsOf() {
		owned := false
		for n := range stored {
			if strings.Contains(u, n+".") || strings.Contains(u, n+"-") || strings.Contains(u, "@"+n) {
				owned = true
			}
		}
		if !owned {
			e.t.Errorf("%s: unit %s has no container (stored: %v)", what, u, names)
		}
	}
}

// checkNoLeaks removes every container and then requires nothing left:
// no unit, no runc state, no mount under the test's directories, no
// control group named for its containers.
func (e *env) checkNoLeaks(what string) {
	e.t.Helper()
	e.removeAll()
	if us := e.unitsOf(); len(us) > 0 {
		e.t.Errorf("%s: units left after rm: %v", what, us)
	}
	if entries, _ := os.ReadDir(e.dirs().RuncRoot()); len(entries) > 0 {
		e.t.Errorf("%s: runc state left after rm: %v", what, entries)
	}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.Contains(sc.Text(), e.stateDir) || strings.Contains(sc.Text(), e.runtimeDir) {
				e.t.Errorf("%s: mount left after rm: %s", what, sc.Text())
			}
		}
		f.Close()
	}
	matches, _ := filepath.Glob(filepath.Join(cgroupRoot(), "system.slice", "*"+e.prefix+"*"))
	for _, m := range matches {
		e.t.Errorf("%s: cgroup left after rm: %s", what, m)
	}
}

// killAt runs ctr-unit and kills it with SIGKILL after a random delay up
// to max; it reports whether the kill landed before the command ended.
func (e *env) killAt(max time.Duration, args ...string) bool {
	c := e.cmd(args...)
	if c.Start() != nil {
		return false
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
		return false
	case <-time.After(time.Duration(rand.Int64N(int64(max)))):
		c.Process.Signal(syscall.SIGKILL)
		<-done
		return true
	}
}

// The CLI killed with SIGKILL at a random point of run -d (of a rootfs
// and of an image container, whose layer is made while its unit starts),
// create, start, stop, rm and pause: nothing stored is half-made and
// nothing is leaked, in the image store either.
func TestFaultKillCLI(t *testing.T) {
	e := newEnv(t)
	rounds := faultScale(48, 240)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	imageLayers := layerIDs(t, e)
	ops := [][]string{
		{"run", "-d", "--name", "", "--rootfs", rootfs, "--", "sleep", "600"},
		{"create", "--name", "", "--rootfs", rootfs, "--", "sleep", "600"},
		{"start", ""}, {"stop", "-t", "1", ""}, {"rm", "-f", ""}, {"pause", ""}, {"unpause", ""},
		{"run", "-d", "--name", "", "app:1", "sleep", "600"},
	}
	landed := 0
	for i := range rounds {
		name := e.name(fmt.Sprintf("c%d", rand.IntN(5)))
		op := append([]string(nil), ops[i%len(ops)]...)
		for j, a := range op {
			if a == "" {
				op[j] = name
			}
		}
		if e.killAt(400*time.Millisecond, op...) {
			landed++
		}
		if i%10 == 9 {
			e.checkInvariants(fmt.Sprintf("after %d kills", i+1))
		}
	}
	e.checkInvariants("after the kills")
	// Every name can be used again.
	for i := range 5 {
		name := e.name(fmt.Sprintf("c%d", i))
		e.ctr("rm", "-f", name)
		e.must("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sleep", "600")
	}
	e.checkInvariants("after reuse")
	e.checkNoLeaks("CLI kills")
	if left := layerIDs(t, e); !slices.Equal(left, imageLayers) {
		t.Errorf("image store layers after rm of every container: %v, want the image's only: %v", left, imageLayers)
	}
	t.Logf("%d rounds, %d SIGKILLs landed mid-command", rounds, landed)
}

// The CLI killed while it makes an image container's layer, after it
// asked systemd for the unit: the unit's own start step waits for the
// CLI's lock on the bundle's layer root, which dies with it, then makes
// the layer (its record is marked as made before its layer) and starts
// the container. The test holds the CLI inside storage's making of the
// layer with a FIFO in place of the image's layer link file, which only
// the making of a layer over it reads, kills it there, and then serves
// the link through the FIFO to the next reader, the unit's step.
func TestFaultCLIKilledWhileItMakesTheLayer(t *testing.T) {
	e := newEnv(t)
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	imageLayers := layerIDs(t, e)
	link, data := e.topLayerLink("app:1")
	restore := func() {
		os.Remove(link)
		if err := os.WriteFile(link, data, 0o644); err != nil {
			t.Error(err)
		}
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(link, 0o644); err != nil {
		restore()
		t.Fatal(err)
	}
	t.Cleanup(restore)

	name := e.name("killed")
	c := e.cmd("run", "-d", "--name", name, "app:1", "sh", "-c", `trap "exit 0" TERM; sleep 1000 & wait`)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	layerRoot := filepath.Join(e.dirs().Bundle(name), "layer-root")
	e.waitFor("run -d to hold the layer root", 20*time.Second, func() bool { return lockedByOther(layerRoot) })
	c.Process.Kill()
	c.Wait()

	var done atomic.Bool
	served := make(chan int, 1)
	go func() {
		n := 0
		defer func() { served <- n }()
		for !done.Load() {
			f, err := os.OpenFile(link, os.O_WRONLY, 0) // waits for a reader
			if err != nil {
				return
			}
			if !done.Load() {
				f.Write(data)
				n++
			}
			f.Close()
		}
	}()
	ctr := e.waitStatus(name, "running", 30*time.Second)
	done.Store(true)
	n := -1
	for n < 0 {
		// A reader lets the server's waiting open return.
		if f, err := os.OpenFile(link, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		select {
		case n = <-served:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if n == 0 {
		t.Error("nothing read the layer link after the kill: the layer was made before it")
	}
	restore()
	t.Logf("unit %s started by its own step, main PID %d", ctr.Unit, ctr.State.Pid)
	if out := e.must("exec", name, "cat", "/app/hello.txt"); out != "hello from the image\n" {
		t.Errorf("exec in the container its unit's step made the layer of: %q", out)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "containers", name, "layer-pending")); !os.IsNotExist(err) {
		t.Errorf("the record is still marked after the step made the layer: %v", err)
	}
	e.checkNoLeaks("a CLI killed while it made the layer")
	if left := layerIDs(t, e); !slices.Equal(left, imageLayers) {
		t.Errorf("image store layers after rm: %v, want the image's only: %v", left, imageLayers)
	}
}

// lockedByOther says whether another process holds a flock on path.
func lockedByOther(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB), unix.EWOULDBLOCK)
}

// An exec's (or a check's) runc init that a stop kills just after it
// joined the container's cgroup may die holding runc 1.1's read-only bind
// mount of its own binary on a runc.XXXXXX file in the container's runc
// state. The race is a few microseconds wide; the test makes the state it
// leaves, the same mount on the same kind of file, in a running container
// and in one already stopped, and then stop and rm must forget the state
// and leave nothing.
func TestFaultExecInitKilledHoldingItsBinaryMount(t *testing.T) {
	e := newEnv(t)
	runcBin, err := exec.LookPath("runc")
	if err != nil {
		t.Fatal(err)
	}
	leaveMount := func(name string) {
		t.Helper()
		f, err := os.CreateTemp(filepath.Join(e.dirs().RuncRoot(), name, name), "runc.")
		if err != nil {
			t.Fatalf("%s: no runc state to leave the mount in: %v", name, err)
		}
		f.Close()
		if err := unix.Mount(runcBin, f.Name(), "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(f.Name(), unix.MNT_DETACH) })
	}

	stopped := e.name("stopped")
	e.must("run", "-d", "--name", stopped, "--rootfs", rootfs, "--", "sh", "-c", termable)
	leaveMount(stopped)
	e.must("stop", stopped)
	if _, err := os.Stat(filepath.Join(e.dirs().RuncRoot(), stopped)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runc state of %s after stop: %v, want it gone", stopped, err)
	}

	// The stop step did not run (killed, say): rm finds runc's state of
	// the last run, which runc delete removes, and the mount.
	removed := e.name("removed")
	e.must("run", "-d", "--name", removed, "--rootfs", rootfs, "--", "sh", "-c", termable)
	state := filepath.Join(e.dirs().RuncRoot(), removed, removed, "state.json")
	kept, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	e.must("stop", removed)
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, kept, 0o600); err != nil {
		t.Fatal(err)
	}
	leaveMount(removed)
	e.must("rm", removed)
	e.must("rm", stopped)
	e.checkNoLeaks("an exec's init killed holding runc's binary mount")
}

// stepKiller kills, with SIGKILL, processes of this test's world that
// systemd runs (the unit's steps) or that they run (runc), as they
// appear; it counts the kills.
type stepKiller struct {
	comms []string
	marks []string
	kills atomic.Int32
	stop  chan struct{}
	wg    sync.WaitGroup
}

func (e *env) killSteps(comms ...string) *stepKiller {
	k := &stepKiller{comms: comms, marks: []string{e.stateDir, e.runtimeDir}, stop: make(chan struct{})}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		seen := map[int]bool{}
		for {
			select {
			case <-k.stop:
				return
			case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
			}
			entries, _ := os.ReadDir("/proc")
			for _, ent := range entries {
				pid, err := strconv.Atoi(ent.Name())
				if err != nil || seen[pid] {
					continue
				}
				if !k.matches(pid) {
					continue
				}
				seen[pid] = true
				// Half of them: a step that always dies shows only the
				// failure path.
				if rand.IntN(2) == 0 && unix.Kill(pid, unix.SIGKILL) == nil {
					k.kills.Add(1)
				}
			}
		}
	}()
	return k
}

func (k *stepKiller) matches(pid int) bool {
	c := comm(pid)
	ok := false
	for _, want := range k.comms {
		ok = ok || c == want
	}
	if !ok {
		return false
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	for _, m := range k.marks {
		if strings.Contains(string(cmdline), m) {
			return true
		}
	}
	return false
}

func (k *stepKiller) done() int {
	close(k.stop)
	k.wg.Wait()
	return int(k.kills.Load())
}

// The unit's start and stop steps, and runc as it creates the container,
// killed with SIGKILL while systemd runs them: the command reports the
// failure or succeeds, and the record and systemd agree after.
func TestFaultKillStepsAndRunc(t *testing.T) {
	e := newEnv(t)
	rounds := faultScale(30, 200)
	k := e.killSteps("ctr-unit-step", "runc")
	failed := 0
	for i := range rounds {
		// Each name in turn is run, stopped and started again.
		name := e.name(fmt.Sprintf("s%d", i/3%6))
		var r result
		switch i % 3 {
		case 0:
			e.ctr("rm", "-f", name)
			r = e.ctr("run", "-d", "--name", name, "--rootfs", rootfs, "--", "sleep", "600")
		case 1:
			r = e.ctr("stop", "-t", "1", name)
		case 2:
			r = e.ctr("start", name)
		}
		if r.code != 0 {
			failed++
			if failed <= 6 {
				t.Logf("round %d: %s", i, r)
			}
		}
	}
	kills := k.done()
	// Every container starts again once the kills stop: what a killed
	// step left is cleared by the next start.
	for i := range 6 {
		name := e.name(fmt.Sprintf("s%d", i))
		if e.ctr("inspect", name).code == 0 {
			e.must("start", name)
		}
	}
	e.checkInvariants("after step and runc kills")
	e.checkNoLeaks("step and runc kills")
	t.Logf("%d rounds, %d SIGKILLs of steps and runc, %d commands failed", rounds, kills, failed)
	if kills == 0 {
		t.Errorf("no step or runc was killed: the harness missed them")
	}
}

// daemon-reload and daemon-reexec in a loop while 8 clients start, stop
// and remove 20 containers: containers running through it keep their
// MainPID and count no restart.
func TestFaultReloadReexec(t *testing.T) {
	e := newEnv(t)
	length := faultScale(20*time.Second, 2*time.Minute)
	steady := map[string]string{}
	for i := range 3 {
		name := e.name(fmt.Sprintf("steady%d", i))
		e.must("run", "-d", "--name", name, "--restart", "always", "--rootfs", rootfs, "--", "sleep", "3600")
		steady[name] = unitProperty(t, e.inspect(name).Unit, "MainPID")
	}
	stop := make(chan struct{})
	var reloads atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			verb := "daemon-reload"
			if i%4 == 3 {
				verb = "daemon-reexec"
			}
			if out, err := exec.Command("systemctl", verb).CombinedOutput(); err != nil {
				t.Errorf("systemctl %s: %v: %s", verb, err, out)
			}
			reloads.Add(1)
			time.Sleep(200 * time.Millisecond)
		}
	}()
	var cmds, fails atomic.Int32
	var failMu sync.Mutex
	var someFails []string
	deadline := time.Now().Add(length)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				name := e.name(fmt.Sprintf("w%d", rand.IntN(20)))
				var args []string
				switch rand.IntN(3) {
				case 0:
					args = []string{"run", "-d", "--name", name, "--rootfs", rootfs, "--", "sleep", "600"}
				case 1:
					args = []string{"stop", "-t", "1", name}
				case 2:
					args = []string{"rm", "-f", name}
				}
				out, err := e.cmd(args...).CombinedOutput()
				cmds.Add(1)
				var ee *exec.ExitError
				if errors.As(err, &ee) && !strings.Contains(string(out), "no such container") && !strings.Contains(string(out), "exists") {
					fails.Add(1)
					failMu.Lock()
					if len(someFails) < 5 {
						someFails = append(someFails, fmt.Sprintf("worker %d %v: %s", w, args, out))
					}
					failMu.Unlock()
				}
			}
		}()
	}
	time.Sleep(length)
	close(stop)
	wg.Wait()
	for name, pid := range steady {
		c := e.inspect(name)
		if got := unitProperty(t, c.Unit, "MainPID"); got != pid {
			t.Errorf("%s: MainPID %s after the reloads, was %s", name, got, pid)
		}
		if n := unitProperty(t, c.Unit, "NRestarts"); n != "0" {
			t.Errorf("%s: %s restarts counted through the reloads", name, n)
		}
	}
	// A command whose call systemd dropped while re-executing connects
	// again and makes it once more: none fails for the reexec.
	if n := fails.Load(); n > 0 {
		t.Errorf("%d of %d commands failed across the reloads/reexecs: %q", n, cmds.Load(), someFails)
	}
	e.checkInvariants("after reloads")
	e.checkNoLeaks("reloads")
	t.Logf("%v: %d reloads/reexecs, %d commands, %d failed otherwise than 'no such container'/'exists': %q",
		length, reloads.Load(), cmds.Load(), fails.Load(), someFails)
}

// A full disk: the state directory on a tiny tmpfs. Creates fail with a
// clear error once it is full, and no record made before is truncated
// or lost.
func TestFaultFullDisk(t *testing.T) {
	e := newEnv(t)
	if err := unix.Mount("tmpfs", e.stateDir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(e.stateDir, unix.MNT_DETACH) })
	var made []string
	var refusal string
	for i := range 200 {
		name := e.name(fmt.Sprintf("d%d", i))
		r := e.ctr("create", "--name", name, "--label", "pad="+strings.Repeat("x", 1500), "--rootfs", rootfs, "--", "sleep", "600")
		if r.code != 0 {
			refusal = r.stderr
			break
		}
		made = append(made, name)
	}
	if refusal == "" {
		t.Fatalf("200 creates fit in 64k: the disk never filled")
	}
	if !strings.Contains(refusal, "no space left") {
		t.Errorf("create on a full disk: %q, want it to say no space left", refusal)
	}
	before := e.stored()
	// More refused creates, and starts (which write state) on a full disk.
	for i := range 5 {
		e.ctr("create", "--name", e.name(fmt.Sprintf("more%d", i)), "--rootfs", rootfs, "--", "true")
	}
	if after := e.stored(); after != before {
		t.Errorf("refused creates changed what is stored")
	}
	for _, n := range made {
		if c := e.inspect(n); c.Name != n {
			t.Errorf("record %s lost on a full disk: %+v", n, c)
		}
	}
	e.checkInvariants("full disk")
	e.removeAll()
	if err := unix.Unmount(e.stateDir, 0); err != nil {
		t.Errorf("unmount the full state dir: %v", err)
	}
	e.checkNoLeaks("full disk")
	t.Logf("%d records made before the disk filled; refusal: %s", len(made), strings.TrimSpace(refusal))
}

// cpuUsec is the CPU time, in microseconds, of the cgroup at path (v2's
// cpu.stat usage_usec; 0 where the layout has none).
func cpuUsec(path string) int64 {
	data, _ := os.ReadFile(filepath.Join(path, "cpu.stat"))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// pid1Ticks is systemd's own CPU time in clock ticks (utime+stime),
// hundredths of a second on Linux.
func pid1Ticks() int64 {
	data, _ := os.ReadFile("/proc/1/stat")
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// A restart storm: 20 containers with --restart always that exit at
// once and keep exiting. systemd restarts them after RestartSec; the
// figures are what it costs, and how long systemd takes to answer
// meanwhile.
func TestFaultRestartStorm(t *testing.T) {
	e := newEnv(t)
	length := faultScale(15*time.Second, time.Minute)
	slice := filepath.Join(cgroupRoot(), "system.slice")
	for i := range 20 {
		e.must("create", "--name", e.name(fmt.Sprintf("storm%d", i)), "--restart", "always", "--rootfs", rootfs, "--", "sh", "-c", "exit 1")
	}
	ticks0, cpu0 := pid1Ticks(), cpuUsec(slice)
	began := time.Now()
	for i := range 20 {
		e.must("start", e.name(fmt.Sprintf("storm%d", i)))
	}
	startsTook := time.Since(began)
	var worst time.Duration
	for stormFrom := time.Now(); time.Since(stormFrom) < length; {
		t0 := time.Now()
		if out, err := exec.Command("systemctl", "show", "-p", "Version", "--value").CombinedOutput(); err != nil {
			t.Errorf("systemd did not answer in the storm: %v: %s", err, out)
		}
		worst = max(worst, time.Since(t0))
		time.Sleep(500 * time.Millisecond)
	}
	elapsed := time.Since(began)
	ticks, cpu := pid1Ticks()-ticks0, cpuUsec(slice)-cpu0
	restarts := 0
	for i := range 20 {
		c := e.inspect(e.name(fmt.Sprintf("storm%d", i)))
		restarts += c.RestartCount
		if c.RestartCount == 0 {
			t.Errorf("%s never restarted", c.Name)
		}
	}
	e.checkInvariants("after the storm")
	rmFrom := time.Now()
	e.checkNoLeaks("restart storm")
	t.Logf("storm of 20 always containers for %v (their 20 starts took %v): %d restarts; systemd (PID 1) %.1f%% of a CPU, system.slice %.1f%% of a CPU; slowest systemctl answer %v; rm -f of all 20 took %v",
		elapsed.Round(time.Second), startsTook.Round(time.Millisecond), restarts, float64(ticks)/elapsed.Seconds(), float64(cpu)/elapsed.Seconds()/1e4,
		worst.Round(time.Millisecond), time.Since(rmFrom).Round(time.Second))
}

// The bus daemon frozen (fault scenario 5, its bus half): ctr-unit waits
// the 2 s bound for the bus daemon to answer, then talks to systemd over
// its private socket, so run -d, ps, stop and rm still work, and nothing
// is half-made once the daemon thaws.
func TestFaultFrozenBus(t *testing.T) {
	e := newEnv(t)
	out, err := exec.Command("systemctl", "show", "-p", "MainPID", "--value", "dbus.service").Output()
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid == 0 {
		t.Skipf("no bus daemon in this box (%v): ctr-unit uses the private socket anyway", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("freeze the bus daemon: %v", err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			syscall.Kill(pid, syscall.SIGCONT)
			thawed = true
		}
	}
	defer thaw()
	name := e.name("frozenbus")
	for _, args := range [][]string{
		{"run", "-d", "--name", name, "--restart", "always", "--rootfs", rootfs, "--", "sleep", "600"},
		{"ps", "-a"},
		{"stop", "-t", "1", name},
		{"start", name},
		{"rm", "-f", name},
		{"run", "-d", "--name", name, "--rootfs", rootfs, "--", "sleep", "600"},
	} {
		c := e.cmd(args...)
		began := time.Now()
		// A hang guard, not a timed assert: without the bound the
		// command would wait on the frozen daemon for good.
		guard := time.AfterFunc(time.Minute, func() { c.Process.Kill() })
		out, err := c.CombinedOutput()
		guard.Stop()
		if err != nil {
			t.Errorf("%v with the bus daemon frozen: %v: %s", args, err, out)
		}
		t.Logf("%v with the bus daemon frozen: %v", args[0], time.Since(began).Round(time.Millisecond))
	}
	if st := unitProperty(t, e.inspect(name).Unit, "ActiveState"); st != "active" {
		t.Errorf("%s: unit %s after run -d with the bus daemon frozen", name, st)
	}
	thaw()
	e.checkInvariants("bus daemon thawed")
	e.checkNoLeaks("frozen bus")
}

// Scenario 5, systemd's half: with systemd itself frozen (its cgroup's
// v2 freezer, in either layout), every command that needs it fails with
// an error that says so and what to do, instead of waiting out the call
// timeout; none asks systemd for anything meanwhile, so nothing happens
// behind the command's back once systemd is thawed.
func TestFaultFrozenSystemd(t *testing.T) {
	e := newEnv(t)
	running, stopped := e.name("frz-run"), e.name("frz-stopped")
	e.must("run", "-d", "--name", running, "--restart", "always", "--rootfs", rootfs, "--", "sleep", "600")
	e.must("create", "--name", stopped, "--rootfs", rootfs, "--", "sleep", "600")
	unit := e.inspect(running).Unit
	pid := unitProperty(t, unit, "MainPID")

	freeze := systemdFreezer(t)
	if err := os.WriteFile(freeze, []byte("1"), 0o644); err != nil {
		t.Fatalf("freeze systemd: %v", err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			if err := os.WriteFile(freeze, []byte("0"), 0o644); err != nil {
				t.Errorf("thaw systemd: %v", err)
			}
			thawed = true
		}
	}
	defer thaw()
	e.waitFor("systemd to be frozen", 10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(freeze), "cgroup.events"))
		return strings.Contains(string(b), "frozen 1")
	})

	made := e.name("frz-new")
	for _, c := range []struct {
		args []string
		name string // the container the error must name, if any
	}{
		{[]string{"ps", "-a"}, ""},
		{[]string{"stop", running}, running},
		{[]string{"rm", "-f", running}, running},
		{[]string{"start", stopped}, stopped},
		{[]string{"run", "-d", "--name", made, "--rootfs", rootfs, "--", "sleep", "600"}, made},
	} {
		cmd := e.cmd(c.args...)
		began := time.Now()
		// A hang guard, not a timed assert: before, each of these waited
		// out the 30 s call timeout (run -d twice over).
		guard := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		guard.Stop()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 125 {
			t.Errorf("%v with systemd frozen: %v: %s; want exit 125", c.args, err, out)
		}
		msg := string(out)
		if !strings.Contains(msg, "systemd cannot answer: its process (PID 1) is frozen") || !strings.Contains(msg, "echo 0 > "+freeze) || !strings.Contains(msg, c.name) {
			t.Errorf("%v with systemd frozen said %q; want it to name %q, say systemd is frozen and how to thaw it", c.args, msg, c.name)
		}
		t.Logf("%v with systemd frozen: %v: %s", c.args[0], time.Since(began).Round(time.Millisecond), strings.TrimSpace(msg))
	}
	thaw()

	// Frozen while a command waits for systemd: the wait ends as soon as
	// the command sees it, not at the call timeout.
	stubbornName := e.name("frz-stubborn")
	e.must("run", "-d", "--name", stubbornName, "--rootfs", rootfs, "--", "sh", "-c", stubborn)
	stopping := e.cmd("stop", "-t", "600", stubbornName)
	var stopOut bytes.Buffer
	stopping.Stdout, stopping.Stderr = &stopOut, &stopOut
	if err := stopping.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(time.Minute, func() { stopping.Process.Kill() })
	defer guard.Stop()
	stubbornUnit := e.inspect(stubbornName).Unit
	e.waitFor(stubbornName+" to be stopping", 10*time.Second, func() bool {
		return unitProperty(t, stubbornUnit, "ActiveState") == "deactivating"
	})
	thawed = false
	if err := os.WriteFile(freeze, []byte("1"), 0o644); err != nil {
		t.Fatalf("freeze systemd: %v", err)
	}
	began := time.Now()
	err := stopping.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 125 || !strings.Contains(stopOut.String(), "is frozen by "+freeze) {
		t.Errorf("stop waiting when systemd froze: %v: %s; want exit 125 saying systemd is frozen", err, stopOut.String())
	}
	t.Logf("stop waiting when systemd froze: ended %v after the freeze: %s", time.Since(began).Round(time.Millisecond), strings.TrimSpace(stopOut.String()))
	thaw()

	// Nothing was asked of systemd: the running container runs on, the
	// stopped one stays stopped, and run -d made nothing.
	if got := unitProperty(t, unit, "MainPID"); got != pid {
		t.Errorf("%s: MainPID %s after the refused stop and rm, was %s", running, got, pid)
	}
	if st := e.inspect(running).State.Status; st != "running" {
		t.Errorf("%s is %s after the refused stop and rm", running, st)
	}
	if st := e.inspect(stopped).State.Status; st != "created" {
		t.Errorf("%s is %s after the refused start", stopped, st)
	}
	if !e.gone(made) {
		t.Errorf("run -d with systemd frozen left %s", made)
	}
	e.checkInvariants("systemd thawed")
	e.checkNoLeaks("frozen systemd")
}

// systemdFreezer is the cgroup.freeze file of the box's systemd (PID 1),
// in the v2 hierarchy of either layout.
func systemdFreezer(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/1/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			for _, top := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
				f := filepath.Join(top, path, "cgroup.freeze")
				if _, err := os.Stat(f); err == nil {
					return f
				}
			}
		}
	}
	t.Skipf("no v2 freezer for PID 1 (%q)", b)
	return ""
}
