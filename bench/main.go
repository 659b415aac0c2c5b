// Command bench measures ctr-unit against the floor of doing the same with
// systemd and runc alone. It runs inside a throwaway systemd (make bench).
//
//	go run ./bench -layout v2
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	benchmeasure "github.com/ctr-unit/ctr-unit/bench/measure"
	"github.com/ctr-unit/ctr-unit/buildtags"
	"github.com/ctr-unit/ctr-unit/cgroupmgr"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/ociruntime/seccomp"
	"github.com/ctr-unit/ctr-unit/units"
)

// The container every benchmark runs: exits on SIGTERM, otherwise idle.
var termable = []string{"sh", "-c", `trap "exit 0" TERM; sleep 100000 & wait`}

type bench struct {
	// dir is on disk, where ctr-unit keeps its records by default
	// (/var/lib), so their writes cost what they cost there; runDir is in
	// /run, where its runtime data goes.
	dir, runDir, binary, rootfs, runcRoot, runc string
	layout                                      string
	runs                                        int
	// settle is the pause before every timed start and stop of the
	// settled figures (see lifecycleFigures).
	settle time.Duration
	// seccomp converts the default profile once for the floor's bundles.
	seccomp seccomp.Profiles
}

func main() {
	b := &bench{}
	flag.StringVar(&b.layout, "layout", os.Getenv("SYSBOX_LAYOUT"), "cgroup layout, for the report")
	flag.IntVar(&b.runs, "n", 20, "repetitions per measurement")
	flag.DurationVar(&b.settle, "settle", 250*time.Millisecond, "pause before each timed start and stop of the settled figures")
	idle := flag.Int("idle", 20, "containers for the memory measurement")
	images := flag.Bool("images", true, "also measure image loading and image container start")
	netOnly := flag.Bool("net", false, "measure only containers on a bridge network with a published port, beside podman's")
	execOnly := flag.Bool("exec-only", false, "measure only exec NAME true (against runc exec and podman exec)")
	imageOnly := flag.Bool("image-only", false, "measure only image loading and image container start")
	flag.Parse()
	err := b.setup()
	defer func() {
		os.RemoveAll(b.dir)
		os.RemoveAll(b.runDir)
		if r := recover(); r != nil {
			fmt.Fprintln(os.Stderr, "bench:", r)
			os.Exit(1)
		}
	}()
	must(err)

	fmt.Printf("ctr-unit benchmarks, cgroup layout %s, %d runs each (medians)\n", b.layout, b.runs)
	if *netOnly {
		b.networkFigures(b.settle)
		return
	}
	if *execOnly {
		b.execFigures()
		return
	}
	if *imageOnly {
		must(b.imageFigures())
		return
	}
	b.lifecycleFigures(b.settle)
	b.lifecycleFigures(0)
	b.pauseUnpause()
	b.idleMemory(*idle)
	b.execFigures()
	if *images {
		must(b.imageFigures())
	}
}

func (b *bench) setup() error {
	var err error
	if b.dir, err = os.MkdirTemp("/var/lib", "ctr-unit-bench-"); err != nil {
		return err
	}
	if b.runDir, err = os.MkdirTemp("/run", "ctr-unit-bench-"); err != nil {
		return err
	}
	b.binary = filepath.Join(b.dir, "ctr-unit")
	// ctr-unit-step and ctr-unit-image beside it, where ctr-unit finds
	// them.
	build := exec.Command("go", "build", "-tags", buildtags.Tags(), "-o", b.dir+"/", "./cmd/ctr-unit", "./cmd/ctr-unit-step", "./cmd/ctr-unit-image")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	b.rootfs = filepath.Join(b.dir, "rootfs")
	if out, err := exec.Command("hack/mkrootfs", b.rootfs).CombinedOutput(); err != nil {
		return fmt.Errorf("rootfs: %v: %s", err, out)
	}
	b.runcRoot = filepath.Join(b.runDir, "floor-runc")
	b.runc, err = exec.LookPath("runc")
	return err
}

func (b *bench) ctr(args ...string) error {
	full := append([]string{"--state-dir", filepath.Join(b.dir, "state"), "--runtime-dir", filepath.Join(b.runDir, "run")}, args...)
	if out, err := exec.Command(b.binary, full...).CombinedOutput(); err != nil {
		return fmt.Errorf("ctr-unit %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// must stops the bench on an error; main's deferred cleanup reports it.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

func timed(f func() error) time.Duration {
	t := time.Now()
	must(f())
	return time.Since(t)
}

// lifecycleFigures times ctr-unit's run -d and stop against the floor:
// the same container started and stopped with systemd-run and runc alone,
// the least any systemd-supervised runc container can cost. The two take
// turns, so both see the same machine.
//
// The settled figures time every command after a pause; the others run
// them back to back. Each process systemd spawns into a unit's cgroup
// waits for the kernel's cgroup migration lock, and that wait is an RCU
// grace period (5-15 ms here) unless another migration happened a few
// milliseconds before. Back to back, the floor's stop comes close enough
// after its start's migrations to skip the wait more often than
// ctr-unit's, whose commands do more in between; after a pause both pay
// it, as a container stopped minutes after its start does.
func (b *bench) lifecycleFigures(settle time.Duration) {
	var start, stop, startFloor, stopFloor []time.Duration
	for i := range b.runs {
		s, t := b.floorOnce(i, settle, b.rootfs)
		startFloor, stopFloor = append(startFloor, s), append(stopFloor, t)
		s, t = b.ctrUnitOnce(i, settle)
		start, stop = append(start, s), append(stop, t)
	}
	mode := "back to back"
	if settle > 0 {
		mode = fmt.Sprintf("settled %v", settle)
	}
	report("run -d until running, "+mode, start, startFloor)
	report("stop (exits on SIGTERM), "+mode, stop, stopFloor)
}

// floorOnce starts and stops a bare systemd unit of runc run -d with
// root as its container's root.
func (b *bench) floorOnce(i int, settle time.Duration, root string) (start, stop time.Duration) {
	id := fmt.Sprintf("floor%d-%d", i, settle.Milliseconds())
	unit := id + ".service"
	bundle := filepath.Join(b.runDir, "floor", id)
	spec := ociruntime.Spec(ociruntime.SpecConfig{
		Rootfs: root, Args: termable, HostNetwork: true,
		CgroupsPath: units.ControlGroup("system.slice", unit) + "/ctr",
	})
	// The same container as ctr-unit's: with the default seccomp filter,
	// which runc compiles at every start.
	filter, err := b.seccomp.For(seccomp.Default, spec)
	must(err)
	spec.Linux.Seccomp = filter
	must(ociruntime.WriteBundle(bundle, spec))
	pid := filepath.Join(bundle, "pid")
	time.Sleep(settle)
	start = timed(func() error {
		return run("systemd-run", "--quiet", "--unit", unit, "--slice", "system.slice",
			"-p", "Type=forking", "-p", "PIDFile="+pid, "-p", "Delegate=yes", "-p", "KillMode=mixed",
			"-p", "ExecStopPost="+b.runc+" --root "+b.runcRoot+" delete --force "+id,
			"--", b.runc, "--root", b.runcRoot, "run", "--detach", "--pid-file", pid, "--bundle", bundle, id)
	})
	time.Sleep(settle)
	stop = timed(func() error { return run("systemctl", "stop", unit) })
	run("systemctl", "reset-failed", unit)
	return start, stop
}

func (b *bench) ctrUnitOnce(i int, settle time.Duration) (start, stop time.Duration) {
	name := fmt.Sprintf("bench%d", i)
	time.Sleep(settle)
	start = timed(func() error {
		return b.ctr(append([]string{"run", "-d", "--name", name, "--rootfs", b.rootfs, "--"}, termable...)...)
	})
	time.Sleep(settle)
	stop = timed(func() error { return b.ctr("stop", name) })
	must(b.ctr("rm", name))
	return start, stop
}

func (b *bench) pauseUnpause() {
	must(b.ctr(append([]string{"run", "-d", "--name", "pausebench", "--rootfs", b.rootfs, "--"}, termable...)...))
	defer b.ctr("rm", "-f", "pausebench")
	var pause, unpause []time.Duration
	for range b.runs {
		pause = append(pause, timed(func() error { return b.ctr("pause", "pausebench") }))
		unpause = append(unpause, timed(func() error { return b.ctr("unpause", "pausebench") }))
	}
	fmt.Printf("%-44s %8s\n", "pause", ms(median(pause)))
	fmt.Printf("%-44s %8s\n", "unpause", ms(median(unpause)))
}

// idleMemory runs n idle containers and reports what each costs: the
// processes in its unit and their proportional set size. Nothing of
// ctr-unit or runc stays alive, so the cost is the container's own.
func (b *bench) idleMemory(n int) {
	var names []string
	for i := range n {
		name := fmt.Sprintf("idle%d", i)
		must(b.ctr("run", "-d", "--name", name, "--rootfs", b.rootfs, "--", "sleep", "100000"))
		names = append(names, name)
	}
	defer func() {
		for _, name := range names {
			b.ctr("rm", "-f", name)
		}
	}()
	var procs, pssKB int
	others := map[string]int{}
	for _, name := range names {
		cg, _ := exec.Command("systemctl", "show", "--value", "-p", "ControlGroup", units.TransientService(name)).Output()
		for _, pid := range pidsIn(strings.TrimSpace(string(cg))) {
			procs++
			pssKB += benchmeasure.PSS(pid)
			if c := benchmeasure.Comm(pid); c != "sleep" {
				others[c]++
			}
		}
	}
	fmt.Printf("%d idle containers: %.1f processes and %.0f KiB PSS per container; processes other than the container's: %v\n",
		n, float64(procs)/float64(n), float64(pssKB)/float64(n), others)
}

func pidsIn(cgroup string) []int {
	pids, _ := cgroupmgr.New(cgroupmgr.Detect()).Processes(cgroup)
	return pids
}

func run(name string, args ...string) error {
	var out bytes.Buffer
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func report(what string, got, floor []time.Duration) {
	g, f := median(got), median(floor)
	fmt.Printf("%-44s %8s   floor %8s   ratio %.2fx\n", what, ms(g), ms(f), float64(g)/float64(f))
}
